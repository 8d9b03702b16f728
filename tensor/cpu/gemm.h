// Single-matrix GEMM on the CPU: C (M,N, row-major) = A (M,K) @ B (K,N).
//
// Three routes, selectable at run time (EMBER_GEMM=blas|eigen|packed, or set_gemm_backend):
//  - blas:  Eigen's product compiled with EIGEN_USE_BLAS, so large products call OpenBLAS's sgemm
//           (hand-tuned assembly per CPU). The default: it is the fastest here, see README.
//  - eigen: Eigen's own blocked GEMM (portable C++ with SIMD packets), kept as the readable
//           reference and for builds without a tuned BLAS.
//  - packed: Ember's own packed GEMM with an AVX2/FMA micro-kernel (gemm_packed.cpp), written to be
//           read: the Goto/BLIS loop nest in ~200 lines. float32 only; float64 uses the eigen route.
// blas and eigen come from the same source file, gemm_route.cpp, compiled twice.
#pragma once
#include <cstdint>

namespace ember {

enum class GemmBackend { Blas, Eigen, Packed };
void set_gemm_backend(GemmBackend backend);
GemmBackend gemm_backend();  // from EMBER_GEMM on first use (default blas)
const char* gemm_backend_name(GemmBackend backend);

// A matrix operand given by its first element and strides (in elements) along rows and columns;
// one of the two strides is 1 (row-major when col_stride == 1, column-major when row_stride == 1).
template <typename T> struct GemmOperand {
  const T* data;
  int64_t row_stride, col_stride;
};

namespace gemm_routes {
void eigen_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);
void eigen_f64(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C);
void blas_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);
void blas_f64(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C);
}  // namespace gemm_routes

void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);
void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C);

}  // namespace ember
