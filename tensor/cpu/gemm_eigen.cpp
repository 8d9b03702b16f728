// The eigen route: Eigen's own blocked GEMM (portable C++ with SIMD packets), the readable
// reference among the routes. Eigen is never built with EIGEN_USE_BLAS here: the blas route calls
// OpenBLAS directly (gemm_blas.cpp), so no Eigen template is compiled two different ways.
#include <Eigen/Core>

#include "tensor/cpu/gemm.h"

namespace ember::gemm_routes {

template <typename T>
static void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<T> A, GemmOperand<T> B, T* C) {
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<RowMajor> c(C, M, N);
  auto times_b = [&](const auto& a) {
    if (B.col_stride == 1)
      c.noalias() = a * Eigen::Map<const RowMajor, 0, Stride>(B.data, K, N, Stride(B.row_stride));
    else
      c.noalias() = a * Eigen::Map<const ColMajor, 0, Stride>(B.data, K, N, Stride(B.col_stride));
  };
  if (A.col_stride == 1)
    times_b(Eigen::Map<const RowMajor, 0, Stride>(A.data, M, K, Stride(A.row_stride)));
  else
    times_b(Eigen::Map<const ColMajor, 0, Stride>(A.data, M, K, Stride(A.col_stride)));
}

void eigen_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
  gemm<float>(M, N, K, A, B, C);
}
void eigen_f64(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C) {
  gemm<double>(M, N, K, A, B, C);
}

}  // namespace ember::gemm_routes
