// The blas route: OpenBLAS's ?gemm through the CBLAS interface (Debian's libopenblas-dev).
// C (M,N) = A (M,K) @ B (K,N) in row-major terms: an operand stored column-major is the
// transpose of a row-major matrix, so it is passed as CblasTrans with its column stride as the
// leading dimension.
#include <cblas.h>

#include <algorithm>

#include "tensor/cpu/gemm.h"

namespace ember::gemm_routes {

// BLAS checks leading dimensions strictly (at least the row length), even along a dim of size 1
// whose stride is never used; such strides are replaced by the smallest legal value.
template <typename T>
static CBLAS_TRANSPOSE layout(const GemmOperand<T>& x, int64_t rows, int64_t cols, blasint& leading_dimension) {
  if (x.col_stride == 1) {
    leading_dimension = static_cast<blasint>(rows <= 1 ? std::max<int64_t>(cols, 1) : x.row_stride);
    return CblasNoTrans;
  }
  leading_dimension = static_cast<blasint>(cols <= 1 ? std::max<int64_t>(rows, 1) : x.col_stride);
  return CblasTrans;
}

void blas_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
  blasint lda, ldb;
  CBLAS_TRANSPOSE ta = layout(A, M, K, lda), tb = layout(B, K, N, ldb);
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A.data, lda, B.data, ldb, 0.0f, C, N);
}

void blas_f64(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C) {
  blasint lda, ldb;
  CBLAS_TRANSPOSE ta = layout(A, M, K, lda), tb = layout(B, K, N, ldb);
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, A.data, lda, B.data, ldb, 0.0, C, N);
}

}  // namespace ember::gemm_routes
