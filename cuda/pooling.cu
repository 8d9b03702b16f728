// Pooling on the GPU, Ember's own kernels: the twins of tensor/cpu/pooling.cpp (same windows, same
// divisors, same first-maximum and NaN rules; the formulas and the gradients are written out there and
// in nn/pooling.cpp). cuDNN's version is cuda/pooling_cudnn.cu, which also holds the table entries
// that choose between the two (cuda/dnn_backend.h).
//
// All operands are (N,C,H,W); `in` and `grad_out` may be any strided view, `out`, `indices` and
// `grad_in` are contiguous. Plane p = n * C + c.
//
//   forward (max, avg, adaptive max, adaptive avg)   one thread per output element (p, oh, ow): it
//       walks its window (rows oh*sh - ph .. + kh - 1 clipped to the image, or the adaptive bin
//       floor(oh*H/OH) .. ceil((oh+1)*H/OH) - 1) in the CPU's order (rows, then columns), so the
//       sums are bit for bit the CPU's.
//   avg backward (both kinds)   a gather, one thread per input element (p, h, w):
//       dL/dx[h,w] = sum over the windows o containing (h,w) of g[o] / |window o|
//       The windows containing row h are oh = ceil((h + ph - kh + 1) / sh) .. floor((h + ph) / sh)
//       (fixed), or floor(h*OH/H) .. ceil((h+1)*OH/H) - 1 (adaptive); columns likewise. No atomics,
//       and the same order of additions as the CPU's scatter (oh, then ow, ascending).
//   max backward   a scatter: grad_in = 0, then one thread per output adds g[o] at its saved index with
//       atomicAdd. The entry gets no window geometry (it serves max_pool2d and adaptive_max_pool2d),
//       so it cannot gather; where windows overlap the order of additions, hence the last bits of a
//       float sum, may differ from run to run.
#include <limits>
#include <string>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

namespace {

using Pool2dArgs = DeviceKernels::Pool2dArgs;

__device__ inline int64_t larger(int64_t a, int64_t b) { return a > b ? a : b; }
__device__ inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }
template <typename T>
__device__ inline bool is_nan_value(T v) {
  return v != v;  // only NaN differs from itself
}

// A strided (N,C,H,W) operand: plane p starts at (p / C) * sn + (p % C) * sc, and (h, w) of it is at
// h * sh + w * sw from there.
template <typename T>
struct Planes {
  const T* data;
  int64_t C, H, W, sn, sc, sh, sw;
  __device__ const T* plane(int64_t p) const { return data + (p / C) * sn + (p % C) * sc; }
};
template <typename T>
Planes<T> planes_of(const Tensor& t) {
  return {static_cast<const T*>(t.raw_data()),
          t.size(1),
          t.size(2),
          t.size(3),
          t.stride(0),
          t.stride(1),
          t.stride(2),
          t.stride(3)};
}

// The split of a flat index over (planes, rows, cols) into its three coordinates.
struct PlanePosition {
  int64_t p, row, col;
};
__device__ inline PlanePosition position_of(int64_t i, int64_t rows, int64_t cols) {
  const int64_t col = i % cols, rest = i / cols;
  return {rest / rows, rest % rows, col};
}

// PyTorch's adaptive bin of output i out of `out_size` over `in_size`: [floor(i in/out), ceil((i+1) in/out)).
__device__ inline int64_t bin_start(int64_t i, int64_t out_size, int64_t in_size) { return (i * in_size) / out_size; }
__device__ inline int64_t bin_end(int64_t i, int64_t out_size, int64_t in_size) {
  return ((i + 1) * in_size + out_size - 1) / out_size;
}

// The max over rows [h0, h1) and columns [w0, w1) of plane x, and the flat position h * W + w of
// the first maximum; a NaN wins and ends the search (the CPU's window_max, line for line).
template <typename T>
__device__ inline void window_max(const T* x, const Planes<T>& s, int64_t h0, int64_t h1, int64_t w0, int64_t w1,
                                  T& best, int64_t& best_index) {
  best = -std::numeric_limits<T>::infinity();
  best_index = h0 * s.W + w0;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const T v = x[h * s.sh + w * s.sw];
      if (v > best || is_nan_value(v)) {
        best = v, best_index = h * s.W + w;
        if (is_nan_value(v)) return;
      }
    }
}

// The sum over rows [h0, h1) and columns [w0, w1) of plane x, rows outer (the CPU's order).
template <typename T>
__device__ inline T window_sum(const T* x, const Planes<T>& s, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  T sum = 0;
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) sum += x[h * s.sh + w * s.sw];
  return sum;
}

// The fixed window of output (oh, ow), clipped to the image: rows [h0, h1), columns [w0, w1); and
// PyTorch's avg divisor, the window clipped to the padded image ((kh * kw) without ceil_mode).
struct Window {
  int64_t h0, h1, w0, w1, divisor;
};
__device__ inline Window window_of(const Pool2dArgs& a, int64_t oh, int64_t ow, int64_t H, int64_t W) {
  const int64_t hs = oh * a.stride_h - a.pad_h, ws = ow * a.stride_w - a.pad_w;
  const int64_t he = smaller(hs + a.kernel_h, H + a.pad_h), we = smaller(ws + a.kernel_w, W + a.pad_w);
  return {larger(hs, 0), smaller(hs + a.kernel_h, H), larger(ws, 0), smaller(ws + a.kernel_w, W),
          (he - hs) * (we - ws)};
}

// ---- forward: one thread per output element -------------------------------------------------------
template <typename T>
__global__ void max_pool2d_kernel(Planes<T> in, Pool2dArgs a, int64_t OH, int64_t OW, int64_t total,
                                  T* __restrict__ out, int64_t* __restrict__ indices) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += step) {
    const PlanePosition q = position_of(o, OH, OW);
    const Window win = window_of(a, q.row, q.col, in.H, in.W);
    T best;
    int64_t best_index;
    window_max(in.plane(q.p), in, win.h0, win.h1, win.w0, win.w1, best, best_index);
    out[o] = best, indices[o] = best_index;
  }
}

template <typename T>
__global__ void avg_pool2d_kernel(Planes<T> in, Pool2dArgs a, int64_t OH, int64_t OW, int64_t total,
                                  T* __restrict__ out) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += step) {
    const PlanePosition q = position_of(o, OH, OW);
    const Window win = window_of(a, q.row, q.col, in.H, in.W);
    out[o] = window_sum(in.plane(q.p), in, win.h0, win.h1, win.w0, win.w1) / static_cast<T>(win.divisor);
  }
}

template <typename T>
__global__ void adaptive_max_pool2d_kernel(Planes<T> in, int64_t OH, int64_t OW, int64_t total, T* __restrict__ out,
                                           int64_t* __restrict__ indices) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += step) {
    const PlanePosition q = position_of(o, OH, OW);
    T best;
    int64_t best_index;
    window_max(in.plane(q.p), in, bin_start(q.row, OH, in.H), bin_end(q.row, OH, in.H), bin_start(q.col, OW, in.W),
               bin_end(q.col, OW, in.W), best, best_index);
    out[o] = best, indices[o] = best_index;
  }
}

template <typename T>
__global__ void adaptive_avg_pool2d_kernel(Planes<T> in, int64_t OH, int64_t OW, int64_t total, T* __restrict__ out) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += step) {
    const PlanePosition q = position_of(o, OH, OW);
    const int64_t h0 = bin_start(q.row, OH, in.H), h1 = bin_end(q.row, OH, in.H);
    const int64_t w0 = bin_start(q.col, OW, in.W), w1 = bin_end(q.col, OW, in.W);
    out[o] = window_sum(in.plane(q.p), in, h0, h1, w0, w1) / static_cast<T>((h1 - h0) * (w1 - w0));
  }
}

// ---- avg backward: a gather, one thread per input element ---------------------------------------------
// The fixed windows containing input row h: oh from ceil((h + ph - kh + 1) / sh) (at least 0) to
// floor((h + ph) / sh) (at most OH - 1). Written for rows; columns use the same with w, pw, kw, sw.
__device__ inline void windows_containing(int64_t h, int64_t pad, int64_t kernel, int64_t stride, int64_t out_size,
                                          int64_t& first, int64_t& last) {
  const int64_t lowest = h + pad - kernel + 1;
  first = lowest <= 0 ? 0 : (lowest + stride - 1) / stride;
  last = smaller((h + pad) / stride, out_size - 1);
}

template <typename T>
__global__ void avg_pool2d_backward_kernel(Planes<T> grad_out, Pool2dArgs a, int64_t H, int64_t W, int64_t total,
                                           T* __restrict__ grad_in) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const PlanePosition q = position_of(i, H, W);
    const T* g = grad_out.plane(q.p);
    int64_t oh0, oh1, ow0, ow1;
    windows_containing(q.row, a.pad_h, a.kernel_h, a.stride_h, grad_out.H, oh0, oh1);
    windows_containing(q.col, a.pad_w, a.kernel_w, a.stride_w, grad_out.W, ow0, ow1);
    T sum = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow)
        sum += g[oh * grad_out.sh + ow * grad_out.sw] / static_cast<T>(window_of(a, oh, ow, H, W).divisor);
    grad_in[i] = sum;
  }
}

// The adaptive bins containing input row h: oh from floor(h OH / H) to ceil((h + 1) OH / H) - 1;
// each is checked against its bin as well (start <= h < end), which costs nothing and keeps the
// gather right even where the closed forms would be off by one.
template <typename T>
__global__ void adaptive_avg_pool2d_backward_kernel(Planes<T> grad_out, int64_t H, int64_t W, int64_t total,
                                                    T* __restrict__ grad_in) {
  const int64_t OH = grad_out.H, OW = grad_out.W;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const PlanePosition q = position_of(i, H, W);
    const T* g = grad_out.plane(q.p);
    const int64_t oh0 = (q.row * OH) / H, oh1 = smaller(((q.row + 1) * OH + H - 1) / H - 1, OH - 1);
    const int64_t ow0 = (q.col * OW) / W, ow1 = smaller(((q.col + 1) * OW + W - 1) / W - 1, OW - 1);
    T sum = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh) {
      const int64_t h0 = bin_start(oh, OH, H), h1 = bin_end(oh, OH, H);
      if (q.row < h0 || q.row >= h1) continue;
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t w0 = bin_start(ow, OW, W), w1 = bin_end(ow, OW, W);
        if (q.col < w0 || q.col >= w1) continue;
        sum += g[oh * grad_out.sh + ow * grad_out.sw] / static_cast<T>((h1 - h0) * (w1 - w0));
      }
    }
    grad_in[i] = sum;
  }
}

// ---- max backward: a scatter with atomics onto a zeroed grad_in ----------------------------------------
// An index outside the plane (never written by a forward kernel) is skipped, as on the CPU.
template <typename T>
__global__ void max_pool2d_backward_kernel(Planes<T> grad_out, const int64_t* __restrict__ indices, int64_t plane_in,
                                           int64_t total, T* __restrict__ grad_in) {
  const int64_t OH = grad_out.H, OW = grad_out.W;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += step) {
    const PlanePosition q = position_of(o, OH, OW);
    const int64_t target = indices[o];
    if (target < 0 || target >= plane_in) continue;
    atomicAdd(grad_in + q.p * plane_in + target, grad_out.plane(q.p)[q.row * grad_out.sh + q.col * grad_out.sw]);
  }
}

// ---- host side ---------------------------------------------------------------------------------------
// What every entry needs (the CPU's checks): 4-d operands with the same N and C, `out` (and
// `indices`) contiguous, one float dtype.
void check_pool_operands(const char* op, const Tensor& out, const Tensor& in, const Tensor* indices) {
  EMBER_CHECK(out.dim() == 4 && in.dim() == 4 && out.size(0) == in.size(0) && out.size(1) == in.size(1),
              std::string(op) + ": expected (N,C,*,*) operands, got " + out.shape().str() + " and " + in.shape().str());
  EMBER_CHECK(out.is_contiguous(), std::string(op) + ": the output must be contiguous");
  EMBER_CHECK(out.dtype() == in.dtype(), std::string(op) + ": expected operands of one dtype, got " +
                                             dtype_name(out.dtype()) + " and " + dtype_name(in.dtype()));
  if (indices)
    EMBER_CHECK(
        indices->dtype() == DType::Int64 && indices->is_contiguous() && indices->shape() == out.shape(),
        std::string(op) + ": indices must be a contiguous int64 tensor of the output's shape " + out.shape().str());
}

template <typename T>
T* out_pointer(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

}  // namespace

void max_pool2d_ember(const Tensor& out, const Tensor& indices, const Tensor& in, const Pool2dArgs& args) {
  check_pool_operands("max_pool2d", out, in, &indices);
  const int64_t total = out.numel();
  if (total == 0) return;
  cudaStream_t s = prepare(in);
  visit_floating("max_pool2d", in.dtype(), [&]<typename T>() {
    max_pool2d_kernel<T><<<blocks_for(total, in.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(in), args, out.size(2), out.size(3), total, out_pointer<T>(out), out_pointer<int64_t>(indices));
    EMBER_CUDA_KERNEL_CHECK("max_pool2d_kernel");
  });
}

void avg_pool2d_ember(const Tensor& out, const Tensor& in, const Pool2dArgs& args) {
  check_pool_operands("avg_pool2d", out, in, nullptr);
  const int64_t total = out.numel();
  if (total == 0) return;
  cudaStream_t s = prepare(in);
  visit_floating("avg_pool2d", in.dtype(), [&]<typename T>() {
    avg_pool2d_kernel<T><<<blocks_for(total, in.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(in), args, out.size(2), out.size(3), total, out_pointer<T>(out));
    EMBER_CUDA_KERNEL_CHECK("avg_pool2d_kernel");
  });
}

void avg_pool2d_backward_ember(const Tensor& grad_in, const Tensor& grad_out, const Pool2dArgs& args) {
  check_pool_operands("avg_pool2d backward", grad_in, grad_out, nullptr);
  const int64_t total = grad_in.numel();
  if (total == 0) return;
  cudaStream_t s = prepare(grad_out);
  visit_floating("avg_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    avg_pool2d_backward_kernel<T><<<blocks_for(total, grad_out.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(grad_out), args, grad_in.size(2), grad_in.size(3), total, out_pointer<T>(grad_in));
    EMBER_CUDA_KERNEL_CHECK("avg_pool2d_backward_kernel");
  });
}

void adaptive_max_pool2d_ember(const Tensor& out, const Tensor& indices, const Tensor& in) {
  check_pool_operands("adaptive_max_pool2d", out, in, &indices);
  const int64_t total = out.numel();
  if (total == 0) return;
  cudaStream_t s = prepare(in);
  visit_floating("adaptive_max_pool2d", in.dtype(), [&]<typename T>() {
    adaptive_max_pool2d_kernel<T><<<blocks_for(total, in.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(in), out.size(2), out.size(3), total, out_pointer<T>(out), out_pointer<int64_t>(indices));
    EMBER_CUDA_KERNEL_CHECK("adaptive_max_pool2d_kernel");
  });
}

void adaptive_avg_pool2d_ember(const Tensor& out, const Tensor& in) {
  check_pool_operands("adaptive_avg_pool2d", out, in, nullptr);
  const int64_t total = out.numel();
  if (total == 0) return;
  cudaStream_t s = prepare(in);
  visit_floating("adaptive_avg_pool2d", in.dtype(), [&]<typename T>() {
    adaptive_avg_pool2d_kernel<T><<<blocks_for(total, in.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(in), out.size(2), out.size(3), total, out_pointer<T>(out));
    EMBER_CUDA_KERNEL_CHECK("adaptive_avg_pool2d_kernel");
  });
}

void adaptive_avg_pool2d_backward_ember(const Tensor& grad_in, const Tensor& grad_out) {
  check_pool_operands("adaptive_avg_pool2d backward", grad_in, grad_out, nullptr);
  const int64_t total = grad_in.numel();
  if (total == 0) return;
  cudaStream_t s = prepare(grad_out);
  visit_floating("adaptive_avg_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    adaptive_avg_pool2d_backward_kernel<T><<<blocks_for(total, grad_out.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(grad_out), grad_in.size(2), grad_in.size(3), total, out_pointer<T>(grad_in));
    EMBER_CUDA_KERNEL_CHECK("adaptive_avg_pool2d_backward_kernel");
  });
}

void max_pool2d_backward_ember(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices) {
  check_pool_operands("max_pool2d backward", grad_in, grad_out, nullptr);
  EMBER_CHECK(
      indices.dtype() == DType::Int64 && indices.is_contiguous() && indices.shape() == grad_out.shape(),
      "max_pool2d backward: indices must be a contiguous int64 tensor of grad_out's shape " + grad_out.shape().str());
  if (grad_in.numel() == 0) return;
  cudaStream_t s = prepare(grad_out);
  // all-zero bytes are 0.0 in float32 and float64
  EMBER_CUDA_CHECK(cudaMemsetAsync(grad_in.raw_data(), 0, grad_in.numel() * dtype_size(grad_in.dtype()), s));
  const int64_t total = grad_out.numel();
  if (total == 0) return;
  visit_floating("max_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    max_pool2d_backward_kernel<T><<<blocks_for(total, grad_out.device().index), kThreadsPerBlock, 0, s>>>(
        planes_of<T>(grad_out), static_cast<const int64_t*>(indices.raw_data()), grad_in.size(2) * grad_in.size(3),
        total, out_pointer<T>(grad_in));
    EMBER_CUDA_KERNEL_CHECK("max_pool2d_backward_kernel");
  });
}

}  // namespace ember::cuda
