import CVigilKernels

/// QuickScorer's trees laid out for the ranked scan (`CVigilKernels`' `vigil_rf_accumulate`),
/// which scores batches of a few rows a whole tree per step.
///
/// Every split "x < t" becomes the rank k of t among its feature's distinct thresholds: with
/// r(x) the number of those thresholds at or below x (the same double comparisons the walk
/// makes), x < t exactly when r(x) <= k, for every value including ±0 and ±infinity; NaN gets
/// a rank of its own and each node's NaN direction. A row is ranked once (a binary search per
/// feature), and then a tree of up to 32 leaves is one vector of node features and one of
/// node ranks: every node's direction in one comparison, the exit leaf as QuickScorer finds
/// it (the lowest leaf left after the masks of the nodes that go right). The leaves are added
/// in QuickScorer's order, so a row's score is the same bits on either path.
///
/// Measured (KernelBench, thread CPU time, bench/README.md "Model kernels"): see
/// ``TreeEnsembleKernel/SmallBatchPlan``.
struct RankedForest: Sendable {
    /// Whether this processor runs the ranked scan (AVX-512F and BW).
    static let available = vigil_rf_available() != 0

    let featureCount: Int
    /// The trees' nodes, a 256-byte `vigil_rf_tree` each.
    let nodes: Nodes
    let nanLeft: [UInt32]
    let leafStarts: [Int32]
    let leafValues: [Double]
    let blockTreeStarts: [Int32]
    let cuts: [Double]
    let cutStarts: [Int32]

    /// The ranked layout of `trees` (in QuickScorer's order, summed in its blocks), or nil
    /// when one does not fit: more than 32 leaves in a tree, a split QuickScorer cannot
    /// express, more than 64 features, or too many distinct thresholds for a 16-bit rank.
    init?(trees: [TreeEnsembleSpec.Tree], featureCount: Int, blockTreeStarts: [Int32]) {
        let lanes = Int(VIGIL_RF_TREE_LANES)
        guard featureCount >= 1, featureCount <= Int(VIGIL_RF_MAX_FEATURES), !trees.isEmpty,
              blockTreeStarts.last.map(Int.init) == trees.count,
              trees.allSatisfy(QuickScorer.canExpress) else { return nil }
        let compiled = trees.map(QuickScorer.compile)
        guard compiled.allSatisfy({ $0.leaves.count <= lanes }) else { return nil }
        // Distinct thresholds per feature, ascending (-0 and 0 are one: they compare equal).
        var cutsByFeature = [[Double]](repeating: [], count: featureCount)
        for tree in compiled {
            for split in tree.splits { cutsByFeature[split.feature].append(split.threshold) }
        }
        for feature in 0..<featureCount {
            var distinct: [Double] = []
            for cut in cutsByFeature[feature].sorted() where distinct.last != cut { distinct.append(cut) }
            guard distinct.count < Int(VIGIL_RF_NAN_RANK) else { return nil }
            cutsByFeature[feature] = distinct
        }
        func rank(_ threshold: Double, feature: Int) -> Int16 {
            let cuts = cutsByFeature[feature]
            var low = 0
            var high = cuts.count
            while low < high {
                let middle = (low + high) / 2
                if cuts[middle] < threshold { low = middle + 1 } else { high = middle }
            }
            return Int16(low)
        }
        let nodes = Nodes(treeCount: compiled.count)
        var nanLeft = [UInt32](repeating: 0, count: compiled.count)
        var leafStarts: [Int32] = []
        var leafValues: [Double] = []
        for (index, tree) in compiled.enumerated() {
            for (node, split) in tree.splits.enumerated() {
                nodes.trees[index].set(node: node, feature: Int16(split.feature), rank: rank(split.threshold, feature: split.feature),
                                       mask: UInt32(truncatingIfNeeded: split.mask))
                if split.nanLeft { nanLeft[index] |= 1 << UInt32(node) }
            }
            leafStarts.append(Int32(leafValues.count))
            leafValues += tree.leaves
        }
        self.featureCount = featureCount
        self.nodes = nodes
        self.nanLeft = nanLeft
        self.leafStarts = leafStarts
        self.leafValues = leafValues
        self.blockTreeStarts = blockTreeStarts
        cuts = cutsByFeature.flatMap { $0 }
        var cutStarts: [Int32] = [0]
        for feature in cutsByFeature { cutStarts.append(cutStarts.last! + Int32(feature.count)) }
        self.cutStarts = cutStarts
    }

    /// Adds the trees' leaf values for `rowCount` rows to `scores`. Call only when ``available``.
    func accumulate(rows: UnsafePointer<Double>, rowCount: Int, into scores: UnsafeMutablePointer<Double>) {
        nanLeft.withUnsafeBufferPointer { nanLeft in
        leafStarts.withUnsafeBufferPointer { leafStarts in
        leafValues.withUnsafeBufferPointer { leafValues in
        blockTreeStarts.withUnsafeBufferPointer { blockTreeStarts in
        cuts.withUnsafeBufferPointer { cuts in
        cutStarts.withUnsafeBufferPointer { cutStarts in
            var model = vigil_rf_model(
                feature_count: featureCount, block_count: blockTreeStarts.count - 1, trees: nodes.trees,
                nan_left: nanLeft.baseAddress,
                leaf_starts: leafStarts.baseAddress, leaf_values: leafValues.baseAddress,
                block_tree_starts: blockTreeStarts.baseAddress, cuts: cuts.baseAddress, cut_starts: cutStarts.baseAddress)
            vigil_rf_accumulate(&model, rows, rowCount, scores)
        }
        }
        }
        }
        }
        }
        withExtendedLifetime(nodes) {}
    }

    /// The trees' nodes in 64-byte aligned memory: a tree is four whole cache lines, each
    /// 64-byte vector load one line (Swift arrays align to 16 bytes, and a load split across
    /// two lines costs twice).
    /// `@unchecked Sendable`: written only by ``RankedForest``'s initialiser, read-only after.
    final class Nodes: @unchecked Sendable {
        let trees: UnsafeMutablePointer<vigil_rf_tree>
        let treeCount: Int

        init(treeCount: Int) {
            self.treeCount = treeCount
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, treeCount) * MemoryLayout<vigil_rf_tree>.stride,
                                                       alignment: 64)
            trees = raw.bindMemory(to: vigil_rf_tree.self, capacity: max(1, treeCount))
            for tree in 0..<treeCount { trees[tree] = .padding }
        }

        deinit { trees.deallocate() }
    }
}

extension vigil_rf_tree {
    /// A tree with no nodes: every lane padding, which never goes right.
    static var padding: vigil_rf_tree {
        var tree = vigil_rf_tree()
        for lane in 0..<Int(VIGIL_RF_TREE_LANES) { tree.set(node: lane, feature: 0, rank: Int16(VIGIL_RF_NAN_RANK), mask: ~0) }
        return tree
    }

    mutating func set(node: Int, feature: Int16, rank: Int16, mask: UInt32) {
        withUnsafeMutableBytes(of: &features) { $0.storeBytes(of: feature, toByteOffset: node * 2, as: Int16.self) }
        withUnsafeMutableBytes(of: &ranks) { $0.storeBytes(of: rank, toByteOffset: node * 2, as: Int16.self) }
        withUnsafeMutableBytes(of: &masks) { $0.storeBytes(of: mask, toByteOffset: node * 4, as: UInt32.self) }
    }
}
