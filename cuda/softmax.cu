// CUDA softmax / log_softmax along one dim, and their backward. The GPU twin of the softmax in
// tensor/cpu/reduce.cpp (same formulas, same treatment of -inf rows, same dtypes).
//
// Along `dim` the (contiguous) input is viewed as (outer, n, inner); each of the outer * inner
// "lines" of n elements is normalised on its own:
//
//   softmax(x)_i     = exp(x_i - m) / sum_j exp(x_j - m),      m = max_j x_j (for stability;
//   log_softmax(x)_i = x_i - m - log(sum_j exp(x_j - m))        m = 0 when the whole line is -inf)
//
//   backward, with y the forward output and g = dL/dy along the same line:
//   softmax:      dL/dx_i = y_i * (g_i - sum_j g_j y_j)
//   log_softmax:  dL/dx_i = g_i - exp(y_i) * sum_j g_j
//
//   in (outer, n, inner) -> out (outer, n, inner)
//
// Two kernels:
//   rows    (inner == 1: each line is a contiguous row): one warp per row for n <= 1024, else one
//           512-thread block per row. Pass 1 finds m, pass 2 sums exp(x - m), pass 3 writes; each
//           pass's per-thread values meet through warp shuffles (and shared memory across warps),
//           and every thread of the row gets the total.
//   columns (inner > 1): one thread per (outer, inner) line walking its n elements; neighbouring
//           threads hold neighbouring inner positions, so every read is coalesced. When there are
//           too few lines to fill the GPU and they are long, the dim is moved last instead (one
//           copy in, one copy out) and the rows kernel runs.
//
// float32 accumulates in float32 and float64 in float64, as the CPU (and PyTorch's CUDA softmax
// for float32) does.
#include <limits>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "cuda/device_math.cuh"
#include "cuda/elementwise.cuh"

namespace ember::cuda {

constexpr int kWarp = 32;
constexpr int kWarpRowsThreads = 256;  // a warp per row: 8 rows per block
constexpr int kBlockRowThreads = 512;  // a block per row, for rows longer than kWarpRowLimit
constexpr int64_t kWarpRowLimit = 1024;
constexpr int64_t kMinColumns = 4096;  // fewer lines than this (and long ones): move the dim last
constexpr int64_t kShortLine = 256;    // ... unless the lines are this short anyway
constexpr unsigned kAllLanes = 0xffffffffu;

// m = max(m, x) as the CPU's std::max(m, x): a NaN x is skipped here (it makes its line NaN
// through the sum anyway), so m itself is never NaN and every lane agrees on it.
struct MaxOf {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a < b ? b : a;
  }
};
struct SumOf {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

// Combines the values of one row's group (blockDim.x threads) and gives the result to every one of
// them: a butterfly (__shfl_xor_sync) inside each warp, then, when the group is several warps,
// shared memory. Every lane computes the same sums in the same order, so all get identical bits.
// When the group is several warps the block is one row, so all of its threads call this together.
template <typename T, typename Combine>
__device__ T group_allreduce(T v, Combine combine, T* warp_results /* shared, one per warp */) {
#pragma unroll
  for (int mask = kWarp / 2; mask > 0; mask /= 2) v = combine(v, __shfl_xor_sync(kAllLanes, v, mask));
  if (blockDim.x > kWarp) {
    const int warps = blockDim.x / kWarp;
    __syncthreads();  // the previous call's readers are done
    if (threadIdx.x % kWarp == 0) warp_results[threadIdx.x / kWarp] = v;
    __syncthreads();
    v = warp_results[0];
    for (int w = 1; w < warps; ++w) v = combine(v, warp_results[w]);
  }
  return v;
}

// ---- rows (inner == 1) ---------------------------------------------------------------------------
// Block (G, rows per block): G = 32 (a warp per row, 8 rows) or 512 (the block is one row).
// `continue` on a missing row skips a whole warp (G = 32, no block syncs then) or a whole block.
template <typename T>
__global__ void softmax_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t n, bool log) {
  __shared__ T warp_results[kBlockRowThreads / kWarp];
  const int64_t row_blocks = (rows + blockDim.y - 1) / blockDim.y;
  for (int64_t row_block = blockIdx.x; row_block < row_blocks; row_block += gridDim.x) {
    const int64_t row = row_block * blockDim.y + threadIdx.y;
    if (row >= rows) continue;
    const T* xr = x + row * n;
    T* yr = y + row * n;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = MaxOf{}(m, xr[i]);
    m = group_allreduce(m, MaxOf{}, warp_results);
    if (m == -std::numeric_limits<T>::infinity()) m = 0;  // an all -inf row stays finite in the shift
    T sum = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += exp_of(xr[i] - m);
    sum = group_allreduce(sum, SumOf{}, warp_results);
    if (log) {
      const T log_sum = log_of(sum);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = xr[i] - m - log_sum;
    } else {
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = exp_of(xr[i] - m) / sum;
    }
  }
}

template <typename T>
__global__ void softmax_backward_rows_kernel(const T* __restrict__ g, const T* __restrict__ y, T* __restrict__ dx,
                                             int64_t rows, int64_t n, bool log) {
  __shared__ T warp_results[kBlockRowThreads / kWarp];
  const int64_t row_blocks = (rows + blockDim.y - 1) / blockDim.y;
  for (int64_t row_block = blockIdx.x; row_block < row_blocks; row_block += gridDim.x) {
    const int64_t row = row_block * blockDim.y + threadIdx.y;
    if (row >= rows) continue;
    const T *gr = g + row * n, *yr = y + row * n;
    T* dr = dx + row * n;
    T dot = 0;  // sum_j g_j y_j (softmax) or sum_j g_j (log_softmax)
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dot += log ? gr[i] : gr[i] * yr[i];
    dot = group_allreduce(dot, SumOf{}, warp_results);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      dr[i] = log ? gr[i] - exp_of(yr[i]) * dot : yr[i] * (gr[i] - dot);
  }
}

// ---- columns (inner > 1) -------------------------------------------------------------------------
// Thread c handles line (o, i) = (c / inner, c % inner): elements o*n*inner + j*inner + i, j < n.
template <typename T>
__global__ void softmax_columns_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                                       int64_t inner, bool log) {
  const int64_t lines = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < lines; c += stride) {
    const int64_t first = (c / inner) * n * inner + c % inner;
    const T* xc = x + first;
    T* yc = y + first;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < n; ++j) m = MaxOf{}(m, xc[j * inner]);
    if (m == -std::numeric_limits<T>::infinity()) m = 0;
    T sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += exp_of(xc[j * inner] - m);
    if (log) {
      const T log_sum = log_of(sum);
      for (int64_t j = 0; j < n; ++j) yc[j * inner] = xc[j * inner] - m - log_sum;
    } else {
      for (int64_t j = 0; j < n; ++j) yc[j * inner] = exp_of(xc[j * inner] - m) / sum;
    }
  }
}

template <typename T>
__global__ void softmax_backward_columns_kernel(const T* __restrict__ g, const T* __restrict__ y, T* __restrict__ dx,
                                                int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t lines = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < lines; c += stride) {
    const int64_t first = (c / inner) * n * inner + c % inner;
    const T *gc = g + first, *yc = y + first;
    T* dc = dx + first;
    T dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += log ? gc[j * inner] : gc[j * inner] * yc[j * inner];
    for (int64_t j = 0; j < n; ++j)
      dc[j * inner] = log ? gc[j * inner] - exp_of(yc[j * inner]) * dot : yc[j * inner] * (gc[j * inner] - dot);
  }
}

// ---- host side -----------------------------------------------------------------------------------
struct Lines {
  int64_t outer = 1, n = 1, inner = 1;  // the (outer, n, inner) view along dim
};

static Lines lines_along(const Shape& shape, int dim) {
  Lines l;
  for (int d = 0; d < dim; ++d) l.outer *= shape[d];
  l.n = shape[dim];
  for (int d = dim + 1; d < shape.size(); ++d) l.inner *= shape[d];
  return l;
}

// Few and long lines across inner: the rows kernel on a copy with `dim` moved last is faster.
static bool use_columns(const Lines& l) { return l.outer * l.inner >= kMinColumns || l.n <= kShortLine; }

// A view of t with `dim` moved to the end (no copy).
static Tensor move_dim_last(const Tensor& t, int dim) {
  Shape shape = t.shape();
  Strides strides = t.strides();
  const int64_t size = shape[dim], stride = strides[dim];
  shape.erase(dim);
  strides.erase(dim);
  shape.push_back(size);
  strides.push_back(stride);
  return t.as_strided(shape, strides, t.offset());
}

// 0-dim tensors are treated as shape [1] (softmax of one element).
static Tensor at_least_1d(const Tensor& t) { return t.dim() == 0 ? t.as_strided(Shape{1}, Strides{1}, t.offset()) : t; }

struct RowsLaunch {
  dim3 grid, block;
};

static RowsLaunch rows_launch(int64_t rows, int64_t n, int device) {
  const int group = n <= kWarpRowLimit ? kWarp : kBlockRowThreads;
  const int rows_per_block = group == kWarp ? kWarpRowsThreads / kWarp : 1;
  const int64_t blocks = (rows + rows_per_block - 1) / rows_per_block;
  const int64_t cap = static_cast<int64_t>(std::max(multiprocessor_count(device), 1)) * 32;
  return {dim3(static_cast<unsigned>(std::min(blocks, cap))), dim3(group, rows_per_block)};
}

// Forward on contiguous x and y of shape (outer, n, inner).
template <typename T>
static void softmax_contiguous(const Tensor& x, const Tensor& y, const Lines& l, bool log) {
  cudaStream_t s = prepare(y);
  const int device = y.device().index;
  const T* px = static_cast<const T*>(x.raw_data());
  T* py = static_cast<T*>(y.raw_data());
  if (l.inner == 1) {
    RowsLaunch launch = rows_launch(l.outer, l.n, device);
    softmax_rows_kernel<T><<<launch.grid, launch.block, 0, s>>>(px, py, l.outer, l.n, log);
    EMBER_CUDA_KERNEL_CHECK("softmax_rows_kernel");
  } else {
    softmax_columns_kernel<T>
        <<<blocks_for(l.outer * l.inner, device), kThreadsPerBlock, 0, s>>>(px, py, l.outer, l.n, l.inner, log);
    EMBER_CUDA_KERNEL_CHECK("softmax_columns_kernel");
  }
}

template <typename T>
static void softmax_backward_contiguous(const Tensor& g, const Tensor& y, const Tensor& dx, const Lines& l, bool log) {
  cudaStream_t s = prepare(dx);
  const int device = dx.device().index;
  const T* pg = static_cast<const T*>(g.raw_data());
  const T* py = static_cast<const T*>(y.raw_data());
  T* pd = static_cast<T*>(dx.raw_data());
  if (l.inner == 1) {
    RowsLaunch launch = rows_launch(l.outer, l.n, device);
    softmax_backward_rows_kernel<T><<<launch.grid, launch.block, 0, s>>>(pg, py, pd, l.outer, l.n, log);
    EMBER_CUDA_KERNEL_CHECK("softmax_backward_rows_kernel");
  } else {
    softmax_backward_columns_kernel<T>
        <<<blocks_for(l.outer * l.inner, device), kThreadsPerBlock, 0, s>>>(pg, py, pd, l.outer, l.n, l.inner, log);
    EMBER_CUDA_KERNEL_CHECK("softmax_backward_columns_kernel");
  }
}

static void check_dim(const char* op, const Tensor& t, int dim) {
  EMBER_CHECK(dim >= 0 && dim < t.dim(),
              std::string(op) + ": dim " + std::to_string(dim) + " is out of range for shape " + t.shape().str());
}

void softmax(const Tensor& out_any, const Tensor& in_any, int dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  const Tensor in = at_least_1d(in_any), out = at_least_1d(out_any);
  EMBER_CHECK(out.shape() == in.shape() && out.dtype() == in.dtype(),
              std::string(name) + ": output " + out.shape().str() + " " + dtype_name(out.dtype()) +
                  " must match input " + in.shape().str() + " " + dtype_name(in.dtype()));
  check_dim(name, in, dim);
  visit_floating("softmax", in.dtype(), [&]<typename T>() {
    if (in.numel() == 0) return;
    Lines l = lines_along(in.shape(), dim);
    if (l.inner == 1 || use_columns(l)) {
      Tensor x = contiguous_as(in, in.dtype());
      Tensor y = out.is_contiguous() ? out : empty(out.shape(), out.dtype(), out.device());
      softmax_contiguous<T>(x, y, l, log);
      if (!y.is_same(out)) copy(out, y);
    } else {  // (outer, n, inner) -> (outer * inner, n) rows
      Tensor x = contiguous_as(move_dim_last(in, dim), in.dtype());
      Tensor y = empty(x.shape(), x.dtype(), x.device());
      softmax_contiguous<T>(x, y, Lines{l.outer * l.inner, l.n, 1}, log);
      copy(move_dim_last(out, dim), y);
    }
  });
}

void softmax_backward(const Tensor& grad_in_any, const Tensor& grad_out_any, const Tensor& y_any, int dim, bool log) {
  const char* name = log ? "log_softmax backward" : "softmax backward";
  const Tensor grad_in = at_least_1d(grad_in_any), grad_out = at_least_1d(grad_out_any), y = at_least_1d(y_any);
  kernels::check_same_device(name, grad_in, y);
  EMBER_CHECK(grad_in.shape() == y.shape() && grad_out.shape() == y.shape() && grad_in.dtype() == y.dtype(),
              std::string(name) + ": grad_in " + grad_in.shape().str() + " " + dtype_name(grad_in.dtype()) +
                  " and grad_out " + grad_out.shape().str() + " must match the forward output " + y.shape().str() +
                  " " + dtype_name(y.dtype()));
  check_dim(name, y, dim);
  visit_floating("softmax backward", y.dtype(), [&]<typename T>() {
    if (y.numel() == 0) return;
    Lines l = lines_along(y.shape(), dim);
    if (l.inner == 1 || use_columns(l)) {
      Tensor g = contiguous_as(grad_out, y.dtype()), yy = contiguous_as(y, y.dtype());
      Tensor dx = grad_in.is_contiguous() ? grad_in : empty(grad_in.shape(), grad_in.dtype(), grad_in.device());
      softmax_backward_contiguous<T>(g, yy, dx, l, log);
      if (!dx.is_same(grad_in)) copy(grad_in, dx);
    } else {  // (outer, n, inner) -> (outer * inner, n) rows
      Tensor g = contiguous_as(move_dim_last(grad_out, dim), y.dtype());
      Tensor yy = contiguous_as(move_dim_last(y, dim), y.dtype());
      Tensor dx = empty(yy.shape(), yy.dtype(), yy.device());
      softmax_backward_contiguous<T>(g, yy, dx, Lines{l.outer * l.inner, l.n, 1}, log);
      copy(move_dim_last(grad_in, dim), dx);
    }
  });
}

}  // namespace ember::cuda
