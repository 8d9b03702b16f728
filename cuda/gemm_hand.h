// Ember's own GEMM kernels (cuda/gemm_hand.cu), callable on raw device pointers.
//
// matmul (cuda/matmul.cu) calls these for the "hand" backend; a benchmark or a test may call them
// directly. gemm_cublas.h offers the same calls through cuBLAS, with the same arguments.
//
// Argument convention (row-major, like Ember's tensors; the BLAS names for the rest):
//
//   C[z] (M, N) = A[z] (M, K) @ B[z] (K, N)              for every z in [0, batch)
//
//   A[z](m, k) = a[z * stride_a + m * lda + k]    trans_a == false: A stored row-major (M, K)
//              = a[z * stride_a + k * lda + m]    trans_a == true:  A stored as (K, M), e.g. x.mT
//   B[z](k, n) = b[z * stride_b + k * ldb + n]    trans_b == false: B stored row-major (K, N)
//              = b[z * stride_b + n * ldb + k]    trans_b == true:  B stored as (N, K), e.g. x @ W.mT
//   C[z](m, n) = c[z * M * N + m * N + n]         C is always dense
//
// Strides are in elements. stride_a or stride_b 0 uses one matrix for the whole batch. The leading
// dimensions must be at least the length of a stored row (lda >= K, or >= M when transposed; the
// same for ldb), as in BLAS. All pointers live on the current device; the work is queued on
// `stream` and nothing waits for it. K == 0 writes zeros; M, N or batch 0 does nothing.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace ember::cuda {

// The tuned float32 kernel: 128x128 block tiles, 8x8 outputs per thread (see gemm_hand.cu).
void sgemm_hand(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch,
                cudaStream_t stream);

// float64: 16x16 tiles through shared memory; correct for any size, not tuned.
void dgemm_hand(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const double* a, int64_t lda,
                int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t batch,
                cudaStream_t stream);

// The first version: one thread per output element, a plain loop over k. The reference to learn
// from and to test the tuned kernel against.
void sgemm_simple(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                  int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch,
                  cudaStream_t stream);
void dgemm_simple(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const double* a, int64_t lda,
                  int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t batch,
                  cudaStream_t stream);

// Which hand kernel matmul uses with the "hand" backend: Tiled (sgemm_hand / dgemm_hand, the
// default) or Simple (sgemm_simple / dgemm_simple), e.g. for a test or a sweep.
enum class HandKernel { Tiled, Simple };
void set_hand_kernel(HandKernel kernel);
HandKernel hand_kernel();

}  // namespace ember::cuda
