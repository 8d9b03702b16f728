// The same GEMM calls as gemm_hand.h, done by cuBLAS (cuda/gemm_cublas.cu): the yardstick the hand
// kernels are measured against, and the "cublas" GEMM backend of matmul.
//
// Arguments exactly as in gemm_hand.h (row-major, trans flags and leading dimensions, batch strides,
// stride 0 to broadcast, dense C (batch, M, N), device pointers on the current device, queued on
// `stream`). FP32 runs in cuBLAS's default math mode: no TF32, no tensor cores, the same arithmetic as
// the hand kernel. Errors name the cuBLAS status, e.g.
//   cuda/gemm_cublas.cu:97: cublasSgemmStridedBatched failed: CUBLAS_STATUS_INVALID_VALUE (...)
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace ember::cuda {

void sgemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                  int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch,
                  cudaStream_t stream);
void dgemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const double* a, int64_t lda,
                  int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t batch,
                  cudaStream_t stream);

}  // namespace ember::cuda
