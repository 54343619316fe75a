// LAPACK and BLAS through their Fortran interfaces (Debian liblapack-dev; OpenBLAS serves the
// same symbols when installed as the alternative). Only what the FID needs: the symmetric
// eigendecomposition, the symmetric rank-k update (covariances) and matrix products.
#ifndef I2I_LAPACK_SHIM_H
#define I2I_LAPACK_SHIM_H

void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc);
void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
            const double *beta, double *c, const int *ldc);

#endif
