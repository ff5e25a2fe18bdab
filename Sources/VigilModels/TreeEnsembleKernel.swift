import CVigilKernels
import Foundation

/// A compiled tree ensemble (XGBoost, LightGBM) that scores a batch tree by tree.
///
/// Layout: all trees' nodes sit in one contiguous array of 16-byte nodes (threshold, first
/// child, feature and flags). A node's two children are adjacent, so a step is
/// `child = firstChild + (goLeft ? 0 : 1)`, and every split is "left when x < threshold" in
/// double precision (readers convert their library's rule exactly). Leaves point to themselves
/// and never go left, so the traversal runs a fixed number of steps (the tree's depth) for
/// every row with no data-dependent branch; blocks of rows advance together, which gives the
/// processor independent loads to overlap. One tree at a time walks the whole batch, so the
/// tree stays in cache while the batch streams past.
///
/// Node order within a tree is depth-first by default; ``Layout`` keeps breadth-first for
/// measurement (see bench/README.md, "Model kernels").
///
/// Trees that QuickScorer can express (numeric splits, at most 64 leaves) are scored by
/// ``QuickScorer`` instead by default (``Traversal``); the walk keeps the rest. Deep trees of at
/// most 32 leaves (LightGBM's default 31) take the ranked scan (``RankedForest``) when every
/// tree fits it, at every batch size (``SmallBatchPlan``).
public struct TreeEnsembleKernel: ScoringKernel {
    /// How trees are scored.
    public enum Traversal: String, Sendable, CaseIterable {
        /// QuickScorer or the walk per tree, by which measured faster for its shape.
        case automatic
        /// QuickScorer for every tree it can express, the walk for the others.
        case quickScorer
        /// The branch-free walk for every tree.
        case walk
        /// The ranked scan (``RankedForest``) for every batch, where every tree fits it;
        /// ``quickScorer`` otherwise. For measurement.
        case rankedScan
    }

    /// Node order within each tree.
    public enum Layout: String, Sendable, CaseIterable {
        /// Pre-order: a subtree's nodes are contiguous.
        case depthFirst
        /// Level order: the top levels of a tree share cache lines.
        case breadthFirst
    }

    /// Where a tree starts in the node array and how many steps reach all its leaves (`root`,
    /// `depth`). A C type, as the small-batch walk reads the same array.
    typealias TreeEntry = vigil_tree_entry

    /// `threshold`: left when x < threshold (for categorical nodes, the index of the node's
    /// bitset); `first_child`; `feature_and_flags`: feature index << 3 | flags. A C type, as
    /// the small-batch walk reads the same array.
    typealias Node = vigil_tree_node

    static let nanLeftFlag: UInt32 = 1
    static let zeroMissingFlag: UInt32 = 2
    static let categoricalFlag: UInt32 = 4
    /// Rows that advance together through a tree.
    static let blockSize = 16

    public let inputNames: [String]
    /// The number of trees.
    public let treeCount: Int
    /// The node order chosen at load time.
    public let layout: Layout
    /// How trees are scored, chosen at load time.
    public let traversal: Traversal
    /// The number of trees scored by QuickScorer; the others are walked.
    public var quickScorerTreeCount: Int { treeCount - trees.count }
    let quickScorer: QuickScorer
    /// The trees QuickScorer scores, as walks (in its order), for batches too small for it.
    let quickTrees: [TreeEntry]
    /// The trees QuickScorer scores, laid out for the ranked scan, when every tree of the
    /// ensemble fits it and the processor runs it.
    let rankedForest: RankedForest?
    /// How batches of a few rows are scored.
    let smallBatchPlan: SmallBatchPlan
    /// QuickScorer's bitvectors, allocated once, with room to start them on a cache line
    /// (``alignedScratch(_:)``).
    var quickScorerScratch: [UInt64]
    let nodes: [Node]
    let leafValues: [Double]
    let trees: [TreeEntry]
    let bitsets: [[UInt32]]
    /// Whether any node needs the zero-missing or categorical rule (LightGBM only).
    let hasSpecialNodes: Bool
    let baseMargin: Double
    let divisor: Double
    let output: TreeEnsembleSpec.Output

    init(spec: TreeEnsembleSpec, layout: Layout = .depthFirst, traversal: Traversal = .automatic) throws(ModelFormatError) {
        guard !spec.inputNames.isEmpty else { throw ModelFormatError("the model has no inputs") }
        // Feature indices share a 32-bit word with three flag bits.
        guard spec.inputNames.count < 1 << 28 else { throw ModelFormatError("the model has too many inputs") }
        guard !spec.trees.isEmpty else { throw ModelFormatError("the model has no trees") }
        // The builder validates every tree; QuickScorer takes the valid ones it can express.
        var builder = Builder(featureCount: spec.inputNames.count, layout: layout)
        var walked: [TreeEntry] = []
        var quick: [TreeEnsembleSpec.Tree] = []
        var quickEntries: [TreeEntry] = []
        for (index, tree) in spec.trees.enumerated() {
            try builder.add(tree, index: index)
            if traversal == .quickScorer || traversal == .rankedScan || (traversal == .automatic && Self.prefersQuickScorer(depth: Int(builder.trees[index].depth))),
               QuickScorer.canExpress(tree) {
                quick.append(tree)
                quickEntries.append(builder.trees[index])
            } else {
                walked.append(builder.trees[index])
            }
        }
        inputNames = spec.inputNames
        treeCount = spec.trees.count
        self.layout = layout
        self.traversal = traversal
        quickScorer = QuickScorer(trees: quick, featureCount: spec.inputNames.count)
        quickTrees = quickEntries
        quickScorerScratch = [UInt64](repeating: 0, count: max(1, quickScorer.scratchCount) + 7)
        nodes = builder.nodes
        leafValues = builder.leafValues
        trees = walked
        bitsets = builder.bitsets
        hasSpecialNodes = builder.hasSpecialNodes
        rankedForest = traversal != .walk && walked.isEmpty && RankedForest.available
            ? RankedForest(trees: quick, featureCount: spec.inputNames.count, blockTreeStarts: quickScorer.blockTreeStarts) : nil
        smallBatchPlan = SmallBatchPlan(quickTrees: quickEntries, walkedTrees: walked, hasSpecialNodes: builder.hasSpecialNodes,
                                        ranked: rankedForest != nil, traversal: traversal)
        baseMargin = spec.baseMargin
        divisor = spec.divisor
        output = spec.output
    }

    /// Whether ``Traversal/automatic`` gives a tree of this depth to QuickScorer. Measured
    /// (bench/README.md, "Model kernels"): the eight-row AVX-512 scan beats the walk on
    /// XGBoost's depth-6 trees and on LightGBM's leaf-wise ones; the one-row scan only on deep
    /// trees (about 1.5x on LightGBM's, half the walk's speed on depth 6).
    static func prefersQuickScorer(depth: Int) -> Bool {
        QuickScorer.vectorised || depth > 8
    }

    public mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>) {
        let featureCount = inputNames.count
        precondition(rows.count >= rowCount * featureCount, "rows holds fewer than rowCount × inputNames.count values")
        precondition(scores.count >= rowCount, "scores holds fewer than rowCount values")
        guard rowCount > 0, let rowBase = rows.baseAddress, let scoreBase = scores.baseAddress else { return }
        if rowCount <= smallBatchPlan.rankedScanRows, let rankedForest {
            scoreBase.update(repeating: 0, count: rowCount)
            rankedForest.accumulate(rows: rowBase, rowCount: rowCount, into: scoreBase)
        } else if rowCount <= smallBatchPlan.groupedWalkRows {
            scoreSmallBatch(rows: rowBase, rowCount: rowCount, into: scoreBase)
        } else {
            scoreBatch(rows: rowBase, rowCount: rowCount, into: scoreBase,
                       vectorised: QuickScorer.vectorised && rowCount > smallBatchPlan.oneRowScanRows)
        }
        for row in 0..<rowCount {
            scoreBase[row] = transform(scoreBase[row])
        }
    }

    /// How batches of a few rows are scored (chosen at load time from the trees' shape).
    /// Live traffic at low rates makes batches of 1–16 events, where the eight-row QuickScorer
    /// idles most of its lanes and a walk of one tree at a time is a chain of dependent loads.
    /// Measured (KernelBench, thread CPU time, bench/README.md "Model kernels"):
    /// - XGBoost 100 trees of depth 6: the grouped walk (``scoreSmallBatch``) 548k / 723k /
    ///   844k events/s at 1 / 2 / 4 rows against the eight-row scan's 204k / 353k / 590k; at
    ///   5 rows the scan leads (987k against 776k). So shallow trees walk up to 4 rows.
    /// - LightGBM 500 trees of 31 leaves (depth up to 18): the one-row scan 163k / 179k / 169k
    ///   at 1 / 2 / 3 rows against 89k / 146k / 162k; at 4 the eight-row scan leads (250k
    ///   against 180k), and the grouped walk, which walks a group to its deepest tree, trails
    ///   both (55k at 1 row). So deep trees take the one-row scan up to 3 rows — unless they
    ///   fit the ranked scan (``RankedForest``: at most 32 leaves a tree, 64 features, plain
    ///   numeric splits), which scores them 419k / 489k / 500k at 1 / 2 / 4 rows and 506k–510k
    ///   from 8 rows up, against the eight-row scan's 90k / 150k / 257k and 463k–469k in the
    ///   same run (and the one-row scan's 162k at 1 row; TL2cgen 164k, lleaves 165k–303k):
    ///   deep trees that fit take the ranked scan at every batch size. Shallow trees keep the walk and the eight-row scan
    ///   (the ranked scan is not measured against them yet).
    struct SmallBatchPlan: Sendable {
        /// Batches of at most this many rows take the ranked scan (0: none; `.max`: every batch).
        var rankedScanRows: Int
        /// Batches of at most this many rows (and more than `rankedScanRows`) take the grouped walk (0: none).
        var groupedWalkRows: Int
        /// Batches of at most this many rows (and more than `groupedWalkRows`) take QuickScorer's one-row scan.
        var oneRowScanRows: Int

        init(quickTrees: [TreeEntry], walkedTrees: [TreeEntry], hasSpecialNodes: Bool, ranked: Bool, traversal: Traversal) {
            guard traversal == .automatic else {
                self.init(rankedScanRows: traversal == .rankedScan && ranked ? .max : 0, groupedWalkRows: 0, oneRowScanRows: 0)
                return
            }
            let depths = (quickTrees + walkedTrees).map { Double($0.depth) }
            let meanDepth = depths.reduce(0, +) / Double(max(depths.count, 1))
            let shallow = meanDepth <= 8
            self.init(rankedScanRows: ranked && !shallow ? .max : 0,
                      groupedWalkRows: hasSpecialNodes || !shallow ? 0 : (QuickScorer.vectorised ? 4 : Int(VIGIL_TREE_SMALL_ROWS)),
                      oneRowScanRows: shallow ? 0 : 3)
        }

        init(rankedScanRows: Int, groupedWalkRows: Int, oneRowScanRows: Int) {
            self.rankedScanRows = rankedScanRows
            self.groupedWalkRows = groupedWalkRows
            self.oneRowScanRows = oneRowScanRows
        }
    }

    /// Margins of a few rows: every tree walked, the walks of several trees interleaved (C:
    /// `vigil_tree_sum_small`). The sums are formed as the batch path forms them (walked
    /// trees first, then each QuickScorer block's sum), so that a row scores the same
    /// whatever the size of its batch.
    func scoreSmallBatch(rows: UnsafePointer<Double>, rowCount: Int, into scores: UnsafeMutablePointer<Double>) {
        let featureCount = inputNames.count
        nodes.withUnsafeBufferPointer { nodes in
        leafValues.withUnsafeBufferPointer { leafValues in
        trees.withUnsafeBufferPointer { walked in
        quickTrees.withUnsafeBufferPointer { quick in
        quickScorer.blockTreeStarts.withUnsafeBufferPointer { blockStarts in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: Int(VIGIL_TREE_SMALL_ROWS)) { sums in
                vigil_tree_sum_small(nodes.baseAddress, leafValues.baseAddress, walked.baseAddress, walked.count,
                                     rows, rowCount, featureCount, 1, scores)
                for block in 0..<quickScorer.blockCount {
                    let first = Int(blockStarts[block])
                    vigil_tree_sum_small(nodes.baseAddress, leafValues.baseAddress, quick.baseAddress! + first,
                                         Int(blockStarts[block + 1]) - first, rows, rowCount, featureCount, 4, sums.baseAddress)
                    for row in 0..<rowCount { scores[row] += sums[row] }
                }
            }
        }
        }
        }
        }
        }
    }

    /// Margins of a batch: the walked trees a block of rows at a time, then QuickScorer.
    mutating func scoreBatch(rows rowBase: UnsafePointer<Double>, rowCount: Int, into scoreBase: UnsafeMutablePointer<Double>,
                             vectorised: Bool = QuickScorer.vectorised) {
        let featureCount = inputNames.count
        scoreBase.update(repeating: 0, count: rowCount)
        nodes.withUnsafeBufferPointer { nodes in
            leafValues.withUnsafeBufferPointer { leafValues in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.blockSize) { positions in
                    let positions = positions.baseAddress!
                    for tree in trees {
                        var start = 0
                        while start < rowCount {
                            let count = min(Self.blockSize, rowCount - start)
                            let blockRows = rowBase + start * featureCount
                            if hasSpecialNodes {
                                walkGeneral(tree: tree, rows: blockRows, count: count, featureCount: featureCount,
                                            nodes: nodes, positions: positions)
                            } else {
                                Self.walk(tree: tree, rows: blockRows, count: count, featureCount: featureCount,
                                          nodes: nodes, positions: positions)
                            }
                            let blockScores = scoreBase + start
                            for row in 0..<count {
                                blockScores[row] += leafValues[Int(positions[row])]
                            }
                            start += count
                        }
                    }
                }
            }
        }
        let quickScorer = self.quickScorer
        quickScorerScratch.withUnsafeMutableBufferPointer { scratch in
            quickScorer.accumulate(rows: rowBase, rowCount: rowCount, into: scoreBase, scratch: Self.alignedScratch(scratch.baseAddress!),
                                   vectorised: vectorised)
        }
    }

    /// The first 64-byte boundary at or after `base` (at most 7 words on). The eight-row scan
    /// loads and stores a tree's eight bitvectors as one 64-byte vector; Swift arrays start
    /// 16 bytes aligned, and when every one of those accesses straddles two cache lines the
    /// scan slows by a third: before aligning, two instances of the same kernel on XGBoost
    /// 100x6 measured 1.04M and 1.57M events/s at batch 64 in one KernelBench run; aligned,
    /// three instances 1.41M–1.59M (bench/README.md, "Model kernels").
    static func alignedScratch(_ base: UnsafeMutablePointer<UInt64>) -> UnsafeMutablePointer<UInt64> {
        base + ((8 - (Int(bitPattern: base) >> 3) & 7) & 7)
    }

    @inline(__always)
    func transform(_ sum: Double) -> Double {
        let margin = baseMargin + sum / divisor
        switch output {
        case .identity: return margin
        case .sigmoid(let scale): return 1 / (1 + exp(-scale * margin))
        }
    }

    /// Advances `count` rows through `tree` for its full depth; leaves their leaf nodes in `positions`.
    @inline(__always)
    static func walk(tree: TreeEntry, rows: UnsafePointer<Double>, count: Int, featureCount: Int,
                     nodes: UnsafeBufferPointer<Node>, positions: UnsafeMutablePointer<Int32>) {
        for row in 0..<count { positions[row] = tree.root }
        for _ in 0..<tree.depth {
            // Deep, lopsided trees (LightGBM's leaf-wise growth) put most leaves well above the
            // deepest one: stop once no row of the block moved.
            var moved: Int32 = 0
            for row in 0..<count {
                let position = positions[row]
                let node = nodes[Int(position)]
                let x = rows[row &* featureCount &+ Int(node.feature_and_flags >> 3)]
                // Comparison results as bits rather than `||` or `?:`: the compiler turns those
                // into branches, and which way a split goes is a coin toss the predictor loses.
                let less = UInt32(unsafeBitCast(x < node.threshold, to: UInt8.self))
                let nanLeft = UInt32(unsafeBitCast(x.isNaN, to: UInt8.self)) & node.feature_and_flags
                let next = node.first_child &+ Int32(bitPattern: ((less | nanLeft) & 1) ^ 1)
                moved |= next ^ position
                positions[row] = next
            }
            if moved == 0 { break }
        }
    }

    /// `walk` with LightGBM's zero-as-missing and categorical rules.
    func walkGeneral(tree: TreeEntry, rows: UnsafePointer<Double>, count: Int, featureCount: Int,
                     nodes: UnsafeBufferPointer<Node>, positions: UnsafeMutablePointer<Int32>) {
        for row in 0..<count { positions[row] = tree.root }
        for _ in 0..<tree.depth {
            for row in 0..<count {
                let node = nodes[Int(positions[row])]
                let x = rows[row * featureCount + Int(node.feature_and_flags >> 3)]
                let flags = node.feature_and_flags & 7
                let goLeft: Bool
                if flags & Self.categoricalFlag != 0 {
                    goLeft = Self.inCategory(x, bitset: bitsets[Int(node.threshold)])
                } else if flags & Self.zeroMissingFlag != 0, x.isNaN || abs(x) <= 1e-35 {
                    goLeft = flags & Self.nanLeftFlag != 0
                } else {
                    goLeft = (x < node.threshold) || (x.isNaN && flags & Self.nanLeftFlag != 0)
                }
                positions[row] = node.first_child &+ (goLeft ? 0 : 1)
            }
        }
    }

    /// LightGBM's CategoricalDecision: the value truncated toward zero, looked up in a bitset.
    static func inCategory(_ x: Double, bitset: [UInt32]) -> Bool {
        guard !x.isNaN, x > -1, x < Double(bitset.count * 32) else { return false }
        let category = Int(x)
        return (bitset[category >> 5] >> UInt32(category & 31)) & 1 != 0
    }
}

extension TreeEnsembleKernel {
    /// Flattens trees into the node array, checking that each is a finite tree over known features.
    struct Builder {
        let featureCount: Int
        let layout: Layout
        var nodes: [Node] = []
        var leafValues: [Double] = []
        var trees: [TreeEntry] = []
        var bitsets: [[UInt32]] = []
        var hasSpecialNodes = false

        init(featureCount: Int, layout: Layout) {
            self.featureCount = featureCount
            self.layout = layout
        }

        mutating func add(_ tree: TreeEnsembleSpec.Tree, index: Int) throws(ModelFormatError) {
            guard !tree.nodes.isEmpty else { throw ModelFormatError("tree \(index) has no nodes") }
            // Each source node gets a slot; children are placed as adjacent pairs.
            let base = nodes.count
            var slotOf = [Int](repeating: -1, count: tree.nodes.count)
            slotOf[0] = base
            var maxDepth = 0
            var cursor = 0
            var pending: [(source: Int, depth: Int)] = [(0, 0)]
            nodes.append(Node(threshold: 0, first_child: 0, feature_and_flags: 0))
            leafValues.append(0)
            // Breadth-first takes from the front, depth-first from the back of the worklist.
            while !pending.isEmpty {
                let current: (source: Int, depth: Int)
                if layout == .breadthFirst {
                    current = pending[cursor]
                    cursor += 1
                    if cursor == pending.count { pending.removeAll(); cursor = 0 }
                } else {
                    current = pending.removeLast()
                }
                maxDepth = max(maxDepth, current.depth)
                guard case .split(_, _, let left, let right) = tree.nodes[current.source] else { continue }
                for child in [left, right] {
                    guard child >= 0, child < tree.nodes.count else {
                        throw ModelFormatError("tree \(index) node \(current.source) has child \(child) outside the tree")
                    }
                    guard slotOf[child] == -1 else {
                        throw ModelFormatError("tree \(index) node \(child) is reached twice (the tree has a cycle or shared node)")
                    }
                    slotOf[child] = nodes.count
                    nodes.append(Node(threshold: 0, first_child: 0, feature_and_flags: 0))
                    leafValues.append(0)
                }
                guard current.depth < 10_000 else { throw ModelFormatError("tree \(index) is deeper than 10000") }
                if layout == .breadthFirst {
                    pending.append((left, current.depth + 1))
                    pending.append((right, current.depth + 1))
                } else {
                    pending.append((right, current.depth + 1))
                    pending.append((left, current.depth + 1))
                }
            }
            guard nodes.count <= Int(Int32.max) else { throw ModelFormatError("the model has more than 2^31 nodes") }
            for (source, node) in tree.nodes.enumerated() {
                let slot = slotOf[source]
                guard slot >= 0 else { continue }  // unreachable nodes (XGBoost's deleted nodes)
                switch node {
                case .leaf(let value):
                    guard value.isFinite else { throw ModelFormatError("tree \(index) leaf \(source) is not finite") }
                    nodes[slot] = Node(threshold: -.infinity, first_child: Int32(slot - 1), feature_and_flags: 0)
                    leafValues[slot] = value
                case .split(let feature, let rule, let left, let right):
                    guard feature >= 0, feature < featureCount else {
                        throw ModelFormatError("tree \(index) node \(source) splits on feature \(feature), but the model has \(featureCount) inputs")
                    }
                    guard slotOf[right] == slotOf[left] + 1 else {
                        throw ModelFormatError("tree \(index) node \(source): internal layout error")
                    }
                    var flags: UInt32 = 0
                    var threshold: Double
                    switch rule {
                    case .lessThan(let value, let nanLeft):
                        threshold = value
                        if nanLeft { flags |= TreeEnsembleKernel.nanLeftFlag }
                    case .zeroMissing(let value, let defaultLeft):
                        threshold = value
                        flags |= TreeEnsembleKernel.zeroMissingFlag
                        if defaultLeft { flags |= TreeEnsembleKernel.nanLeftFlag }
                        hasSpecialNodes = true
                    case .categorical(let bitset):
                        threshold = Double(bitsets.count)
                        bitsets.append(bitset)
                        flags |= TreeEnsembleKernel.categoricalFlag
                        hasSpecialNodes = true
                    }
                    guard !threshold.isNaN else { throw ModelFormatError("tree \(index) node \(source) has a NaN threshold") }
                    nodes[slot] = Node(threshold: threshold, first_child: Int32(slotOf[left]),
                                       feature_and_flags: UInt32(feature) << 3 | flags)
                }
            }
            trees.append(TreeEntry(root: Int32(base), depth: Int32(maxDepth)))
        }
    }
}
