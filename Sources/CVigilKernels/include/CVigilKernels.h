#ifndef CVIGIL_KERNELS_H
#define CVIGIL_KERNELS_H

#include "CVigilQuickScorer.h"
#include "CVigilTreeWalk.h"
#include "CVigilRankedForest.h"
#include "CVigilPrefetch.h"
#include "CVigilSearch.h"

/// y = x · w + bias for row-major x (rows × inputs), w (inputs × outputs) and y (rows × outputs),
/// clamped at 0 when `relu` is 1; `bias` may be NULL (no bias).
///
/// Small-GEMM microkernels for narrow dense layers, compiled for AVX-512 and AVX2+FMA and
/// chosen at run time by the processor's features (portable C otherwise), so that they do not
/// depend on which kernels the system's BLAS picks for this processor.
void vigil_gemm_f64(long rows, long inputs, long outputs, const double *x, const double *w, const double *bias, int relu,
                    double *y);
void vigil_gemm_f32(long rows, long inputs, long outputs, const float *x, const float *w, const float *bias, int relu,
                    float *y);

/// The instruction set the microkernels run on: "avx512", "avx2" or "portable".
const char *vigil_gemm_isa(void);

#endif
