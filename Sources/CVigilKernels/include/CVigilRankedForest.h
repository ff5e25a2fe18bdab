#ifndef CVIGIL_RANKED_FOREST_H
#define CVIGIL_RANKED_FOREST_H
#include <stdint.h>

/// The most leaves (and so internal nodes + 1) of a tree the ranked scan takes: one 32-lane
/// vector of 16-bit node fields per tree, one 32-bit leaf mask per node.
#define VIGIL_RF_TREE_LANES 32
/// The most features: a row's ranks sit in two 32-lane vectors.
#define VIGIL_RF_MAX_FEATURES 64
/// The rank of a missing (NaN) value; real ranks and node ranks stay below it.
#define VIGIL_RF_NAN_RANK 32767

/// One tree of a ranked forest: four cache lines, 64-byte aligned.
typedef struct {
    int16_t features[VIGIL_RF_TREE_LANES];  // each node's feature (padding 0)
    int16_t ranks[VIGIL_RF_TREE_LANES];     // goes right when the row's rank > this (padding VIGIL_RF_NAN_RANK)
    uint32_t masks[VIGIL_RF_TREE_LANES];    // the leaves left when the node goes right (padding ~0)
} vigil_rf_tree;

/// A ranked forest (see VigilModels' RankedForest.swift, which owns the arrays). Each split
/// "x < t" is stored as the rank k of t among its feature's distinct thresholds (`cuts`, in
/// ascending order): with r(x) the number of cuts <= x, x < t exactly when r(x) <= k, so a
/// row's values are ranked once and every split is a 16-bit integer comparison.
typedef struct {
    long feature_count;                // 1 ... VIGIL_RF_MAX_FEATURES
    long block_count;
    const vigil_rf_tree *trees;        // 64-byte aligned
    const uint32_t *nan_left;          // per tree: a bit per node whose NaN goes left
    const int32_t *leaf_starts;        // per tree
    const double *leaf_values;         // per tree, left to right
    const int32_t *block_tree_starts;  // block_count + 1: trees summed together (QuickScorer's blocks)
    const double *cuts;                // per feature, ascending distinct thresholds
    const int32_t *cut_starts;         // feature_count + 1
} vigil_rf_model;

/// Whether vigil_rf_accumulate can run on this processor (AVX-512F and BW).
int vigil_rf_available(void);

/// Adds the forest's leaf values for `row_count` row-major rows to `scores`, in the order
/// QuickScorer adds them (per block, four partial sums with the trees taken in turn, then
/// (0 + 1) + (2 + 3)), so that a row's score is the same bits on either path. Call only when
/// vigil_rf_available() returns 1.
void vigil_rf_accumulate(const vigil_rf_model *model, const double *rows, long row_count, double *scores);

#endif
