import Foundation

/// Exact per-feature contributions to a tree ensemble's margin: path-dependent TreeSHAP
/// (Lundberg, Erion and Lee, "Consistent individualized feature attribution for tree
/// ensembles", 2018, Algorithm 2), the algorithm behind XGBoost's
/// `predict(pred_contribs=True)` and LightGBM's `predict(pred_contrib=True)`.
///
/// For one row it writes `inputNames.count + 1` values: each input's contribution, then the
/// bias (the ensemble's expected margin over the training data, base score included), in
/// the libraries' layout. They add up to the margin, the score before the sigmoid. Each tree
/// costs O(leaves × depth²); the paths not taken are weighed by the covers the model file
/// keeps (XGBoost's `sum_hessian`, LightGBM's `internal_count`/`leaf_count`), so a file without
/// them cannot be explained.
///
/// Load one with ``ModelLoader/loadExplainer(path:)``. It is separate from
/// ``TreeEnsembleKernel``: scoring never pays for it, and events are explained one at a time
/// (alerts are rare).
public struct TreeExplainer: Sendable {
    /// One node, trivially copyable (a rule with an array payload made every node read retain
    /// and release it): for a split, its feature, children and rule; for a leaf, its value.
    struct Node: Sendable {
        var feature: Int32
        var left: Int32
        var right: Int32
        /// 0: `x < threshold`; 1: LightGBM's zero-as-missing; 2: categorical (`threshold` indexes the bitsets).
        var kind: UInt8
        /// Where NaN (and, for zero-as-missing, zero) goes.
        var defaultLeft: Bool
        var threshold: Double
        var cover: Double
        var leafValue: Double
        var isLeaf: Bool { left < 0 }
    }

    /// One element of the path of unique features from the root (the paper's m).
    struct PathElement {
        var feature: Int
        var zeroFraction: Double
        var oneFraction: Double
        var weight: Double
    }

    /// The model's inputs, in the column order of the rows it explains.
    public let inputNames: [String]
    /// The bias: the expected margin (the sum of the trees' cover-weighted mean leaf values,
    /// plus the base margin). Every row's contributions add up to its margin from here.
    public let expectedMargin: Double
    let trees: [[Node]]
    /// The categorical splits' bitsets (LightGBM).
    let bitsets: [[UInt32]]
    /// LightGBM random forests average their trees: contributions are divided by this.
    let divisor: Double
    /// Scratch for the paths: (depth + 2)(depth + 3) / 2 elements for the deepest tree.
    private var path: [PathElement]

    init(spec: TreeEnsembleSpec) throws(ModelFormatError) {
        guard !spec.inputNames.isEmpty else { throw ModelFormatError("the model has no inputs") }
        guard !spec.trees.isEmpty else { throw ModelFormatError("the model has no trees") }
        var trees: [[Node]] = []
        var bitsets: [[UInt32]] = []
        var maxDepth = 0
        var expected = 0.0
        for (index, tree) in spec.trees.enumerated() {
            let (nodes, depth) = try Self.flatten(tree, index: index, featureCount: spec.inputNames.count, bitsets: &bitsets)
            trees.append(nodes)
            maxDepth = max(maxDepth, depth)
            var means = [Double](repeating: 0, count: nodes.count)
            expected += Self.meanValue(of: 0, in: nodes, into: &means)
        }
        inputNames = spec.inputNames
        self.trees = trees
        self.bitsets = bitsets
        divisor = spec.divisor
        expectedMargin = spec.baseMargin + expected / spec.divisor
        path = Array(repeating: PathElement(feature: -1, zeroFraction: 0, oneFraction: 0, weight: 0),
                     count: (maxDepth + 2) * (maxDepth + 3) / 2)
    }

    /// Checks that `tree` is a tree (every node reached once from the root, children and features
    /// in range) with a positive cover at every node; returns its nodes and depth.
    static func flatten(_ tree: TreeEnsembleSpec.Tree, index: Int, featureCount: Int,
                        bitsets: inout [[UInt32]]) throws(ModelFormatError) -> ([Node], Int) {
        let count = tree.nodes.count
        guard count > 0 else { throw ModelFormatError("tree \(index) has no nodes") }
        if count > 1, tree.covers.count != count {
            throw ModelFormatError("tree \(index) has no cover statistics (XGBoost sum_hessian, LightGBM internal_count/leaf_count), which explanations need")
        }
        var nodes: [Node] = []
        nodes.reserveCapacity(count)
        for (position, node) in tree.nodes.enumerated() {
            let cover = count > 1 ? tree.covers[position] : 1
            switch node {
            case let .leaf(value):
                nodes.append(Node(feature: -1, left: -1, right: -1, kind: 0, defaultLeft: false, threshold: 0, cover: cover, leafValue: value))
            case let .split(feature, rule, left, right):
                guard (0..<featureCount).contains(feature), (0..<count).contains(left), (0..<count).contains(right) else {
                    throw ModelFormatError("tree \(index) node \(position) has a child or feature out of range")
                }
                guard cover > 0, cover.isFinite else {
                    throw ModelFormatError("tree \(index) node \(position) has cover \(cover); TreeSHAP needs a positive one")
                }
                var node = Node(feature: Int32(feature), left: Int32(left), right: Int32(right), kind: 0, defaultLeft: false,
                                threshold: 0, cover: cover, leafValue: 0)
                switch rule {
                case let .lessThan(threshold, nanLeft):
                    (node.threshold, node.defaultLeft) = (threshold, nanLeft)
                case let .zeroMissing(threshold, defaultLeft):
                    (node.kind, node.threshold, node.defaultLeft) = (1, threshold, defaultLeft)
                case let .categorical(bitset):
                    (node.kind, node.threshold) = (2, Double(bitsets.count))
                    bitsets.append(bitset)
                }
                nodes.append(node)
            }
        }
        // Every node reached exactly once from the root: no cycle, no shared subtree.
        var seen = [Bool](repeating: false, count: count)
        var pending = [(node: 0, depth: 0)]
        var depth = 0
        while let (node, level) = pending.popLast().map({ ($0.node, $0.depth) }) {
            guard !seen[node] else { throw ModelFormatError("tree \(index) reaches node \(node) twice") }
            seen[node] = true
            depth = max(depth, level)
            if !nodes[node].isLeaf {
                pending.append((Int(nodes[node].left), level + 1))
                pending.append((Int(nodes[node].right), level + 1))
            }
        }
        return (nodes, depth)
    }

    /// The cover-weighted mean of the leaves under `node`, as XGBoost's FillNodeMeanValue
    /// computes it (each child weighed by its cover over the node's).
    static func meanValue(of node: Int, in nodes: [Node], into means: inout [Double]) -> Double {
        let current = nodes[node]
        let value: Double
        if current.isLeaf {
            value = current.leafValue
        } else {
            let left = Int(current.left), right = Int(current.right)
            value = (meanValue(of: left, in: nodes, into: &means) * nodes[left].cover
                + meanValue(of: right, in: nodes, into: &means) * nodes[right].cover) / current.cover
        }
        means[node] = value
        return value
    }

    /// Writes the contributions of `row` (``inputNames`` order, NaN = missing) into the first
    /// `inputNames.count + 1` elements of `contributions`: one per input, then the bias.
    public mutating func contributions(row: UnsafeBufferPointer<Double>, into contributions: UnsafeMutableBufferPointer<Double>) {
        let featureCount = inputNames.count
        precondition(row.count >= featureCount, "row holds fewer than inputNames.count values")
        precondition(contributions.count > featureCount, "contributions holds fewer than inputNames.count + 1 values")
        guard let phi = contributions.baseAddress, let x = row.baseAddress else { return }
        phi.update(repeating: 0, count: featureCount)
        let scale = 1 / divisor
        let bitsets = self.bitsets
        path.withUnsafeMutableBufferPointer { path in
            for tree in trees where tree.count > 1 {
                tree.withUnsafeBufferPointer { nodes in
                    Self.recurse(nodes: nodes, bitsets: bitsets, x: x, phi: phi, scale: scale, node: 0, depth: 0, parentPath: path.baseAddress!,
                            zeroFraction: 1, oneFraction: 1, feature: -1)
                }
            }
        }
        phi[featureCount] = expectedMargin
    }

    /// The contributions of one row as a new array (tools and tests).
    public mutating func contributions(_ row: [Double]) -> [Double] {
        var result = [Double](repeating: 0, count: inputNames.count + 1)
        row.withUnsafeBufferPointer { row in
            result.withUnsafeMutableBufferPointer { result in contributions(row: row, into: result) }
        }
        return result
    }

    // MARK: The algorithm (the paper's RECURSE, EXTEND, UNWIND and the unwound sum)

    /// Follows `node` with the path so far in `parentPath[0..<depth]`; its own copy of the path
    /// goes right after (each level of recursion has its slice of the scratch).
    private static func recurse(nodes: UnsafeBufferPointer<Node>, bitsets: [[UInt32]], x: UnsafePointer<Double>, phi: UnsafeMutablePointer<Double>,
                                scale: Double, node: Int, depth parentDepth: Int, parentPath: UnsafeMutablePointer<PathElement>,
                                zeroFraction: Double, oneFraction: Double, feature: Int) {
        var depth = parentDepth
        let path = parentPath + depth
        if depth > 0 { path.update(from: parentPath, count: depth) }
        extend(path, depth: depth, zeroFraction: zeroFraction, oneFraction: oneFraction, feature: feature)
        let current = nodes[node]
        if current.isLeaf {
            let value = current.leafValue * scale
            if depth > 0 {
                for index in 1...depth {
                    let weight = unwoundSum(path, depth: depth, index: index)
                    let element = path[index]
                    phi[element.feature] += weight * (element.oneFraction - element.zeroFraction) * value
                }
            }
            return
        }
        let feature = Int(current.feature)
        let value = x[feature]
        let goesLeft: Bool
        switch current.kind {
        case 0: goesLeft = value.isNaN ? current.defaultLeft : value < current.threshold
        case 1: goesLeft = value.isNaN || abs(value) <= 1e-35 ? current.defaultLeft : value < current.threshold
        default: goesLeft = TreeEnsembleKernel.inCategory(value, bitset: bitsets[Int(current.threshold)])
        }
        let hot = Int(goesLeft ? current.left : current.right)
        let cold = Int(goesLeft ? current.right : current.left)
        let hotZeroFraction = nodes[hot].cover / current.cover
        let coldZeroFraction = nodes[cold].cover / current.cover
        var incomingZero = 1.0
        var incomingOne = 1.0
        // A feature already on the path: undo its earlier split and redo it here.
        var index = 0
        while index <= depth, path[index].feature != feature { index += 1 }
        if index <= depth {
            incomingZero = path[index].zeroFraction
            incomingOne = path[index].oneFraction
            unwind(path, depth: depth, index: index)
            depth -= 1
        }
        recurse(nodes: nodes, bitsets: bitsets, x: x, phi: phi, scale: scale, node: hot, depth: depth + 1, parentPath: path,
                zeroFraction: hotZeroFraction * incomingZero, oneFraction: incomingOne, feature: feature)
        recurse(nodes: nodes, bitsets: bitsets, x: x, phi: phi, scale: scale, node: cold, depth: depth + 1, parentPath: path,
                zeroFraction: coldZeroFraction * incomingZero, oneFraction: 0, feature: feature)
    }

    private static func extend(_ path: UnsafeMutablePointer<PathElement>, depth: Int, zeroFraction: Double, oneFraction: Double, feature: Int) {
        path[depth] = PathElement(feature: feature, zeroFraction: zeroFraction, oneFraction: oneFraction, weight: depth == 0 ? 1 : 0)
        let total = Double(depth + 1)
        var index = depth - 1
        while index >= 0 {
            path[index + 1].weight += oneFraction * path[index].weight * Double(index + 1) / total
            path[index].weight = zeroFraction * path[index].weight * Double(depth - index) / total
            index -= 1
        }
    }

    private static func unwind(_ path: UnsafeMutablePointer<PathElement>, depth: Int, index pathIndex: Int) {
        let oneFraction = path[pathIndex].oneFraction
        let zeroFraction = path[pathIndex].zeroFraction
        let total = Double(depth + 1)
        var nextOne = path[depth].weight
        var index = depth - 1
        while index >= 0 {
            if oneFraction != 0 {
                let weight = path[index].weight
                path[index].weight = nextOne * total / (Double(index + 1) * oneFraction)
                nextOne = weight - path[index].weight * zeroFraction * Double(depth - index) / total
            } else {
                path[index].weight = path[index].weight * total / (zeroFraction * Double(depth - index))
            }
            index -= 1
        }
        for index in pathIndex..<depth {
            path[index].feature = path[index + 1].feature
            path[index].zeroFraction = path[index + 1].zeroFraction
            path[index].oneFraction = path[index + 1].oneFraction
        }
    }

    /// The total weight of the path with element `pathIndex` unwound, without changing it.
    private static func unwoundSum(_ path: UnsafeMutablePointer<PathElement>, depth: Int, index pathIndex: Int) -> Double {
        let oneFraction = path[pathIndex].oneFraction
        let zeroFraction = path[pathIndex].zeroFraction
        let total = Double(depth + 1)
        var nextOne = path[depth].weight
        var sum = 0.0
        var index = depth - 1
        while index >= 0 {
            if oneFraction != 0 {
                let weight = nextOne * total / (Double(index + 1) * oneFraction)
                sum += weight
                nextOne = path[index].weight - weight * zeroFraction * Double(depth - index) / total
            } else if zeroFraction != 0 {
                sum += path[index].weight / zeroFraction / (Double(depth - index) / total)
            }
            index -= 1
        }
        return sum
    }
}
