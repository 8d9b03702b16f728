// Batched matmul on the GPU: out (B,M,N) = a (B,M,K) @ b (B,K,N), and the GEMM backend switch.
//
// The twin of tensor/cpu/matmul.cpp. Each operand's last two dims must form a matrix a GEMM can read
// in place: row-major (column stride 1, leading dimension = the row stride) or transposed (row
// stride 1, leading dimension = the column stride), which covers every transposed view matmul's
// backward passes (g @ b^T, a^T @ g). Anything else is copied to a contiguous tensor first. The
// batch stride may be anything, 0 included (an operand broadcast over the batch).
//
// Two backends, chosen by EMBER_CUDA_GEMM=hand|cublas or set_gemm_backend:
//   hand:   Ember's own kernels (gemm_hand.cu): the tuned SGEMM for float32 (or the simple one,
//           see set_hand_kernel in gemm_hand.h), a 16x16-tiled kernel for float64;
//   cublas: cuBLAS (gemm_cublas.cu), the yardstick.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <type_traits>

#include "cuda/context.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "cuda/gemm_cublas.h"
#include "cuda/gemm_hand.h"

namespace ember::cuda {

// ---- the backend switch ------------------------------------------------------------------------------
static bool try_parse_gemm_backend(const std::string& text, GemmBackend& backend) {
  if (text == "hand") return backend = GemmBackend::Hand, true;
  if (text == "cublas") return backend = GemmBackend::Cublas, true;
  return false;
}

GemmBackend parse_gemm_backend(const std::string& text) {
  GemmBackend backend;
  EMBER_CHECK(try_parse_gemm_backend(text, backend),
              "unknown CUDA GEMM backend '" + text + "': the choices are 'hand' and 'cublas'");
  return backend;
}

static GemmBackend backend_from_environment() {
  const char* text = std::getenv("EMBER_CUDA_GEMM");
  if (!text || !*text) return GemmBackend::Hand;
  GemmBackend backend;
  EMBER_CHECK(try_parse_gemm_backend(text, backend),
              std::string("EMBER_CUDA_GEMM must be 'hand' or 'cublas', got '") + text + "'");
  return backend;
}

// Read from the environment on first use (a bad value throws then, and again on the next use).
static std::atomic<GemmBackend>& current_backend() {
  static std::atomic<GemmBackend> backend{backend_from_environment()};
  return backend;
}

void set_gemm_backend(GemmBackend backend) { current_backend() = backend; }
GemmBackend gemm_backend() { return current_backend(); }
const char* gemm_backend_name(GemmBackend backend) {
  switch (backend) {
  case GemmBackend::Hand: return "hand";
  case GemmBackend::Cublas: return "cublas";
  }
  return "?";
}

// ---- operands ----------------------------------------------------------------------------------------
// One operand as the GEMM entry points take it (convention in gemm_hand.h): element (r, c) of
// matrix z is at data[z * batch_stride + (transposed ? c * ld + r : r * ld + c)].
struct GemmOperand {
  Tensor tensor;  // keeps a contiguous copy alive until the GEMM is queued
  bool transposed;
  int64_t ld, batch_stride;
};

// Reads the (rows, cols) matrices of t (batch, rows, cols) in place when one of the last two strides
// is 1 and the other is at least the length of a stored row (as BLAS requires of a leading
// dimension); a size-1 dim may have any stride. Otherwise: a contiguous copy.
static GemmOperand gemm_operand(const Tensor& t, int64_t rows, int64_t cols) {
  const int64_t row_stride = t.strides()[1], col_stride = t.strides()[2];
  const int64_t batch_stride = t.shape()[0] == 1 ? 0 : t.strides()[0];
  if ((cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= cols))  // row-major
    return {t, false, rows <= 1 ? std::max<int64_t>(cols, 1) : row_stride, batch_stride};
  if ((rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= rows))  // transposed
    return {t, true, cols <= 1 ? std::max<int64_t>(rows, 1) : col_stride, batch_stride};
  Tensor dense = contiguous_as(t, t.dtype());
  return {dense, false, cols, t.shape()[0] == 1 ? 0 : rows * cols};
}

// ---- matmul ------------------------------------------------------------------------------------------
template <typename T>
static void matmul_typed(const Tensor& out, const GemmOperand& a, const GemmOperand& b, int64_t batch, int64_t M,
                         int64_t N, int64_t K, cudaStream_t s) {
  const T* pa = static_cast<const T*>(a.tensor.raw_data());
  const T* pb = static_cast<const T*>(b.tensor.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  const bool use_cublas = gemm_backend() == GemmBackend::Cublas;
  const bool simple = hand_kernel() == HandKernel::Simple;
  if constexpr (std::is_same_v<T, float>) {
    auto gemm = use_cublas ? sgemm_cublas : simple ? sgemm_simple : sgemm_hand;
    gemm(a.transposed, b.transposed, M, N, K, pa, a.ld, a.batch_stride, pb, b.ld, b.batch_stride, pc, batch, s);
  } else {
    auto gemm = use_cublas ? dgemm_cublas : simple ? dgemm_simple : dgemm_hand;
    gemm(a.transposed, b.transposed, M, N, K, pa, a.ld, a.batch_stride, pb, b.ld, b.batch_stride, pc, batch, s);
  }
}

void matmul(const Tensor& out, const Tensor& a_in, const Tensor& b_in) {
  const int64_t batch = out.shape()[0], M = out.shape()[1], N = out.shape()[2], K = a_in.shape()[2];
  kernels::check_same_device("matmul", out, a_in);
  visit_floating("matmul", out.dtype(), [&]<typename T>() {
    EMBER_CHECK(a_in.dtype() == out.dtype() && b_in.dtype() == out.dtype(),
                std::string("matmul: expected operands of the output's dtype ") + dtype_name(out.dtype()) + ", got " +
                    dtype_name(a_in.dtype()) + " and " + dtype_name(b_in.dtype()));
    if (out.numel() == 0) return;
    // The kernels write a dense (B,M,N) block; any other out gets the result through a copy.
    const Tensor dense_out = out.is_contiguous() ? out : empty(out.shape(), out.dtype(), out.device());
    const cudaStream_t s = prepare(out);
    const GemmOperand a = gemm_operand(a_in, M, K), b = gemm_operand(b_in, K, N);
    matmul_typed<T>(dense_out, a, b, batch, M, N, K, s);
    if (!dense_out.is_same(out)) copy(out, dense_out);
  });
}

}  // namespace ember::cuda
