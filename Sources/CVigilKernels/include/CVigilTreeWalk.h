#ifndef CVIGIL_TREE_WALK_H
#define CVIGIL_TREE_WALK_H
#include <stdint.h>

/// A node of a flattened tree (see VigilModels' TreeEnsembleKernel.swift, which lays them out):
/// go to `first_child` when x < threshold (or x is NaN and bit 0 of the flags is set), else to
/// `first_child + 1`. Leaves point to themselves through the right child.
typedef struct {
    double threshold;
    int32_t first_child;
    /// Feature index << 3 | flags (1: NaN goes left, 2: zero-as-missing, 4: categorical).
    uint32_t feature_and_flags;
} vigil_tree_node;

/// Where a tree starts in the node array and how many steps reach all its leaves.
typedef struct {
    int32_t root;
    int32_t depth;
} vigil_tree_entry;

/// The most rows vigil_tree_sum_small takes.
#define VIGIL_TREE_SMALL_ROWS 16

/// For each of `row_count` (1...VIGIL_TREE_SMALL_ROWS) row-major rows, the sum of the leaf
/// values of `tree_count` trees, added in the order the batch kernels add them in, so that a
/// score does not depend on the batch size: with `partial_sums` 1, in tree order from 0 (the
/// walk); with 4, as QuickScorer adds a block (four partial sums, trees taken in turn, then
/// (0 + 1) + (2 + 3)). Trees are walked several at a time, so that a few rows still give the
/// processor 16 independent walks. Plain numeric nodes only (no zero-as-missing or categorical
/// flags).
void vigil_tree_sum_small(const vigil_tree_node *nodes, const double *leaf_values, const vigil_tree_entry *trees,
                          long tree_count, const double *rows, long row_count, long feature_count, int partial_sums,
                          double *sums);

#endif
