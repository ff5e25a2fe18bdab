// Trees of at most 32 leaves scored a whole tree per step, for batches of a few rows (live
// traffic at low rates), where a walk is a chain of dependent loads and unpredictable branches
// per level and QuickScorer's eight-row scan idles most of its lanes.
//
// A row's values are first ranked against each feature's distinct thresholds (a branch-free
// binary search per feature), so that every split becomes a 16-bit integer comparison with
// the rank of its threshold. A tree's (up to 31) internal nodes then sit in one 32-lane vector
// of feature indices and one of threshold ranks: one permute fetches the row's rank for every
// node, one comparison gives every node's direction, and the exit leaf is QuickScorer's — the
// lowest leaf left after AND-ing the masks of the nodes that go right. No step depends on
// another tree, so the processor overlaps trees freely, and no branch depends on the data.
#include "CVigilRankedForest.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define RF_TARGET __attribute__((target("avx512f,avx512bw")))

int vigil_rf_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

// The number of cuts at or below x (branch-free upper bound), or VIGIL_RF_NAN_RANK for NaN.
static inline int16_t rank_of(const double *cuts, long count, double x) {
    if (x != x) return VIGIL_RF_NAN_RANK;
    if (count == 0) return 0;
    const double *base = cuts;
    long n = count;
    while (n > 1) {
        const long half = n >> 1;
        base = base[half] <= x ? base + half : base;
        n -= half;
    }
    return (int16_t)((base - cuts) + (*base <= x));
}

RF_TARGET static inline void rank_row(const vigil_rf_model *model, const double *values, __m512i *low, __m512i *high) {
    int16_t ranks[VIGIL_RF_MAX_FEATURES] __attribute__((aligned(64))) = {0};
    for (long feature = 0; feature < model->feature_count; feature++) {
        const long first = model->cut_starts[feature];
        ranks[feature] = rank_of(model->cuts + first, model->cut_starts[feature + 1] - first, values[feature]);
    }
    *low = _mm512_load_si512(ranks);
    *high = _mm512_load_si512(ranks + 32);
}

// The leaf `tree` sends a row with ranks (low, high) to, as an offset in the tree's leaves.
RF_TARGET __attribute__((always_inline)) static inline int exit_leaf(const vigil_rf_tree *tree, uint32_t nan_left,
                                                                     __m512i low, __m512i high, const int wide,
                                                                     const int missing) {
    // Up to 32 features the ranks sit in one vector (one-source permute, cheaper on AMD).
    const __m512i rank = wide ? _mm512_permutex2var_epi16(low, _mm512_load_si512(tree->features), high)
                              : _mm512_permutexvar_epi16(_mm512_load_si512(tree->features), low);
    // A missing value's rank is above every node's: it goes right unless the node sends NaN left.
    const __mmask32 above = _mm512_cmpgt_epi16_mask(rank, _mm512_load_si512(tree->ranks));
    const __mmask32 right = missing ? above & ~_mm512_mask_cmpeq_epi16_mask(nan_left, rank, _mm512_set1_epi16(VIGIL_RF_NAN_RANK))
                                    : above;
    const __m512i ones = _mm512_set1_epi32(-1);
    const __m512i kept = _mm512_and_si512(_mm512_mask_mov_epi32(ones, (__mmask16)right, _mm512_load_si512(tree->masks)),
                                          _mm512_mask_mov_epi32(ones, (__mmask16)(right >> 16), _mm512_load_si512(tree->masks + 16)));
    const __m256i half = _mm256_and_si256(_mm512_castsi512_si256(kept), _mm512_extracti64x4_epi64(kept, 1));
    __m128i quarter = _mm_and_si128(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
    quarter = _mm_and_si128(quarter, _mm_shuffle_epi32(quarter, 0x4e));
    quarter = _mm_and_si128(quarter, _mm_shuffle_epi32(quarter, 0xb1));
    return __builtin_ctz((uint32_t)_mm_cvtsi128_si32(quarter));
}

// `row_count` ranked rows (1...4, a constant after inlining, as are `wide` and `missing`:
// whether any of the rows has a NaN) against every tree. Trees go four at a time, one to each
// partial sum, so that the sums stay in registers.
RF_TARGET __attribute__((always_inline)) static inline void scan_rows(const vigil_rf_model *model, const __m512i *low,
                                                                      const __m512i *high, double *scores, const int row_count,
                                                                      const int wide, const int missing) {
    for (long block = 0; block < model->block_count; block++) {
        const long first_tree = model->block_tree_starts[block];
        const long tree_count = model->block_tree_starts[block + 1] - first_tree;
        double partial[4][4] = {{0.0}};
        long local = 0;
        for (; local + 4 <= tree_count; local += 4) {
            for (int way = 0; way < 4; way++) {
                const long tree = first_tree + local + way;
                const double *leaves = model->leaf_values + model->leaf_starts[tree];
                for (int row = 0; row < row_count; row++) {
                    partial[row][way] += leaves[exit_leaf(model->trees + tree, model->nan_left[tree], low[row], high[row], wide, missing)];
                }
            }
        }
        for (int way = 0; local + way < tree_count; way++) {
            const long tree = first_tree + local + way;
            const double *leaves = model->leaf_values + model->leaf_starts[tree];
            for (int row = 0; row < row_count; row++) {
                partial[row][way] += leaves[exit_leaf(model->trees + tree, model->nan_left[tree], low[row], high[row], wide, missing)];
            }
        }
        for (int row = 0; row < row_count; row++) {
            scores[row] += (partial[row][0] + partial[row][1]) + (partial[row][2] + partial[row][3]);
        }
    }
}

// Ranks `row_count` rows and scans them; most rows have no NaN and skip the NaN test.
RF_TARGET __attribute__((always_inline)) static inline void accumulate_rows(const vigil_rf_model *model, const double *rows,
                                                                            double *scores, const int row_count, const int wide) {
    const long features = model->feature_count;
    __m512i low[4], high[4];
    __mmask32 missing = 0;
    const __m512i nan_rank = _mm512_set1_epi16(VIGIL_RF_NAN_RANK);
    for (int row = 0; row < row_count; row++) {
        rank_row(model, rows + row * features, &low[row], &high[row]);
        missing |= _mm512_cmpeq_epi16_mask(low[row], nan_rank) | _mm512_cmpeq_epi16_mask(high[row], nan_rank);
    }
    if (missing) {
        scan_rows(model, low, high, scores, row_count, wide, 1);
    } else {
        scan_rows(model, low, high, scores, row_count, wide, 0);
    }
}

// Rows four at a time, then the rest; `wide` (a constant after inlining) when the ranks need two vectors.
RF_TARGET __attribute__((always_inline)) static inline void accumulate(const vigil_rf_model *model, const double *rows,
                                                                       long row_count, double *scores, const int wide) {
    const long features = model->feature_count;
    long start = 0;
    for (; start + 4 <= row_count; start += 4) accumulate_rows(model, rows + start * features, scores + start, 4, wide);
    switch (row_count - start) {
    case 3: accumulate_rows(model, rows + start * features, scores + start, 3, wide); break;
    case 2: accumulate_rows(model, rows + start * features, scores + start, 2, wide); break;
    case 1: accumulate_rows(model, rows + start * features, scores + start, 1, wide); break;
    default: break;
    }
}

RF_TARGET void vigil_rf_accumulate(const vigil_rf_model *model, const double *rows, long row_count, double *scores) {
    if (model->feature_count > 32) {
        accumulate(model, rows, row_count, scores, 1);
    } else {
        accumulate(model, rows, row_count, scores, 0);
    }
}

#else

int vigil_rf_available(void) { return 0; }

void vigil_rf_accumulate(const vigil_rf_model *model, const double *rows, long row_count, double *scores) {
    (void)model; (void)rows; (void)row_count; (void)scores;
}

#endif
