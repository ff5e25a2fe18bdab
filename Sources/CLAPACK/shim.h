// LAPACK as OpenBLAS exports it. Debian's libopenblas has the Fortran symbols (dsyev_,
// dsyevd_, dsyevr_, ...) but no LAPACKE and no C header for them, so the one routine Vigil
// calls is declared here (Fortran calling convention: every argument by reference, the hidden
// lengths of the character arguments last).
#ifndef VIGIL_CLAPACK_SHIM_H
#define VIGIL_CLAPACK_SHIM_H
#include <stddef.h>

/// Eigenvalues (ascending) and, with jobz 'V', orthonormal eigenvectors (in a's columns) of a
/// real symmetric n x n matrix in column-major order.
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t jobz_length, size_t uplo_length);

#endif
