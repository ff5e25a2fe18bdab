#ifndef CVIGIL_SEARCH_H
#define CVIGIL_SEARCH_H

#include <stddef.h>

#if defined(__has_builtin)
#if __has_builtin(__builtin_unpredictable)
#define VIGIL_UNPREDICTABLE(condition) __builtin_unpredictable(condition)
#endif
#endif
#ifndef VIGIL_UNPREDICTABLE
#define VIGIL_UNPREDICTABLE(condition) (condition)
#endif

/// The first index of non-decreasing `sorted` (`count` values) whose value is not below `value`,
/// or `count` when every value is below it. Nothing compares below a NaN `value`: the answer
/// is then 0, as with Swift's `<`.
///
/// Branch-free: the drift monitor runs it for every feature of every event, over bin edges and
/// a narrowed window of sketch knots, where each step's outcome is a coin toss. Written in
/// Swift, the same select compiled to a conditional jump (LLVM turns a select fed by a compare
/// of a load into a branch, betting that it is predictable), which mispredicted about half of
/// the time; `__builtin_unpredictable` keeps it a conditional move (bench/README, "Where the two
/// cores go at Vigil's limit", cut 1).
static inline __attribute__((always_inline)) ptrdiff_t vigil_lower_bound_f64(const double *sorted, ptrdiff_t count, double value) {
    if (count <= 0) return 0;
    const double *base = sorted;
    ptrdiff_t length = count;
    while (length > 1) {
        ptrdiff_t half = length / 2;
        base = VIGIL_UNPREDICTABLE(base[half] < value) ? base + half : base;
        length -= half;
    }
    return (base - sorted) + (*base < value ? 1 : 0);
}

#endif
