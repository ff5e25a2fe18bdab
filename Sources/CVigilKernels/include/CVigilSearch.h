#ifndef CVIGIL_SEARCH_H
#define CVIGIL_SEARCH_H

/// The first index of non-decreasing `sorted` (`count` values) whose value is not below `value`,
/// or `count` when every value is below it. Nothing compares below a NaN `value`: the answer
/// is then 0, as with Swift's `<`.
///
/// Branch-free: the drift monitor runs it for every feature of every event, over bin edges and
/// a narrowed window of sketch knots, where the outcome of each step is a coin toss. Written in
/// Swift, the same select compiles to a conditional jump (LLVM turns a select fed by a compare
/// of a load into a branch, betting that it is predictable), which mispredicted on about half
/// of the steps: 35-40 % of `DriftWindow.add`'s samples were on the two search loops' jumps
/// (StageBench, perf annotate, 2026-12-06). `__builtin_unpredictable` keeps it a cmov.
static inline __attribute__((always_inline)) long vigil_lower_bound_f64(const double *sorted, long count, double value) {
    if (count <= 0) return 0;
    const double *base = sorted;
    long length = count;
    while (length > 1) {
        long half = length / 2;
        base = __builtin_unpredictable(base[half] < value) ? base + half : base;
        length -= half;
    }
    return (long)(base - sorted) + (*base < value ? 1 : 0);
}

#endif
