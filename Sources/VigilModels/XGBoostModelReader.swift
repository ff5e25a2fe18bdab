import VigilCodec
import Foundation

/// Reads XGBoost's JSON model format (`Booster.save_model("model.json")`, XGBoost 1.0 and later).
///
/// Supported: the `gbtree` and `dart` boosters with numerical splits, one output, and the
/// objectives whose prediction is the margin or its sigmoid. Predictions follow XGBoost's
/// rules: inputs are compared as float32 with `<`, NaN follows `default_left`, leaf values
/// (already scaled by the learning rate) are summed onto `base_score`, which the file keeps in
/// probability space for logistic objectives (so the margin is its logit).
enum XGBoostModelReader {
    static let logisticObjectives: Set<String> = ["binary:logistic", "reg:logistic"]
    static let identityObjectives: Set<String> = [
        "reg:squarederror", "reg:linear", "binary:logitraw", "reg:absoluteerror", "reg:pseudohubererror",
    ]

    static func read(_ bytes: [UInt8]) throws(ModelFormatError) -> TreeEnsembleSpec {
        let root = try JSONValue.parseModel(bytes)
        let learner = try root.require("learner", at: "")
        let parameters = try learner.require("learner_model_param", at: ".learner")
        let objective = try learner.require("objective", at: ".learner").requireString("name", at: ".learner.objective")

        let numClass = parameters["num_class"].map { $0.integer ?? -1 } ?? 0
        let numTarget = parameters["num_target"].map { $0.integer ?? -1 } ?? 1
        guard (0...1).contains(numClass), (0...1).contains(numTarget) else {
            throw ModelFormatError("multi-output models are not supported (num_class \(numClass), num_target \(numTarget))")
        }
        guard let baseScoreText = parameters["base_score"]?.string else {
            throw ModelFormatError("missing .learner.learner_model_param.base_score")
        }
        let baseScore = try parseBaseScore(baseScoreText)

        var spec = TreeEnsembleSpec(inputNames: [], trees: [])
        if logisticObjectives.contains(objective) {
            guard baseScore > 0, baseScore < 1 else {
                throw ModelFormatError("base_score \(baseScoreText) is not a probability, as objective \(objective) needs")
            }
            spec.baseMargin = log(baseScore / (1 - baseScore))
            spec.output = .sigmoid(scale: 1)
        } else if identityObjectives.contains(objective) {
            spec.baseMargin = baseScore
        } else {
            throw ModelFormatError("objective \(objective) is not supported (supported: \((logisticObjectives.union(identityObjectives)).sorted().joined(separator: ", ")))")
        }

        let featureCount = try parameters.require("num_feature", at: ".learner.learner_model_param").integer ?? -1
        guard featureCount > 0, featureCount < 1 << 24 else {
            throw ModelFormatError("num_feature must be a positive count")
        }
        let names = learner["feature_names"]?.array?.compactMap(\.string) ?? []
        if names.isEmpty {
            // XGBoost's own names for unnamed features.
            spec.inputNames = (0..<featureCount).map { "f\($0)" }
        } else {
            guard names.count == featureCount else {
                throw ModelFormatError("\(names.count) feature_names for num_feature \(featureCount)")
            }
            spec.inputNames = names
        }

        let booster = try learner.require("gradient_booster", at: ".learner")
        let boosterName = try booster.requireString("name", at: ".learner.gradient_booster")
        let model: JSONValue
        var weights: [Double]? = nil
        switch boosterName {
        case "gbtree":
            model = try booster.require("model", at: ".learner.gradient_booster")
        case "dart":
            model = try booster.require("gbtree", at: ".learner.gradient_booster").require("model", at: ".learner.gradient_booster.gbtree")
            weights = try booster.requireNumbers("weight_drop", at: ".learner.gradient_booster")
        default:
            throw ModelFormatError("booster \(boosterName) is not supported (gbtree and dart are)")
        }
        let trees = try model.requireArray("trees", at: ".gradient_booster.model")
        if let weights, weights.count != trees.count {
            throw ModelFormatError("dart weight_drop has \(weights.count) weights for \(trees.count) trees")
        }
        for (index, tree) in trees.enumerated() {
            spec.trees.append(try readTree(tree, index: index, weight: weights?[index] ?? 1))
        }
        return spec
    }

    /// base_score is "0.5", "5E-1" or, since XGBoost 3, a one-element vector "[5E-1]".
    static func parseBaseScore(_ text: String) throws(ModelFormatError) -> Double {
        var trimmed = Substring(text)
        if trimmed.hasPrefix("["), trimmed.hasSuffix("]") {
            trimmed = trimmed.dropFirst().dropLast()
        }
        guard let value = Float(trimmed.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw ModelFormatError("base_score \"\(text)\" is not a number")
        }
        return Double(value)
    }

    static func readTree(_ tree: JSONValue, index: Int, weight: Double) throws(ModelFormatError) -> TreeEnsembleSpec.Tree {
        let path = ".trees[\(index)]"
        let left = try tree.requireNumbers("left_children", at: path)
        let right = try tree.requireNumbers("right_children", at: path)
        let features = try tree.requireNumbers("split_indices", at: path)
        let conditions = try tree.requireNumbers("split_conditions", at: path)
        let defaultLeft = try tree.requireNumbers("default_left", at: path)
        let count = left.count
        guard count > 0, right.count == count, features.count == count, conditions.count == count,
              defaultLeft.count == count
        else {
            throw ModelFormatError("\(path): node arrays differ in length")
        }
        if let splitTypes = tree["split_type"]?.array, splitTypes.contains(where: { ($0.number ?? 0) != 0 }) {
            throw ModelFormatError("\(path) has categorical splits, which are not supported for XGBoost models")
        }
        var nodes: [TreeEnsembleSpec.Node] = []
        nodes.reserveCapacity(count)
        for node in 0..<count {
            if left[node] == -1 {
                // XGBoost keeps a leaf's value in split_conditions.
                nodes.append(.leaf(Double(Float(conditions[node])) * weight))
                continue
            }
            guard let leftChild = Int(exactly: left[node]), let rightChild = Int(exactly: right[node]),
                  let feature = Int(exactly: features[node])
            else {
                throw ModelFormatError("\(path) node \(node) has a non-integer child or feature index")
            }
            let rule = TreeEnsembleSpec.Rule.float32LessThan(Float(conditions[node]), nanLeft: defaultLeft[node] != 0)
            nodes.append(.split(feature: feature, rule: rule, left: leftChild, right: rightChild))
        }
        // Covers (the hessian sums) are only needed to explain scores; a file without them still scores.
        let covers = tree["sum_hessian"]?.array?.compactMap(\.number) ?? []
        return TreeEnsembleSpec.Tree(nodes: nodes, covers: covers.count == count ? covers.map { Double(Float($0)) } : [])
    }
}
