// Small-GEMM microkernels (see include/CVigilKernels.h).
//
// Each kernel computes a 6-row × (2 vectors of outputs) tile of y in registers: for every
// input k it loads two vectors of w's row k and broadcasts one x value per row, 12 fused
// multiply-adds per 2 loads + 6 broadcasts; 12 independent accumulators more than cover the
// latency of two FMA pipes (4-row tiles measured about 10 % slower on the bench MLP, near the
// noise). Leftover rows run one at a time, leftover outputs (narrower than two vectors, such
// as a final layer of 1) as dot products of eight rows at a time.
// GNU vector types with a target attribute let one source serve both instruction sets.
//
// The layer's bias starts the accumulators and ReLU is applied as the tile is stored, so a
// layer is one pass over its output instead of two (a Swift loop added the bias and clamped
// after the GEMM). On the bench's MLP (15→64→64→1, float32, batch 1024) this and the vectorised
// single-output layer took Vigil from level with ONNX Runtime to ahead of it
// (bench/README.md, "Model kernels").
#include "CVigilKernels.h"

// ReLU as the Swift pass computed it, max(v, 0) = (0 >= v ? 0 : v): NaN stays NaN.
#define MAX0(v) ((V)((IV)(v) & ~(IV)((v) <= zero)))

#define DEFINE_GEMM(NAME, T, IT, LANES, ATTRIBUTE)                                                    \
    typedef T NAME##_vector __attribute__((vector_size(sizeof(T) * LANES), aligned(sizeof(T))));    \
    typedef IT NAME##_ivector __attribute__((vector_size(sizeof(T) * LANES), aligned(sizeof(T))));  \
    ATTRIBUTE static void NAME(long rows, long inputs, long outputs, const T *x, const T *w, const T *bias, \
                               int relu, T *y) {                                                    \
        typedef NAME##_vector V;                                                                    \
        typedef NAME##_ivector IV;                                                                  \
        const V zero = {0};                                                                         \
        long j = 0;                                                                                 \
        for (; j + 2 * LANES <= outputs; j += 2 * LANES) {                                          \
            long r = 0;                                                                             \
            for (; r + 6 <= rows; r += 6) {                                                         \
                const T *x0 = x + r * inputs, *x1 = x0 + inputs, *x2 = x1 + inputs, *x3 = x2 + inputs; \
                const T *x4 = x3 + inputs, *x5 = x4 + inputs;                                       \
                const V b0 = bias ? *(const V *)(bias + j) : zero;                                  \
                const V b1 = bias ? *(const V *)(bias + j + LANES) : zero;                          \
                V a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1;                       \
                V a30 = b0, a31 = b1, a40 = b0, a41 = b1, a50 = b0, a51 = b1;                       \
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
                if (relu) {                                                                         \
                    a00 = MAX0(a00); a01 = MAX0(a01); a10 = MAX0(a10); a11 = MAX0(a11);             \
                    a20 = MAX0(a20); a21 = MAX0(a21); a30 = MAX0(a30); a31 = MAX0(a31);             \
                    a40 = MAX0(a40); a41 = MAX0(a41); a50 = MAX0(a50); a51 = MAX0(a51);             \
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
                V a0 = bias ? *(const V *)(bias + j) : zero;                                        \
                V a1 = bias ? *(const V *)(bias + j + LANES) : zero;                                \
                for (long k = 0; k < inputs; k++) {                                                 \
                    a0 += x0[k] * *(const V *)(w + k * outputs + j);                                \
                    a1 += x0[k] * *(const V *)(w + k * outputs + j + LANES);                        \
                }                                                                                   \
                if (relu) { a0 = MAX0(a0); a1 = MAX0(a1); }                                         \
                *(V *)(y + r * outputs + j) = a0;                                                   \
                *(V *)(y + r * outputs + j + LANES) = a1;                                           \
            }                                                                                       \
        }                                                                                           \
        /* A single output (a binary classifier's last layer) is a dot product per row with \
           w's contiguous column: vectors along the inputs, four rows at a time. */              \
        if (j == 0 && outputs == 1 && inputs >= LANES) {                                            \
            const long vectorInputs = inputs - inputs % LANES;                                      \
            long r = 0;                                                                             \
            for (; r < rows; r++) {                                                                 \
                const T *x0 = x + r * inputs;                                                       \
                V a0 = zero, a1 = zero;                                                             \
                long k = 0;                                                                         \
                for (; k + 2 * LANES <= vectorInputs; k += 2 * LANES) {                             \
                    a0 += *(const V *)(x0 + k) * *(const V *)(w + k);                               \
                    a1 += *(const V *)(x0 + k + LANES) * *(const V *)(w + k + LANES);               \
                }                                                                                   \
                if (k < vectorInputs) { a0 += *(const V *)(x0 + k) * *(const V *)(w + k); k += LANES; } \
                a0 += a1;                                                                           \
                T sum = bias ? bias[0] : 0;                                                         \
                for (long lane = 0; lane < LANES; lane++) sum += a0[lane];                          \
                for (; k < inputs; k++) sum += x0[k] * w[k];                                        \
                y[r] = relu && 0 >= sum ? 0 : sum;                                                   \
            }                                                                                       \
            return;                                                                                 \
        }                                                                                           \
        /* Other leftover outputs: eight rows at a time, so that eight independent sums are in   \
           flight rather than one chain of dependent multiply-adds. */                            \
        for (long c = j; c < outputs; c++) {                                                        \
            long r = 0;                                                                             \
            for (; r + 8 <= rows; r += 8) {                                                         \
                const T *x0 = x + r * inputs;                                                       \
                const T b = bias ? bias[c] : 0;                                                     \
                T s0 = b, s1 = b, s2 = b, s3 = b, s4 = b, s5 = b, s6 = b, s7 = b;                  \
                for (long k = 0; k < inputs; k++) {                                                 \
                    const T wk = w[k * outputs + c];                                                \
                    s0 += x0[k] * wk; s1 += x0[inputs + k] * wk;                                    \
                    s2 += x0[2 * inputs + k] * wk; s3 += x0[3 * inputs + k] * wk;                   \
                    s4 += x0[4 * inputs + k] * wk; s5 += x0[5 * inputs + k] * wk;                   \
                    s6 += x0[6 * inputs + k] * wk; s7 += x0[7 * inputs + k] * wk;                   \
                }                                                                                   \
                if (relu) {                                                                         \
                    s0 = 0 >= s0 ? 0 : s0; s1 = 0 >= s1 ? 0 : s1; s2 = 0 >= s2 ? 0 : s2; s3 = 0 >= s3 ? 0 : s3; \
                    s4 = 0 >= s4 ? 0 : s4; s5 = 0 >= s5 ? 0 : s5; s6 = 0 >= s6 ? 0 : s6; s7 = 0 >= s7 ? 0 : s7; \
                }                                                                                   \
                T *y0 = y + r * outputs + c;                                                        \
                y0[0] = s0; y0[outputs] = s1; y0[2 * outputs] = s2; y0[3 * outputs] = s3;           \
                y0[4 * outputs] = s4; y0[5 * outputs] = s5; y0[6 * outputs] = s6; y0[7 * outputs] = s7; \
            }                                                                                       \
            for (; r < rows; r++) {                                                                 \
                T sum = bias ? bias[c] : 0;                                                         \
                for (long k = 0; k < inputs; k++) sum += x[r * inputs + k] * w[k * outputs + c];    \
                y[r * outputs + c] = relu && 0 >= sum ? 0 : sum;                                     \
            }                                                                                       \
        }                                                                                           \
    }

#if defined(__x86_64__)
DEFINE_GEMM(gemm_f64_avx512, double, long long, 8, __attribute__((target("avx512f,avx512vl,fma"))))
DEFINE_GEMM(gemm_f32_avx512, float, int, 16, __attribute__((target("avx512f,avx512vl,fma"))))
DEFINE_GEMM(gemm_f64_avx2, double, long long, 4, __attribute__((target("avx2,fma"))))
DEFINE_GEMM(gemm_f32_avx2, float, int, 8, __attribute__((target("avx2,fma"))))
#endif
DEFINE_GEMM(gemm_f64_portable, double, long long, 2, )
DEFINE_GEMM(gemm_f32_portable, float, int, 4, )

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

void vigil_gemm_f64(long rows, long inputs, long outputs, const double *x, const double *w, const double *bias, int relu,
                    double *y) {
    switch (current_isa()) {
#if defined(__x86_64__)
    case isa_avx512: gemm_f64_avx512(rows, inputs, outputs, x, w, bias, relu, y); return;
    case isa_avx2: gemm_f64_avx2(rows, inputs, outputs, x, w, bias, relu, y); return;
#endif
    default: gemm_f64_portable(rows, inputs, outputs, x, w, bias, relu, y); return;
    }
}

void vigil_gemm_f32(long rows, long inputs, long outputs, const float *x, const float *w, const float *bias, int relu,
                    float *y) {
    switch (current_isa()) {
#if defined(__x86_64__)
    case isa_avx512: gemm_f32_avx512(rows, inputs, outputs, x, w, bias, relu, y); return;
    case isa_avx2: gemm_f32_avx2(rows, inputs, outputs, x, w, bias, relu, y); return;
#endif
    default: gemm_f32_portable(rows, inputs, outputs, x, w, bias, relu, y); return;
    }
}

const char *vigil_gemm_isa(void) {
    switch (current_isa()) {
    case isa_avx512: return "avx512";
    case isa_avx2: return "avx2";
    default: return "portable";
    }
}
