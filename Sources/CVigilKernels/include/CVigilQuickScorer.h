#ifndef CVIGIL_QUICKSCORER_H
#define CVIGIL_QUICKSCORER_H
#include <stdint.h>

/// One scanned split of QuickScorer: clear `mask`'s zero bits in tree `tree` of the block.
typedef struct {
    uint64_t mask;
    int32_t tree;
    int32_t reserved;
} vigil_qs_entry;

/// A QuickScorer layout (see VigilModels' QuickScorer.swift, which owns the arrays).
typedef struct {
    long feature_count;
    long block_count;
    const double *thresholds;          // per (block, feature) run, ascending, NaN-terminated
    const vigil_qs_entry *entries;     // beside thresholds
    const int32_t *run_starts;         // block_count * feature_count + 1
    const vigil_qs_entry *nan_entries; // combined masks of NaN-goes-right splits
    const int32_t *nan_run_starts;     // block_count * feature_count + 1
    const int32_t *block_tree_starts;  // block_count + 1
    const int32_t *leaf_starts;        // per tree
    const double *leaf_values;
} vigil_qs_model;

/// Whether vigil_qs_accumulate_x8 can run on this processor (AVX-512F, CD and DQ).
int vigil_qs_x8_available(void);

/// Adds the ensemble's leaf values for `row_count` row-major rows to `scores`, eight rows at a
/// time in AVX-512 lanes. `scratch` holds 8 × the most trees of a block. Call only when
/// vigil_qs_x8_available() returns 1.
void vigil_qs_accumulate_x8(const vigil_qs_model *model, const double *rows, long row_count,
                            double *scores, uint64_t *scratch);

/// The same, a row at a time (any processor); `scratch` holds the most trees of a block.
void vigil_qs_accumulate_x1(const vigil_qs_model *model, const double *rows, long row_count,
                            double *scores, uint64_t *scratch);

#endif
