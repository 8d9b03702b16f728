// GEMM through cuBLAS: the "cublas" backend of matmul and the yardstick for the hand kernels.
//
// cuBLAS thinks in column-major matrices; Ember's are row-major. The bridge is one identity:
// a row-major (M,N) matrix C, read column-major with leading dimension N, is C^T (N,M), and
//
//     C^T = B^T A^T      (N,M) = (N,K) @ (K,M)
//
// so cuBLAS is asked for m = N, n = M, k = K with B as its first operand and A as its second.
// Each operand, read column-major, is either already the matrix cuBLAS needs or its transpose:
//   B row-major (K,N), ldb:      column-major it is (N,K) = B^T      -> CUBLAS_OP_N
//   B stored (N,K) (trans_b):    column-major it is (K,N) = B        -> CUBLAS_OP_T
//   A row-major (M,K), lda:      column-major it is (K,M) = A^T      -> CUBLAS_OP_N
//   A stored (K,M) (trans_a):    column-major it is (M,K) = A        -> CUBLAS_OP_T
// The batch goes to cublas?gemmStridedBatched with the batch strides as they are (0 broadcasts one
// matrix over the batch) and C's stride M*N.
//
// One cuBLAS handle per device, made on first use and bound to the stream it is called with (Ember's
// one stream per device, from matmul), in the default math mode: FP32 without TF32.
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda/check.h"
#include "cuda/gemm_cublas.h"
#include "tensor/error.h"

namespace ember::cuda {

[[noreturn]] static void throw_cublas_error(cublasStatus_t status, const char* what, const char* file, int line) {
  throw Error(std::string(file) + ":" + std::to_string(line) + ": " + what + " failed: " + cublasGetStatusName(status) +
              " (" + cublasGetStatusString(status) + ")");
}

#define EMBER_CUBLAS_CHECK(call)                                                          \
  do {                                                                                    \
    cublasStatus_t ember_cublas_status_ = (call);                                         \
    if (ember_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                    \
      ::ember::cuda::throw_cublas_error(ember_cublas_status_, #call, __FILE__, __LINE__); \
  } while (0)

// ---- one handle per device --------------------------------------------------------------------------
struct DeviceHandle {
  cublasHandle_t handle = nullptr;
  cudaStream_t stream = nullptr;  // the stream the handle is bound to
  bool bound = false;
};

struct HandleTable {
  std::mutex mutex;  // held while a handle is bound and used
  std::vector<DeviceHandle> devices;
};

// Never destroyed: a handle destroyed after the driver has shut down (at exit) would crash.
static HandleTable& handle_table() {
  static HandleTable* table = new HandleTable;
  return *table;
}

// The current device's handle, created on first use, bound to `stream`. The caller holds the table's
// mutex for as long as it uses the handle, so no other thread rebinds it in between.
static cublasHandle_t bound_handle(HandleTable& table, cudaStream_t stream) {
  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  if (static_cast<int>(table.devices.size()) <= device) table.devices.resize(device + 1);
  DeviceHandle& h = table.devices[device];
  if (!h.handle) {
    EMBER_CUBLAS_CHECK(cublasCreate(&h.handle));
    EMBER_CUBLAS_CHECK(cublasSetMathMode(h.handle, CUBLAS_DEFAULT_MATH));  // no TF32
  }
  if (!h.bound || h.stream != stream) {
    EMBER_CUBLAS_CHECK(cublasSetStream(h.handle, stream));
    h.stream = stream;
    h.bound = true;
  }
  return h.handle;
}

// ---- the call ----------------------------------------------------------------------------------------
static cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t op_first, cublasOperation_t op_second,
                                           int m, int n, int k, const float* alpha, const float* first, int ld_first,
                                           long long stride_first, const float* second, int ld_second,
                                           long long stride_second, const float* beta, float* c, int ldc,
                                           long long stride_c, int count) {
  return cublasSgemmStridedBatched(h, op_first, op_second, m, n, k, alpha, first, ld_first, stride_first, second,
                                   ld_second, stride_second, beta, c, ldc, stride_c, count);
}
static cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t op_first, cublasOperation_t op_second,
                                           int m, int n, int k, const double* alpha, const double* first, int ld_first,
                                           long long stride_first, const double* second, int ld_second,
                                           long long stride_second, const double* beta, double* c, int ldc,
                                           long long stride_c, int count) {
  return cublasDgemmStridedBatched(h, op_first, op_second, m, n, k, alpha, first, ld_first, stride_first, second,
                                   ld_second, stride_second, beta, c, ldc, stride_c, count);
}

constexpr int64_t kMaxBatchPerCall = 65535;

template <typename T>
static void gemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda,
                        int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T* c, int64_t batch,
                        cudaStream_t stream) {
  const char* name = std::is_same_v<T, float> ? "cublasSgemmStridedBatched" : "cublasDgemmStridedBatched";
  EMBER_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0 && M <= INT_MAX && N <= INT_MAX && K <= INT_MAX &&
                  lda <= INT_MAX && ldb <= INT_MAX,
              std::string(name) + ": sizes M=" + std::to_string(M) + ", N=" + std::to_string(N) +
                  ", K=" + std::to_string(K) + ", lda=" + std::to_string(lda) + ", ldb=" + std::to_string(ldb) +
                  " must be between 0 and 2^31 - 1");
  if (M == 0 || N == 0 || batch == 0) return;
  if (K == 0) {  // every C(m, n) is an empty sum
    EMBER_CUDA_CHECK(cudaMemsetAsync(c, 0, static_cast<size_t>(batch * M * N) * sizeof(T), stream));
    return;
  }
  const T one = 1, zero = 0;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  HandleTable& table = handle_table();
  std::lock_guard<std::mutex> lock(table.mutex);
  cublasHandle_t handle = bound_handle(table, stream);
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxBatchPerCall) {
    const int count = static_cast<int>(std::min(kMaxBatchPerCall, batch - z0));
    const cublasStatus_t status =
        gemm_strided_batched(handle, op_b, op_a, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &one,
                             b + z0 * stride_b, static_cast<int>(ldb), stride_b, a + z0 * stride_a,
                             static_cast<int>(lda), stride_a, &zero, c + z0 * M * N, static_cast<int>(N), M * N, count);
    if (status != CUBLAS_STATUS_SUCCESS) throw_cublas_error(status, name, __FILE__, __LINE__);
  }
}

void sgemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
                  int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float* c, int64_t batch,
                  cudaStream_t stream) {
  gemm_cublas(trans_a, trans_b, M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, stream);
}

void dgemm_cublas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const double* a, int64_t lda,
                  int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double* c, int64_t batch,
                  cudaStream_t stream) {
  gemm_cublas(trans_a, trans_b, M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, stream);
}

}  // namespace ember::cuda
