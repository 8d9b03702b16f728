// Single-matrix GEMM on the CPU: C (M,N, row-major) = A (M,K) @ B (K,N).
//
// Three routes, selectable at run time (EMBER_GEMM=packed|blas|eigen, or set_gemm_backend):
//  - packed: Ember's own packed GEMM with an AVX2/FMA micro-kernel (gemm_packed.cpp): the
//            Goto/BLIS loop nest, written to be read. The default for float32: it matches
//            OpenBLAS here (see README) and shares Ember's OpenMP threads. float64 goes to blas
//            (to eigen in a build without OpenBLAS).
//  - blas:   OpenBLAS's sgemm/dgemm through CBLAS (gemm_blas.cpp), hand-tuned assembly per CPU;
//            optional (a build without OpenBLAS has no blas route).
//  - eigen:  Eigen's own blocked GEMM (gemm_eigen.cpp), portable C++ with SIMD packets.
#pragma once
#include <cstdint>

namespace ember {

enum class GemmBackend { Blas, Eigen, Packed };
void set_gemm_backend(GemmBackend backend);
GemmBackend gemm_backend();  // from EMBER_GEMM on first use (default packed)
const char* gemm_backend_name(GemmBackend backend);

// A matrix operand given by its first element and strides (in elements) along rows and columns;
// one of the two strides is 1 (row-major when col_stride == 1, column-major when row_stride == 1).
template <typename T>
struct GemmOperand {
  const T* data;
  int64_t row_stride, col_stride;
};

namespace gemm_routes {
void eigen_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);
void eigen_f64(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C);
void blas_f32(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);
void blas_f64(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C);
}  // namespace gemm_routes

// Products of at most kSmallGemmWork multiply-adds skip the routes: gemm() computes them with a
// plain triple loop (gemm.cpp), faster than any blocked GEMM's set-up at that size.
constexpr int64_t kSmallGemmWork = 16 * 32 * 32;
bool gemm_is_small(int64_t M, int64_t N, int64_t K);

void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C);
void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C);

}  // namespace ember
