// Batched matmul on the CPU: out (B,M,N) = a (B,M,K) @ b (B,K,N).
// Operands that are row-major or column-major in their last two dims (e.g. a transposed view,
// as every matmul backward passes) go to GEMM as they are; anything else is copied first.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"

namespace ember::cpu {

// Picks strides GEMM accepts for a (rows, cols) matrix with the given strides, or returns false.
static bool gemm_layout(int64_t rows, int64_t cols, int64_t& row_stride, int64_t& col_stride) {
  if ((cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= cols)) {  // row-major
    col_stride = 1;
    if (rows <= 1) row_stride = std::max<int64_t>(cols, 1);
    return true;
  }
  if ((rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= rows)) {  // column-major
    row_stride = 1;
    if (cols <= 1) col_stride = std::max<int64_t>(rows, 1);
    return true;
  }
  return false;
}

void matmul(const Tensor& out, const Tensor& a_in, const Tensor& b_in) {
  const int64_t batch = out.shape()[0], M = out.shape()[1], N = out.shape()[2], K = a_in.shape()[2];
  Tensor a = a_in, b = b_in;
  int64_t a_rs = a.strides()[1], a_cs = a.strides()[2], b_rs = b.strides()[1], b_cs = b.strides()[2];
  if (!gemm_layout(M, K, a_rs, a_cs)) {
    a = contiguous_cpu(a);
    a_rs = K, a_cs = 1;
  }
  if (!gemm_layout(K, N, b_rs, b_cs)) {
    b = contiguous_cpu(b);
    b_rs = N, b_cs = 1;
  }
  const int64_t a_bs = a.shape()[0] == 1 ? 0 : a.strides()[0];
  const int64_t b_bs = b.shape()[0] == 1 ? 0 : b.strides()[0];
  visit_floating("matmul", out.dtype(), [&]<typename T>() {
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* pc = static_cast<T*>(out.raw_data());
    auto one = [&](int64_t i, bool inside_parallel_loop) {
      T* c = pc + i * M * N;
      if (K == 0) {
        std::fill(c, c + M * N, T(0));
        return;
      }
      GemmOperand<T> A{pa + i * a_bs, a_rs, a_cs}, B{pb + i * b_bs, b_rs, b_cs};
      if (!inside_parallel_loop || gemm_is_small(M, N, K)) return gemm(M, N, K, A, B, c);
      // Inside our own parallel loop a threaded OpenBLAS would oversubscribe the cores; the packed
      // (float32) and eigen routes run single-threaded when nested.
      if constexpr (std::is_same_v<T, float>) {
        if (gemm_backend() == GemmBackend::Packed) return gemm(M, N, K, A, B, c);
        gemm_routes::eigen_f32(M, N, K, A, B, c);
      } else {
        gemm_routes::eigen_f64(M, N, K, A, B, c);
      }
    };
    // Many small products: one per thread. Few large ones: GEMM itself runs multi-threaded.
    if (batch > 1 && M * N * K < 128 * 128 * 128)
      parallel_for(0, batch, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) one(i, true);
      });
    else
      for (int64_t i = 0; i < batch; ++i) one(i, false);
  });
}

}  // namespace ember::cpu
