// QuickScorer over eight rows at once (vectorised QuickScorer, Lucchese et al. 2016): the eight
// rows' values of a feature sit in one AVX-512 register, each split's threshold is compared
// with all eight, and the split's mask clears leaves only in the lanes whose row is at or above
// the threshold. A feature's scan stops when no lane is. Each tree keeps eight bitvectors side
// by side, so clearing is one masked AND of a 64-byte line, and the exit leaves of eight rows
// are found (lowest set bit via AVX-512 CD's leading-zero count) and gathered together.
#include "CVigilQuickScorer.h"

// One row at a time, for batches too small to fill the eight lanes (the same layout and the
// same order of additions as vigil_qs_accumulate_x8, so that a score does not depend on the
// batch size). Portable C.
void vigil_qs_accumulate_x1(const vigil_qs_model *model, const double *rows, long row_count,
                            double *scores, uint64_t *scratch) {
    const long features = model->feature_count;
    for (long block = 0; block < model->block_count; block++) {
        const long first_tree = model->block_tree_starts[block];
        const long tree_count = model->block_tree_starts[block + 1] - first_tree;
        const int32_t *runs = model->run_starts + block * features;
        const int32_t *nan_runs = model->nan_run_starts + block * features;
        for (long row = 0; row < row_count; row++) {
            const double *values = rows + row * features;
            for (long tree = 0; tree < tree_count; tree++) scratch[tree] = ~(uint64_t)0;
            for (long feature = 0; feature < features; feature++) {
                const double x = values[feature];
                if (x != x) {
                    for (long index = nan_runs[feature]; index < nan_runs[feature + 1]; index++) {
                        const vigil_qs_entry entry = model->nan_entries[index];
                        scratch[entry.tree] &= entry.mask;
                    }
                    continue;
                }
                // The run ends in a NaN threshold, which stops every scan.
                const double *threshold = model->thresholds + runs[feature];
                const vigil_qs_entry *entry = model->entries + runs[feature];
                while (*threshold <= x) {
                    scratch[entry->tree] &= entry->mask;
                    threshold++;
                    entry++;
                }
            }
            // Four partial sums, trees taken in turn (the order every path adds a block in).
            double partial[4] = {0.0, 0.0, 0.0, 0.0};
            const int32_t *leaf_starts = model->leaf_starts + first_tree;
            for (long tree = 0; tree < tree_count; tree++) {
                partial[tree & 3] += model->leaf_values[leaf_starts[tree] + __builtin_ctzll(scratch[tree])];
            }
            scores[row] += (partial[0] + partial[1]) + (partial[2] + partial[3]);
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define QS_TARGET __attribute__((target("avx512f,avx512cd,avx512dq")))

int vigil_qs_x8_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512dq");
}

QS_TARGET void vigil_qs_accumulate_x8(const vigil_qs_model *model, const double *rows, long row_count,
                                      double *scores, uint64_t *scratch) {
    const long features = model->feature_count;
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i stride = _mm512_mullo_epi64(lane, _mm512_set1_epi64(features));
    for (long block = 0; block < model->block_count; block++) {
        const long first_tree = model->block_tree_starts[block];
        const long tree_count = model->block_tree_starts[block + 1] - first_tree;
        const int32_t *runs = model->run_starts + block * features;
        const int32_t *nan_runs = model->nan_run_starts + block * features;
        for (long start = 0; start < row_count; start += 8) {
            const long count = row_count - start < 8 ? row_count - start : 8;
            const __mmask8 active = (__mmask8)((1u << count) - 1);
            const double *base = rows + start * features;
            const __m512i ones = _mm512_set1_epi64(-1);
            for (long tree = 0; tree < tree_count; tree++) _mm512_storeu_si512(scratch + tree * 8, ones);
            for (long feature = 0; feature < features; feature++) {
                const __m512d x = _mm512_mask_i64gather_pd(_mm512_set1_pd(__builtin_nan("")), active, stride,
                                                           base + feature, 8);
                const __mmask8 missing = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q) & active;
                if (missing) {
                    for (long index = nan_runs[feature]; index < nan_runs[feature + 1]; index++) {
                        const vigil_qs_entry entry = model->nan_entries[index];
                        uint64_t *bits = scratch + (long)entry.tree * 8;
                        __m512i value = _mm512_loadu_si512(bits);
                        value = _mm512_mask_and_epi64(value, missing, value, _mm512_set1_epi64((long long)entry.mask));
                        _mm512_storeu_si512(bits, value);
                    }
                }
                // The run ends in a NaN threshold, which no lane is at or above.
                const double *thresholds = model->thresholds + runs[feature];
                const vigil_qs_entry *entries = model->entries + runs[feature];
                for (;;) {
                    const __mmask8 above = _mm512_cmp_pd_mask(_mm512_set1_pd(*thresholds), x, _CMP_LE_OQ);
                    if (!above) break;
                    uint64_t *bits = scratch + (long)entries->tree * 8;
                    __m512i value = _mm512_loadu_si512(bits);
                    value = _mm512_mask_and_epi64(value, above, value, _mm512_set1_epi64((long long)entries->mask));
                    _mm512_storeu_si512(bits, value);
                    thresholds++;
                    entries++;
                }
            }
            // Four partial sums, trees taken in turn (the order every path adds a block in).
            __m512d partial[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
            const __m512i sixty_three = _mm512_set1_epi64(63);
            for (long tree = 0; tree < tree_count; tree++) {
                const __m512i value = _mm512_loadu_si512(scratch + tree * 8);
                const __m512i lowest = _mm512_and_si512(value, _mm512_sub_epi64(_mm512_setzero_si512(), value));
                const __m512i leaf = _mm512_sub_epi64(sixty_three, _mm512_lzcnt_epi64(lowest));
                const __m512i index = _mm512_add_epi64(leaf, _mm512_set1_epi64(model->leaf_starts[first_tree + tree]));
                partial[tree & 3] = _mm512_add_pd(partial[tree & 3], _mm512_i64gather_pd(index, model->leaf_values, 8));
            }
            const __m512d sum = _mm512_add_pd(_mm512_add_pd(partial[0], partial[1]), _mm512_add_pd(partial[2], partial[3]));
            double *out = scores + start;
            _mm512_mask_storeu_pd(out, active, _mm512_add_pd(_mm512_maskz_loadu_pd(active, out), sum));
        }
    }
}

#else

int vigil_qs_x8_available(void) { return 0; }

void vigil_qs_accumulate_x8(const vigil_qs_model *model, const double *rows, long row_count,
                            double *scores, uint64_t *scratch) {
    (void)model; (void)rows; (void)row_count; (void)scores; (void)scratch;
}

#endif
