/// Reads LightGBM's text model format (`Booster.save_model("model.txt")`).
///
/// Supported: one output per iteration (regression and binary objectives, random-forest
/// averaging), numerical and categorical splits, and every missing-value mode. Predictions
/// follow LightGBM's Tree::Decision: values compare in double with `<=`; with missing type
/// None a NaN is treated as 0; with Zero, NaN and |x| <= 1e-35 take the default direction; with
/// NaN, NaN does. Categorical splits send a value left when its truncation is a category in the
/// split's `cat_threshold` bitset (NaN and negatives go right). Leaf values already include the
/// shrinkage, so margins are plain sums.
enum LightGBMModelReader {
    static let identityObjectives: Set<String> = [
        "regression", "regression_l1", "huber", "fair", "quantile", "mape",
    ]

    static func read(_ bytes: [UInt8]) throws(ModelFormatError) -> TreeEnsembleSpec {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ModelFormatError("not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard lines.first == "tree" else { throw ModelFormatError("line 1: expected \"tree\", the LightGBM model header") }
        if let end = lines.firstIndex(of: "end of trees") { lines = Array(lines[..<end]) }

        // Header: key=value lines up to the first "Tree=" block.
        var header: [Substring: Substring] = [:]
        var lineIndex = 1
        while lineIndex < lines.count, !lines[lineIndex].hasPrefix("Tree=") {
            if let equals = lines[lineIndex].firstIndex(of: "=") {
                header[lines[lineIndex][..<equals]] = lines[lineIndex][lines[lineIndex].index(after: equals)...]
            } else if lines[lineIndex] == "average_output" {
                header["average_output"] = ""
            }
            lineIndex += 1
        }
        let classes = Int(header["num_class"] ?? "1") ?? 0
        let perIteration = Int(header["num_tree_per_iteration"] ?? "1") ?? 0
        guard classes == 1, perIteration == 1 else {
            throw ModelFormatError("multi-class models are not supported (num_class=\(header["num_class"] ?? "?"))")
        }
        guard let maxFeature = header["max_feature_idx"].flatMap({ Int($0) }), maxFeature >= 0 else {
            throw ModelFormatError("header has no valid max_feature_idx")
        }
        var spec = TreeEnsembleSpec(inputNames: [], trees: [])
        let names = header["feature_names"]?.split(separator: " ").map(String.init) ?? []
        guard names.count == maxFeature + 1 else {
            throw ModelFormatError("feature_names lists \(names.count) names for max_feature_idx=\(maxFeature)")
        }
        spec.inputNames = names
        spec.output = try outputTransform(objective: header["objective"] ?? "")

        var treeBlocks: [(start: Int, fields: [Substring: Substring])] = []
        while lineIndex < lines.count {
            let line = lines[lineIndex]
            if line.hasPrefix("Tree=") {
                treeBlocks.append((lineIndex + 1, [:]))
            } else if let equals = line.firstIndex(of: "="), !treeBlocks.isEmpty {
                treeBlocks[treeBlocks.count - 1].fields[line[..<equals]] = line[line.index(after: equals)...]
            }
            lineIndex += 1
        }
        for (index, block) in treeBlocks.enumerated() {
            spec.trees.append(try readTree(block.fields, line: block.start, index: index))
        }
        if header["average_output"] != nil { spec.divisor = Double(max(1, spec.trees.count)) }
        return spec
    }

    static func outputTransform(objective: Substring) throws(ModelFormatError) -> TreeEnsembleSpec.Output {
        let parts = objective.split(separator: " ")
        guard let name = parts.first else { throw ModelFormatError("header has no objective") }
        if identityObjectives.contains(String(name)) { return .identity }
        if name == "binary" || name == "cross_entropy" || name == "xentropy" {
            var scale = 1.0
            for part in parts.dropFirst() where part.hasPrefix("sigmoid:") {
                guard let value = Double(part.dropFirst("sigmoid:".count)) else {
                    throw ModelFormatError("objective \"\(objective)\" has an invalid sigmoid scale")
                }
                scale = value
            }
            return .sigmoid(scale: scale)
        }
        throw ModelFormatError("objective \"\(objective)\" is not supported (binary, cross_entropy and regression objectives are)")
    }

    static func numbers<T: LosslessStringConvertible>(_ fields: [Substring: Substring], _ key: Substring, count: Int,
                                                       line: Int, index: Int) throws(ModelFormatError) -> [T] {
        guard count > 0 else { return [] }
        guard let text = fields[key] else { throw ModelFormatError("Tree=\(index) (line \(line)): missing \(key)") }
        var values: [T] = []
        values.reserveCapacity(count)
        for part in text.split(separator: " ") {
            guard let value = T(String(part)) else {
                throw ModelFormatError("Tree=\(index) (line \(line)): \(key) has invalid value \"\(part.prefix(40))\"")
            }
            values.append(value)
        }
        guard values.count == count else {
            throw ModelFormatError("Tree=\(index) (line \(line)): \(key) has \(values.count) values, expected \(count)")
        }
        return values
    }

    static func readTree(_ fields: [Substring: Substring], line: Int, index: Int) throws(ModelFormatError) -> TreeEnsembleSpec.Tree {
        guard let leafCount = fields["num_leaves"].flatMap({ Int($0) }), leafCount >= 1, leafCount < 1 << 24 else {
            throw ModelFormatError("Tree=\(index) (line \(line)): missing or invalid num_leaves")
        }
        if let linear = fields["is_linear"], linear != "0" {
            throw ModelFormatError("Tree=\(index) (line \(line)): linear trees are not supported")
        }
        let leafValues: [Double] = try numbers(fields, "leaf_value", count: leafCount, line: line, index: index)
        if leafCount == 1 {
            return TreeEnsembleSpec.Tree(nodes: [.leaf(leafValues[0])], covers: [1])
        }
        let splits = leafCount - 1
        let features: [Int] = try numbers(fields, "split_feature", count: splits, line: line, index: index)
        let thresholds: [Double] = try numbers(fields, "threshold", count: splits, line: line, index: index)
        let decisionTypes: [Int] = try numbers(fields, "decision_type", count: splits, line: line, index: index)
        let leftChildren: [Int] = try numbers(fields, "left_child", count: splits, line: line, index: index)
        let rightChildren: [Int] = try numbers(fields, "right_child", count: splits, line: line, index: index)
        let categoryCount = Int(fields["num_cat"] ?? "0") ?? -1
        guard categoryCount >= 0 else { throw ModelFormatError("Tree=\(index) (line \(line)): invalid num_cat") }
        var boundaries: [Int] = []
        var categoryWords: [UInt32] = []
        if categoryCount > 0 {
            boundaries = try numbers(fields, "cat_boundaries", count: categoryCount + 1, line: line, index: index)
            let wordCount = (fields["cat_threshold"]?.split(separator: " ").count) ?? 0
            categoryWords = try numbers(fields, "cat_threshold", count: wordCount, line: line, index: index)
            guard boundaries.first == 0, boundaries.last == categoryWords.count,
                  zip(boundaries, boundaries.dropFirst()).allSatisfy({ $0 <= $1 })
            else {
                throw ModelFormatError("Tree=\(index) (line \(line)): cat_boundaries do not index cat_threshold")
            }
        }

        // Internal nodes are 0..<splits, leaf k is node splits + k; a child c < 0 is leaf ~c.
        func node(_ child: Int) throws(ModelFormatError) -> Int {
            let target = child < 0 ? splits + ~child : child
            guard target >= 0, target < splits + leafCount, child < splits else {
                throw ModelFormatError("Tree=\(index) (line \(line)): child \(child) is outside the tree")
            }
            return target
        }
        var nodes: [TreeEnsembleSpec.Node] = []
        nodes.reserveCapacity(splits + leafCount)
        for split in 0..<splits {
            let decision = decisionTypes[split]
            let defaultLeft = decision & 2 != 0
            let rule: TreeEnsembleSpec.Rule
            if decision & 1 != 0 {
                let category = Int(exactly: thresholds[split]) ?? -1
                guard category >= 0, category < categoryCount else {
                    throw ModelFormatError("Tree=\(index) (line \(line)): categorical split \(split) names bitset \(thresholds[split]) of \(categoryCount)")
                }
                rule = .categorical(bitset: Array(categoryWords[boundaries[category]..<boundaries[category + 1]]))
            } else {
                let threshold = thresholds[split]
                switch (decision >> 2) & 3 {
                case 0:  // None: NaN is compared as 0.
                    rule = .lessOrEqual(threshold, nanLeft: 0 <= threshold)
                case 1:  // Zero
                    rule = .zeroMissing(threshold == .infinity ? .infinity : threshold.nextUp, defaultLeft: defaultLeft)
                default:  // NaN
                    rule = .lessOrEqual(threshold, nanLeft: defaultLeft)
                }
            }
            nodes.append(.split(feature: features[split], rule: rule,
                                left: try node(leftChildren[split]), right: try node(rightChildren[split])))
        }
        for value in leafValues { nodes.append(.leaf(value)) }
        // Data counts (TreeSHAP's covers) are optional: a file without them still scores.
        var covers: [Double] = []
        if fields["internal_count"] != nil, fields["leaf_count"] != nil {
            let internalCounts: [Double] = try numbers(fields, "internal_count", count: splits, line: line, index: index)
            let leafCounts: [Double] = try numbers(fields, "leaf_count", count: leafCount, line: line, index: index)
            covers = internalCounts + leafCounts
        }
        return TreeEnsembleSpec.Tree(nodes: nodes, covers: covers)
    }
}
