// Small-GEMM microkernels (see include/CVigilKernels.h).
//
// Each kernel computes a 6-row × (2 vectors of outputs) tile of y in registers: for every
// input k it loads two vectors of w's row k and broadcasts one x value per row, 12 fused
// multiply-adds per 2 loads + 6 broadcasts; 12 independent accumulators more than cover the
// latency of two FMA pipes (4-row tiles measured about 10 % slower on the bench MLP, near the
// noise). Leftover rows run one at a time, leftover outputs (narrower than two vectors, such
// as a final layer of 1) as dot products of eight rows at a time.
// GNU vector types with a target attribute let one source serve both instruction sets.
#include "CVigilKernels.h"

#define DEFINE_GEMM(NAME, T, LANES, ATTRIBUTE)                                                        \
    typedef T NAME##_vector __attribute__((vector_size(sizeof(T) * LANES), aligned(sizeof(T))));    \
    ATTRIBUTE static void NAME(long rows, long inputs, long outputs, const T *x, const T *w, T *y) { \
        typedef NAME##_vector V;                                                                    \
        long j = 0;                                                                                 \
        for (; j + 2 * LANES <= outputs; j += 2 * LANES) {                                          \
            long r = 0;                                                                             \
            for (; r + 6 <= rows; r += 6) {                                                         \
                const T *x0 = x + r * inputs, *x1 = x0 + inputs, *x2 = x1 + inputs, *x3 = x2 + inputs; \
                const T *x4 = x3 + inputs, *x5 = x4 + inputs;                                       \
                V a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0};                 \
                V a30 = {0}, a31 = {0}, a40 = {0}, a41 = {0}, a50 = {0}, a51 = {0};                 \
                for (long k = 0; k < inputs; k++) {                                                 \
                    V w0 = *(const V *)(w + k * outputs + j);                                       \
                    V w1 = *(const V *)(w + k * outputs + j + LANES);                               \
                    a00 += x0[k] * w0; a01 += x0[k] * w1;                                           \
                    a10 += x1[k] * w0; a11 += x1[k] * w1;                                           \
                    a20 += x2[k] * w0; a21 += x2[k] * w1;                                           \
                    a30 += x3[k] * w0; a31 += x3[k] * w1;                                           \
                    a40 += x4[k] * w0; a41 += x4[k] * w1;                                           \
                    a50 += x5[k] * w0; a51 += x5[k] * w1;                                           \
                }                                                                                   \
                T *y0 = y + r * outputs + j;                                                        \
                *(V *)y0 = a00; *(V *)(y0 + LANES) = a01; y0 += outputs;                            \
                *(V *)y0 = a10; *(V *)(y0 + LANES) = a11; y0 += outputs;                            \
                *(V *)y0 = a20; *(V *)(y0 + LANES) = a21; y0 += outputs;                            \
                *(V *)y0 = a30; *(V *)(y0 + LANES) = a31; y0 += outputs;                            \
                *(V *)y0 = a40; *(V *)(y0 + LANES) = a41; y0 += outputs;                            \
                *(V *)y0 = a50; *(V *)(y0 + LANES) = a51;                                           \
            }                                                                                       \
            for (; r < rows; r++) {                                                                 \
                const T *x0 = x + r * inputs;                                                       \
                V a0 = {0}, a1 = {0};                                                               \
                for (long k = 0; k < inputs; k++) {                                                 \
                    a0 += x0[k] * *(const V *)(w + k * outputs + j);                                \
                    a1 += x0[k] * *(const V *)(w + k * outputs + j + LANES);                        \
                }                                                                                   \
                *(V *)(y + r * outputs + j) = a0;                                                   \
                *(V *)(y + r * outputs + j + LANES) = a1;                                           \
            }                                                                                       \
        }                                                                                           \
        /* Leftover outputs: eight rows at a time, so that eight independent sums are in flight \
           rather than one chain of dependent multiply-adds. */                                   \
        for (long c = j; c < outputs; c++) {                                                        \
            long r = 0;                                                                             \
            for (; r + 8 <= rows; r += 8) {                                                         \
                const T *x0 = x + r * inputs;                                                       \
                T s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;                  \
                for (long k = 0; k < inputs; k++) {                                                 \
                    const T wk = w[k * outputs + c];                                                \
                    s0 += x0[k] * wk; s1 += x0[inputs + k] * wk;                                    \
                    s2 += x0[2 * inputs + k] * wk; s3 += x0[3 * inputs + k] * wk;                   \
                    s4 += x0[4 * inputs + k] * wk; s5 += x0[5 * inputs + k] * wk;                   \
                    s6 += x0[6 * inputs + k] * wk; s7 += x0[7 * inputs + k] * wk;                   \
                }                                                                                   \
                T *y0 = y + r * outputs + c;                                                        \
                y0[0] = s0; y0[outputs] = s1; y0[2 * outputs] = s2; y0[3 * outputs] = s3;           \
                y0[4 * outputs] = s4; y0[5 * outputs] = s5; y0[6 * outputs] = s6; y0[7 * outputs] = s7; \
            }                                                                                       \
            for (; r < rows; r++) {                                                                 \
                T sum = 0;                                                                          \
                for (long k = 0; k < inputs; k++) sum += x[r * inputs + k] * w[k * outputs + c];    \
                y[r * outputs + c] = sum;                                                           \
            }                                                                                       \
        }                                                                                           \
    }

#if defined(__x86_64__)
DEFINE_GEMM(gemm_f64_avx512, double, 8, __attribute__((target("avx512f,avx512vl,fma"))))
DEFINE_GEMM(gemm_f32_avx512, float, 16, __attribute__((target("avx512f,avx512vl,fma"))))
DEFINE_GEMM(gemm_f64_avx2, double, 4, __attribute__((target("avx2,fma"))))
DEFINE_GEMM(gemm_f32_avx2, float, 8, __attribute__((target("avx2,fma"))))
#endif
DEFINE_GEMM(gemm_f64_portable, double, 2, )
DEFINE_GEMM(gemm_f32_portable, float, 4, )

enum isa { isa_unknown, isa_portable, isa_avx2, isa_avx512 };
static enum isa detected = isa_unknown;

static enum isa current_isa(void) {
    // A benign race: every thread computes the same answer.
    enum isa found = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (found != isa_unknown) return found;
    found = isa_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) found = isa_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) found = isa_avx2;
#endif
    __atomic_store_n(&detected, found, __ATOMIC_RELAXED);
    return found;
}

void vigil_gemm_f64(long rows, long inputs, long outputs, const double *x, const double *w, double *y) {
    switch (current_isa()) {
#if defined(__x86_64__)
    case isa_avx512: gemm_f64_avx512(rows, inputs, outputs, x, w, y); return;
    case isa_avx2: gemm_f64_avx2(rows, inputs, outputs, x, w, y); return;
#endif
    default: gemm_f64_portable(rows, inputs, outputs, x, w, y); return;
    }
}

void vigil_gemm_f32(long rows, long inputs, long outputs, const float *x, const float *w, float *y) {
    switch (current_isa()) {
#if defined(__x86_64__)
    case isa_avx512: gemm_f32_avx512(rows, inputs, outputs, x, w, y); return;
    case isa_avx2: gemm_f32_avx2(rows, inputs, outputs, x, w, y); return;
#endif
    default: gemm_f32_portable(rows, inputs, outputs, x, w, y); return;
    }
}

const char *vigil_gemm_isa(void) {
    switch (current_isa()) {
    case isa_avx512: return "avx512";
    case isa_avx2: return "avx2";
    default: return "portable";
    }
}
