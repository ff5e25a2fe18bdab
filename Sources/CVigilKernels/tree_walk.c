// Tree walks for a few rows at a time (live traffic at low rates makes batches of 1-16 events).
//
// A walk is a chain of dependent loads (node, then the row's value, then the next node), about
// a dozen cycles a step: one row walking one tree at a time leaves the processor idle most of
// the time. Here a group of trees is walked together, each step advancing every (tree, row)
// pair of the group, so that rows × trees ≈ 16 walks are in flight at once; the steps are
// branch-free (which way a split goes is a coin toss the predictor loses). Leaf values are
// then added per row in tree order, as the batch kernels add them.
#include "CVigilTreeWalk.h"

#define CHAINS 16

void vigil_tree_sum_small(const vigil_tree_node *nodes, const double *leaf_values, const vigil_tree_entry *trees,
                          long tree_count, const double *rows, long row_count, long feature_count, int partial_sums,
                          double *sums) {
    // Up to four partial sums per row (trees taken in turn), combined as (0 + 1) + (2 + 3).
    double partial[4][VIGIL_TREE_SMALL_ROWS];
    const int ways = partial_sums == 4 ? 4 : 1;
    for (int way = 0; way < ways; way++)
        for (long row = 0; row < row_count; row++) partial[way][row] = 0.0;
    const long group = row_count >= CHAINS ? 1 : CHAINS / row_count;
    int32_t position[CHAINS];
    for (long first = 0; first < tree_count; first += group) {
        const long members = tree_count - first < group ? tree_count - first : group;
        int32_t depth = 0;
        for (long member = 0; member < members; member++) {
            const vigil_tree_entry tree = trees[first + member];
            if (tree.depth > depth) depth = tree.depth;
            for (long row = 0; row < row_count; row++) position[member * row_count + row] = tree.root;
        }
        for (int32_t step = 0; step < depth; step++) {
            long chain = 0;
            for (long member = 0; member < members; member++) {
                const double *row_values = rows;
                for (long row = 0; row < row_count; row++, chain++, row_values += feature_count) {
                    const vigil_tree_node node = nodes[position[chain]];
                    const double x = row_values[node.feature_and_flags >> 3];
                    const uint32_t left = (uint32_t)(x < node.threshold) | ((uint32_t)(x != x) & node.feature_and_flags);
                    position[chain] = node.first_child + (int32_t)((left & 1) ^ 1);
                }
            }
        }
        for (long member = 0; member < members; member++) {
            double *sum = partial[(first + member) & (ways - 1)];
            for (long row = 0; row < row_count; row++) sum[row] += leaf_values[position[member * row_count + row]];
        }
    }
    for (long row = 0; row < row_count; row++) {
        sums[row] = ways == 4 ? (partial[0][row] + partial[1][row]) + (partial[2][row] + partial[3][row]) : partial[0][row];
    }
}
