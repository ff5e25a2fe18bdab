import Foundation
import VigilCodec

/// An Isolation Forest trained in scikit-learn (`sklearn.ensemble.IsolationForest`), exported by
/// `scripts/export-isolation-forest` to Vigil's JSON form:
///
/// ```json
/// {"format": "vigil-isolation-forest", "version": 1, "inputs": ["x0", "x1"], "max_samples": 256,
///  "trees": [{"feature": [0, -1, -1], "threshold": [0.5, 0, 0], "left": [1, -1, -1],
///             "right": [2, -1, -1], "depth": [0, 1, 1], "samples": [256, 130, 126]}]}
/// ```
///
/// Each tree lists its nodes by index (0 is the root): the split's input (its position in
/// `inputs`, -1 at a leaf), threshold and children (-1 at a leaf), the node's depth and its
/// training sample count. A row goes left when its value, rounded to float32 as scikit-learn
/// rounds its input, is at most the threshold (NaN goes right). The score is scikit-learn's
/// `score_samples` negated back, 2^(−E[h(x)]/c(ψ)): h is the leaf's depth plus c(its samples),
/// c(n) = 2(ln(n − 1) + γ) − 2(n − 1)/n the average path length of an unsuccessful search
/// (c(2) = 1, c(1) = 0), ψ = `max_samples`. Higher is more anomalous; about 0.5 is normal.
public struct IsolationForestKernel: ScoringKernel, Sendable {
    public let inputNames: [String]
    /// All trees' nodes end to end, in one array for locality; `roots[t]` is tree t's first node.
    private let nodes: [Node]
    private let roots: [Int]
    private let normaliser: Double
    /// A row's values rounded to float32, as scikit-learn compares them (reused per row).
    private var rounded: [Double]

    /// A branch (`feature` ≥ 0: go to `left` when the value is at most `value`, else `right`),
    /// or a leaf (`feature` −1, `value` its depth + c(samples)).
    struct Node {
        var value: Double
        var feature: Int32
        var left: Int32
        var right: Int32
    }

    /// Reads Vigil's Isolation Forest JSON.
    init(json bytes: [UInt8]) throws(ModelFormatError) {
        let root = try JSONValue.parseModel(bytes)
        guard root["format"]?.string == "vigil-isolation-forest" else { throw ModelFormatError("'format' is not \"vigil-isolation-forest\"") }
        guard root["version"]?.integer == 1 else { throw ModelFormatError("'version' must be 1") }
        let inputs = try root.requireStrings("inputs", at: "")
        guard !inputs.isEmpty else { throw ModelFormatError("'inputs' is empty") }
        let maxSamples = try root.requireNumber("max_samples", at: "")
        guard maxSamples >= 1 else { throw ModelFormatError("'max_samples' must be at least 1") }
        var nodes: [Node] = [], roots: [Int] = []
        let trees = try root.requireArray("trees", at: "")
        guard !trees.isEmpty else { throw ModelFormatError("'trees' is empty") }
        for (number, tree) in trees.enumerated() {
            let at = "trees[\(number)]"
            let features = try tree.requireNumbers("feature", at: at)
            let thresholds = try tree.requireNumbers("threshold", at: at)
            let lefts = try tree.requireNumbers("left", at: at)
            let rights = try tree.requireNumbers("right", at: at)
            let depths = try tree.requireNumbers("depth", at: at)
            let samples = try tree.requireNumbers("samples", at: at)
            let count = features.count
            let columns: [[Double]] = [thresholds, lefts, rights, depths, samples]
            guard count > 0, columns.allSatisfy({ $0.count == count }) else {
                throw ModelFormatError("\(at): feature, threshold, left, right, depth and samples must have one value per node")
            }
            let base = nodes.count
            roots.append(base)
            for node in 0..<count {
                let isLeaf = lefts[node] < 0
                if isLeaf {
                    guard rights[node] < 0 else { throw ModelFormatError("\(at): node \(node) has one child") }
                } else {
                    guard let split = Int(exactly: features[node]), split >= 0, split < inputs.count else {
                        throw ModelFormatError("\(at): node \(node) splits on input \(features[node]), not one of the \(inputs.count) inputs")
                    }
                    for child in [lefts[node], rights[node]] where !(Int(exactly: child).map { $0 > node && $0 < count } ?? false) {
                        throw ModelFormatError("\(at): node \(node) has child \(child), not a later node of the tree")
                    }
                }
                nodes.append(isLeaf
                    ? Node(value: depths[node] + Self.averagePathLength(samples[node]), feature: -1, left: -1, right: -1)
                    : Node(value: thresholds[node], feature: Int32(features[node]), left: Int32(base) + Int32(lefts[node]), right: Int32(base) + Int32(rights[node])))
            }
        }
        inputNames = inputs
        self.nodes = nodes
        self.roots = roots
        rounded = Array(repeating: 0, count: inputs.count)
        normaliser = Double(trees.count) * Self.averagePathLength(maxSamples)
    }

    /// c(n): the average path length of an unsuccessful search in a binary search tree of n
    /// points, as scikit-learn's `_average_path_length` computes it.
    public static func averagePathLength(_ n: Double) -> Double {
        if n <= 1 { return 0 }
        if n <= 2 { return 1 }
        return 2 * (log(n - 1) + 0.5772156649015329) - 2 * (n - 1) / n
    }

    public mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>) {
        let width = inputNames.count
        let normaliser = self.normaliser
        nodes.withUnsafeBufferPointer { nodes in
            roots.withUnsafeBufferPointer { roots in
                rounded.withUnsafeMutableBufferPointer { rounded in
                    for row in 0..<rowCount {
                        let base = row * width
                        for column in 0..<width { rounded[column] = Double(Float(rows[base + column])) }
                        var depths = 0.0
                        for start in roots {
                            var node = nodes[start]
                            while node.feature >= 0 {
                                node = nodes[Int(rounded[Int(node.feature)] <= node.value ? node.left : node.right)]
                            }
                            depths += node.value
                        }
                        scores[row] = normaliser > 0 ? exp2(-depths / normaliser) : 1
                    }
                }
            }
        }
    }
}
