import CVigilKernels

/// The trees of an ensemble that QuickScorer can express, laid out for it.
///
/// QuickScorer (Lucchese et al., SIGIR 2015) scores a row without walking trees: every tree
/// keeps a bitvector of the leaves still reachable (leaves numbered left to right, at most 64),
/// and every split whose test fails ("x < threshold" is false, so the row goes right) clears
/// the leaves of its left subtree. A split fails exactly when `threshold <= x`, so with each
/// feature's splits sorted by threshold the failing ones are a prefix: a row scans that prefix
/// and stops at the first threshold above its value. The exit leaf of a tree is then the
/// lowest bit left set. The work per row is a sequential scan over about half the nodes
/// instead of a chain of dependent loads per tree level, which is what LightGBM's deep,
/// lopsided leaf-wise trees need (see bench/README.md, "Model kernels").
///
/// Only plain numeric splits ("left when x < threshold", NaN either way) fit; trees with
/// zero-as-missing or categorical splits, or more than 64 leaves, stay with the tree walk.
/// Trees are grouped into blocks so that a block's nodes stay in cache while the batch streams
/// past.
///
/// Where the processor has AVX-512, eight rows are scanned together (`CVigilKernels`'
/// `vigil_qs_accumulate_x8`, vectorised QuickScorer); otherwise, and for a few rows, one row
/// at a time (`vigil_qs_accumulate_x1`).
struct QuickScorer: Sendable {
    /// One scanned split: the leaves to clear in tree `tree` (an index within the block) when
    /// the row's value is at or above the split's threshold (kept in a separate array). A C
    /// type so that the vectorised scan reads the same array.
    typealias Entry = vigil_qs_entry

    /// Whether this processor runs the eight-row scan.
    static let vectorised = vigil_qs_x8_available() != 0

    /// The most internal nodes per block. About 24 bytes per node: a block of 4096 nodes is
    /// L2-resident and read in sequential runs that the prefetcher follows.
    static let blockNodeLimit = 4096

    let featureCount: Int
    /// Per block and feature, the splits' thresholds in ascending order, each run ending in a
    /// NaN sentinel that no value is at or above, so the scan needs one comparison per step.
    let thresholds: [Double]
    let entries: [Entry]
    /// Start of each (block, feature) run in `thresholds`/`entries`: blocks × featureCount + 1.
    let runStarts: [Int32]
    /// Per (block, feature): the combined masks of the splits whose NaN goes right.
    let nanEntries: [Entry]
    let nanRunStarts: [Int32]
    /// Start of each block in the tree lists: blocks + 1.
    let blockTreeStarts: [Int32]
    /// Per tree (in block order), where its leaves start in `leafValues`.
    let leafStarts: [Int32]
    let leafValues: [Double]
    let blockCount: Int
    /// The most trees in one block.
    let widestBlock: Int
    /// The scratch ``accumulate(rows:rowCount:into:scratch:)`` needs: eight bitvectors per tree of a block.
    var scratchCount: Int { widestBlock * 8 }

    /// Whether QuickScorer can express `tree` (numeric splits only, 1...64 leaves).
    static func canExpress(_ tree: TreeEnsembleSpec.Tree) -> Bool {
        var leaves = 0
        for node in tree.nodes {
            switch node {
            case .leaf: leaves += 1
            case .split(_, .lessThan, _, _): continue
            case .split: return false
            }
        }
        return leaves >= 1 && leaves <= 64
    }

    /// One tree's splits with their masks and its leaves in left-to-right order.
    struct CompiledTree {
        var splits: [(feature: Int, threshold: Double, nanLeft: Bool, mask: UInt64)] = []
        var leaves: [Double] = []
    }

    /// Numbers the leaves of a tree the kernel has already validated (no cycles, features in
    /// range, finite leaves) and computes each split's mask.
    static func compile(_ tree: TreeEnsembleSpec.Tree) -> CompiledTree {
        var compiled = CompiledTree()
        // Iterative in-order pass: a split's left subtree covers leaves [first, firstRight).
        enum Step { case visit(Int), finishLeft(Int, firstLeaf: Int) }
        var stack: [Step] = [.visit(0)]
        while let step = stack.popLast() {
            switch step {
            case .visit(let index):
                switch tree.nodes[index] {
                case .leaf(let value):
                    compiled.leaves.append(value)
                case .split(_, _, let left, _):
                    stack.append(.finishLeft(index, firstLeaf: compiled.leaves.count))
                    stack.append(.visit(left))
                }
            case .finishLeft(let index, let firstLeaf):
                guard case .split(let feature, .lessThan(let threshold, let nanLeft), _, let right) = tree.nodes[index] else { continue }
                let count = compiled.leaves.count - firstLeaf
                let leftBits: UInt64 = count == 64 ? ~0 : ((1 << UInt64(count)) - 1) << UInt64(firstLeaf)
                compiled.splits.append((feature, threshold, nanLeft, ~leftBits))
                stack.append(.visit(right))
            }
        }
        return compiled
    }

    init(trees: [TreeEnsembleSpec.Tree], featureCount: Int) {
        self.featureCount = featureCount
        let compiled = trees.map(Self.compile)
        // Blocks of consecutive trees up to the node limit (at least one tree each).
        var blocks: [Range<Int>] = []
        var start = 0
        var nodes = 0
        for (index, tree) in compiled.enumerated() {
            if index > start, nodes + tree.splits.count > Self.blockNodeLimit {
                blocks.append(start..<index)
                start = index
                nodes = 0
            }
            nodes += tree.splits.count
        }
        if start < compiled.count { blocks.append(start..<compiled.count) }

        var thresholds: [Double] = []
        var entries: [Entry] = []
        var runStarts: [Int32] = []
        var nanEntries: [Entry] = []
        var nanRunStarts: [Int32] = []
        var blockTreeStarts: [Int32] = [0]
        var leafStarts: [Int32] = []
        var leafValues: [Double] = []
        for block in blocks {
            var byFeature = [[(threshold: Double, entry: Entry)]](repeating: [], count: featureCount)
            var nanByFeature = [[Int32: UInt64]](repeating: [:], count: featureCount)
            for (local, treeIndex) in block.enumerated() {
                let tree = compiled[treeIndex]
                for split in tree.splits {
                    byFeature[split.feature].append((split.threshold, Entry(mask: split.mask, tree: Int32(local), reserved: 0)))
                    if !split.nanLeft {
                        nanByFeature[split.feature][Int32(local), default: ~0] &= split.mask
                    }
                }
                leafStarts.append(Int32(leafValues.count))
                leafValues += tree.leaves
            }
            for feature in 0..<featureCount {
                runStarts.append(Int32(thresholds.count))
                // Stable order for equal thresholds keeps the layout deterministic.
                for split in byFeature[feature].enumerated().sorted(by: {
                    ($0.element.threshold, $0.offset) < ($1.element.threshold, $1.offset)
                }) {
                    thresholds.append(split.element.threshold)
                    entries.append(split.element.entry)
                }
                thresholds.append(.nan)
                entries.append(Entry(mask: ~0, tree: 0, reserved: 0))
                nanRunStarts.append(Int32(nanEntries.count))
                for (tree, mask) in nanByFeature[feature].sorted(by: { $0.key < $1.key }) {
                    nanEntries.append(Entry(mask: mask, tree: tree, reserved: 0))
                }
            }
            blockTreeStarts.append(Int32(leafStarts.count))
        }
        runStarts.append(Int32(thresholds.count))
        nanRunStarts.append(Int32(nanEntries.count))
        self.thresholds = thresholds
        self.entries = entries
        self.runStarts = runStarts
        self.nanEntries = nanEntries
        self.nanRunStarts = nanRunStarts
        self.blockTreeStarts = blockTreeStarts
        self.leafStarts = leafStarts
        self.leafValues = leafValues
        blockCount = blocks.count
        widestBlock = blocks.map(\.count).max() ?? 0
    }

    /// Adds the trees' leaf values for `rowCount` rows to `scores`; `scratch` holds at least
    /// ``scratchCount`` words.
    /// `vectorised` chooses the eight-row scan (tests compare both on one machine; batches of
    /// a few rows take the one-row scan).
    func accumulate(rows: UnsafePointer<Double>, rowCount: Int, into scores: UnsafeMutablePointer<Double>,
                    scratch: UnsafeMutablePointer<UInt64>, vectorised: Bool = Self.vectorised) {
        guard blockCount > 0 else { return }
        let featureCount = self.featureCount
        thresholds.withUnsafeBufferPointer { thresholds in
        entries.withUnsafeBufferPointer { entries in
        runStarts.withUnsafeBufferPointer { runStarts in
        nanEntries.withUnsafeBufferPointer { nanEntries in
        nanRunStarts.withUnsafeBufferPointer { nanRunStarts in
        blockTreeStarts.withUnsafeBufferPointer { blockTreeStarts in
        leafStarts.withUnsafeBufferPointer { leafStarts in
        leafValues.withUnsafeBufferPointer { leafValues in
            var model = vigil_qs_model(
                feature_count: featureCount, block_count: blockCount, thresholds: thresholds.baseAddress,
                entries: entries.baseAddress, run_starts: runStarts.baseAddress, nan_entries: nanEntries.baseAddress,
                nan_run_starts: nanRunStarts.baseAddress, block_tree_starts: blockTreeStarts.baseAddress,
                leaf_starts: leafStarts.baseAddress, leaf_values: leafValues.baseAddress)
            if vectorised {
                vigil_qs_accumulate_x8(&model, rows, rowCount, scores, scratch)
            } else {
                vigil_qs_accumulate_x1(&model, rows, rowCount, scores, scratch)
            }
        }
        }
        }
        }
        }
        }
        }
        }
    }
}
