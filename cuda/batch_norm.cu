// Batch normalisation on the GPU, Ember's own kernels: the twins of tensor/cpu/batch_norm.cpp (same
// formulas; the backward derivation is there). cuDNN's version is cuda/batch_norm_cudnn.cu, which also
// holds the table entries that choose between the two (cuda/dnn_backend.h).
//
// x (N, C, S) with S = H * W (1 for BatchNorm1d); every per-channel quantity is a (C) vector, and the
// M = N * S values of channel c form the (N, S) matrix x[:, c, :] (rows C * S apart).
//
// How the work is cut: the (N, S) matrix of a channel is split into `parts` rectangles (rows n0..n1,
// columns s0..s1; whole rows when N is large, pieces of rows when N is small), and block (c, p) of a
// (C, parts) grid takes rectangle p of channel c. Threads walk the rectangle with threadIdx.x along s
// (neighbouring threads, neighbouring addresses) and threadIdx.y along n, so no thread divides to
// find its channel. Every kernel below uses that grid.
//
// Statistics (two levels, every sum in float64):
//   level 1  block (c, p): each thread folds its values into (count, mean, M2 = sum (x - mean)^2) one
//            at a time (Welford), then the block merges its 256 triples (Chan et al.):
//              n = na + nb,  d = mean_b - mean_a,  mean = mean_a + d nb / n,  M2 = M2a + M2b + d^2 na nb / n
//            and writes one triple to partial[c, p]                               partial (C, parts)
//   level 2  one warp per channel merges its `parts` triples the same way:
//              mean[c] = mean,  var[c] = M2 / M  (biased)                                      (C)
//   Welford and Chan never subtract two large sums, so a mean of 1e4 with a spread of 1 keeps its
//   digits (sum x^2 / M - mean^2 would lose all of them in float32 and half of them in float64).
// Forward: y = x * scale[c] + shift[c], scale = gamma invstd, shift = beta - mean scale   (N, C, S)
// Backward, with xhat = (x - mean) invstd and g = dL/dy:
//   level 1  block (c, p): the partial sums of g and g xhat over its rectangle     partial (C, parts)
//   level 2  a warp per channel: grad_bias[c] = sum g, grad_weight[c] = sum g xhat              (C)
//   grad_x = gamma invstd (g - (sum g + xhat sum(g xhat)) / M)     (training: batch statistics)
//          = gamma invstd g                                          (eval: running statistics)
#include <algorithm>
#include <limits>
#include <string>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kBlockThreads = 256;  // every kernel below: 8 full warps
constexpr int kWarpsPerBlock = kBlockThreads / kWarp;
constexpr unsigned kAllLanes = 0xffffffffu;
constexpr int64_t kMinValuesPerPart = 4096;  // a rectangle below that is not worth a block of its own
constexpr int64_t kMaxParts = 1024;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
__device__ inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- the cut of each channel's (N, S) matrix into rectangles -------------------------------------
struct ChannelParts {
  int64_t N = 0, C = 0, S = 0;
  int64_t rows_per_part = 1, cols_per_part = 1;
  int64_t parts_along_s = 1;  // rectangles per row band
  int64_t parts = 1;          // rectangles per channel
};

// Rectangle p of a channel: rows [n0, n1), columns [s0, s1) (empty ranges are fine).
struct Rect {
  int64_t n0, n1, s0, s1;
};
__device__ inline Rect rect_of(const ChannelParts& l, int64_t p) {
  const int64_t band = p / l.parts_along_s, piece = p % l.parts_along_s;
  const int64_t n0 = band * l.rows_per_part, s0 = piece * l.cols_per_part;
  return {n0, smaller(n0 + l.rows_per_part, l.N), s0, smaller(s0 + l.cols_per_part, l.S)};
}

// About 16 blocks per SM over all channels, each rectangle at least kMinValuesPerPart values.
ChannelParts plan_parts(int64_t N, int64_t C, int64_t S, int device) {
  ChannelParts l;
  l.N = N, l.C = C, l.S = S;
  const int64_t M = N * S;
  if (M == 0) {  // one empty rectangle per channel: the sums are 0, the mean is 0 / 0
    l.rows_per_part = std::max<int64_t>(N, 1), l.cols_per_part = std::max<int64_t>(S, 1);
    return l;
  }
  const int64_t wanted = ceil_div(static_cast<int64_t>(std::max(multiprocessor_count(device), 1)) * 16, C);
  const int64_t parts = std::clamp<int64_t>(std::min(wanted, M / kMinValuesPerPart), 1, kMaxParts);
  if (parts <= N) {  // bands of whole rows
    l.rows_per_part = ceil_div(N, parts);
    l.cols_per_part = S;
  } else {  // single rows, each cut into pieces
    l.rows_per_part = 1;
    l.cols_per_part = ceil_div(S, ceil_div(parts, N));
  }
  l.parts_along_s = ceil_div(S, l.cols_per_part);
  l.parts = ceil_div(N, l.rows_per_part) * l.parts_along_s;
  return l;
}

// Block (threads along s, threads along n), 256 threads: as many along s as a rectangle's row needs
// (a power of two up to 256), the rest along n (BatchNorm1d, S = 1: all 256 along n).
dim3 block_for(const ChannelParts& l) {
  unsigned along_s = 1;
  while (along_s < kBlockThreads && along_s < l.cols_per_part) along_s *= 2;
  return dim3(along_s, kBlockThreads / along_s);
}
dim3 grid_for(const ChannelParts& l) { return dim3(static_cast<unsigned>(l.C), static_cast<unsigned>(l.parts)); }

// ---- what is combined -------------------------------------------------------------------------------
// Moments of a set of values: count, mean and M2 = sum (x - mean)^2.
struct Moments {
  double count, mean, m2;
};
__device__ inline void welford_add(Moments& a, double x) {
  a.count += 1;
  const double delta = x - a.mean;
  a.mean += delta / a.count;
  a.m2 += delta * (x - a.mean);
}
// Chan et al.: the moments of the union of two disjoint sets.
__device__ inline Moments combine(const Moments& a, const Moments& b) {
  if (b.count == 0) return a;
  if (a.count == 0) return b;
  const double n = a.count + b.count, delta = b.mean - a.mean, b_share = b.count / n;
  return {n, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * a.count * b_share};
}
__device__ inline Moments shuffle_down(const Moments& v, int offset) {
  return {__shfl_down_sync(kAllLanes, v.count, offset), __shfl_down_sync(kAllLanes, v.mean, offset),
          __shfl_down_sync(kAllLanes, v.m2, offset)};
}

// The two sums of the backward: sum g and sum g xhat.
struct GradSums {
  double g, g_xhat;
};
__device__ inline GradSums combine(const GradSums& a, const GradSums& b) { return {a.g + b.g, a.g_xhat + b.g_xhat}; }
__device__ inline GradSums shuffle_down(const GradSums& v, int offset) {
  return {__shfl_down_sync(kAllLanes, v.g, offset), __shfl_down_sync(kAllLanes, v.g_xhat, offset)};
}

// The combination of the 32 lanes' values, in lane 0.
template <typename V>
__device__ inline V warp_combine(V v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = combine(v, shuffle_down(v, offset));
  return v;
}

// The combination of the block's 256 values, in thread 0: each warp combines its lanes, then warp 0
// combines the 8 warp results. Called once per kernel (the shared array is not reused).
template <typename V>
__device__ inline V block_combine(V v) {
  __shared__ V per_warp[kWarpsPerBlock];
  const int thread = threadIdx.y * blockDim.x + threadIdx.x, lane = thread % kWarp, warp = thread / kWarp;
  v = warp_combine(v);
  if (lane == 0) per_warp[warp] = v;
  __syncthreads();
  if (warp == 0) v = warp_combine(lane < kWarpsPerBlock ? per_warp[lane] : V{});
  return v;
}

// ---- statistics ------------------------------------------------------------------------------------
// Level 1: block (c, p) -> partial[c * parts + p] = the moments of rectangle p of channel c.
template <typename T>
__global__ void batch_norm_moments_kernel(const T* __restrict__ x, ChannelParts l, Moments* __restrict__ partial) {
  const int64_t c = blockIdx.x, p = blockIdx.y;
  const Rect r = rect_of(l, p);
  Moments m{0, 0, 0};
  for (int64_t n = r.n0 + threadIdx.y; n < r.n1; n += blockDim.y) {
    const T* row = x + (n * l.C + c) * l.S;
    for (int64_t s = r.s0 + threadIdx.x; s < r.s1; s += blockDim.x) welford_add(m, static_cast<double>(row[s]));
  }
  m = block_combine(m);
  if (threadIdx.x == 0 && threadIdx.y == 0) partial[c * l.parts + p] = m;
}

// Level 2: warp y of a (32, 8) block takes channels blockIdx.x * 8 + y, then every gridDim.x * 8.
// mean[c] = mean, var[c] = M2 / M (0 / 0 = NaN for an empty channel, as the CPU's sums give).
template <typename T>
__global__ void batch_norm_stats_finish_kernel(const Moments* __restrict__ partial, int64_t channels, int64_t parts,
                                               T* __restrict__ mean, T* __restrict__ var) {
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.y;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; c < channels; c += warps) {
    Moments m{0, 0, 0};
    for (int64_t p = threadIdx.x; p < parts; p += kWarp) m = combine(m, partial[c * parts + p]);
    m = warp_combine(m);
    if (threadIdx.x == 0) {
      mean[c] = static_cast<T>(m.count > 0 ? m.mean : std::numeric_limits<double>::quiet_NaN());
      var[c] = static_cast<T>(m.m2 / m.count);
    }
  }
}

// ---- forward -----------------------------------------------------------------------------------------
// y = x * scale + shift on rectangle p of channel c; weight and bias may be null (1 and 0).
template <typename T>
__global__ void batch_norm_forward_kernel(const T* __restrict__ x, const T* __restrict__ mean,
                                          const T* __restrict__ invstd, const T* __restrict__ weight,
                                          const T* __restrict__ bias, ChannelParts l, T* __restrict__ y) {
  const int64_t c = blockIdx.x;
  const Rect r = rect_of(l, blockIdx.y);
  const T scale = (weight ? weight[c] : T(1)) * invstd[c];
  const T shift = (bias ? bias[c] : T(0)) - mean[c] * scale;
  for (int64_t n = r.n0 + threadIdx.y; n < r.n1; n += blockDim.y) {
    const int64_t row = (n * l.C + c) * l.S;
    for (int64_t s = r.s0 + threadIdx.x; s < r.s1; s += blockDim.x) y[row + s] = x[row + s] * scale + shift;
  }
}

// ---- backward ----------------------------------------------------------------------------------------
// Level 1: block (c, p) -> partial[c * parts + p] = (sum g, sum g xhat) over its rectangle. The
// product is formed in T (as the CPU does) and added in float64.
template <typename T>
__global__ void batch_norm_grad_sums_kernel(const T* __restrict__ x, const T* __restrict__ grad_y,
                                            const T* __restrict__ mean, const T* __restrict__ invstd, ChannelParts l,
                                            GradSums* __restrict__ partial) {
  const int64_t c = blockIdx.x, p = blockIdx.y;
  const Rect r = rect_of(l, p);
  const T m = mean[c], i = invstd[c];
  GradSums sums{0, 0};
  for (int64_t n = r.n0 + threadIdx.y; n < r.n1; n += blockDim.y) {
    const int64_t row = (n * l.C + c) * l.S;
    for (int64_t s = r.s0 + threadIdx.x; s < r.s1; s += blockDim.x) {
      const T g = grad_y[row + s];
      sums.g += g;
      sums.g_xhat += g * (x[row + s] - m) * i;
    }
  }
  sums = block_combine(sums);
  if (threadIdx.x == 0 && threadIdx.y == 0) partial[c * l.parts + p] = sums;
}

// Level 2: a warp per channel (as batch_norm_stats_finish_kernel) -> total[c] (float64, for grad_x),
// grad_bias[c] = sum g and grad_weight[c] = sum g xhat (each may be null).
template <typename T>
__global__ void batch_norm_grad_sums_finish_kernel(const GradSums* __restrict__ partial, int64_t channels,
                                                   int64_t parts, GradSums* __restrict__ total,
                                                   T* __restrict__ grad_weight, T* __restrict__ grad_bias) {
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.y;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; c < channels; c += warps) {
    GradSums sums{0, 0};
    for (int64_t p = threadIdx.x; p < parts; p += kWarp) sums = combine(sums, partial[c * parts + p]);
    sums = warp_combine(sums);
    if (threadIdx.x == 0) {
      total[c] = sums;
      if (grad_bias) grad_bias[c] = static_cast<T>(sums.g);
      if (grad_weight) grad_weight[c] = static_cast<T>(sums.g_xhat);
    }
  }
}

// grad_x = gamma invstd (g - mean_g - xhat mean_g_xhat) with mean_g = sum g / M, mean_g_xhat =
// sum(g xhat) / M from `total`; total null (running statistics): grad_x = gamma invstd g.
template <typename T>
__global__ void batch_norm_grad_input_kernel(const T* __restrict__ x, const T* __restrict__ grad_y,
                                             const T* __restrict__ mean, const T* __restrict__ invstd,
                                             const T* __restrict__ weight, const GradSums* __restrict__ total, double M,
                                             ChannelParts l, T* __restrict__ grad_x) {
  const int64_t c = blockIdx.x;
  const Rect r = rect_of(l, blockIdx.y);
  const T m = mean[c], i = invstd[c];
  const T gamma_invstd = (weight ? weight[c] : T(1)) * i;
  const T mean_g = total ? static_cast<T>(total[c].g / M) : T(0);
  const T mean_g_xhat = total ? static_cast<T>(total[c].g_xhat / M) : T(0);
  for (int64_t n = r.n0 + threadIdx.y; n < r.n1; n += blockDim.y) {
    const int64_t row = (n * l.C + c) * l.S;
    for (int64_t s = r.s0 + threadIdx.x; s < r.s1; s += blockDim.x) {
      const T xhat = (x[row + s] - m) * i;
      grad_x[row + s] = gamma_invstd * (grad_y[row + s] - mean_g - xhat * mean_g_xhat);
    }
  }
}

// ---- host side ---------------------------------------------------------------------------------------
ChannelParts parts_of(const Tensor& x) {
  EMBER_CHECK(x.dim() >= 2, "batch_norm: expected an (N, C, ...) input, got shape " + x.shape().str());
  int64_t S = 1;
  for (int d = 2; d < x.dim(); ++d) S *= x.size(d);
  return plan_parts(x.size(0), x.size(1), S, x.device().index);
}

// A (C) operand: contiguous, of x's dtype (undefined stays undefined).
Tensor channel_vector(const char* op, const char* what, const Tensor& t, const Tensor& x) {
  if (!t.defined()) return t;
  EMBER_CHECK(t.numel() == x.size(1) && t.dtype() == x.dtype(),
              std::string(op) + ": " + what + " must be a " + dtype_name(x.dtype()) + " vector of " +
                  std::to_string(x.size(1)) + " values (one per channel of " + x.shape().str() + "), got " +
                  t.shape().str() + " " + dtype_name(t.dtype()));
  return contiguous_as(t, t.dtype());
}

template <typename T>
const T* pointer(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}
template <typename T>
T* mutable_pointer(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// The (32, 8) blocks of the level-2 kernels: a warp per channel.
unsigned channel_warp_blocks(int64_t channels, int device) {
  const int64_t wanted = ceil_div(channels, kWarpsPerBlock);
  const int64_t cap = static_cast<int64_t>(std::max(multiprocessor_count(device), 1)) * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, cap)));
}

}  // namespace

void batch_norm_stats_ember(const Tensor& mean, const Tensor& var, const Tensor& x_in) {
  const ChannelParts l = parts_of(x_in);
  if (l.C == 0) return;
  const Tensor x = contiguous_as(x_in, x_in.dtype());
  channel_vector("batch_norm_stats", "mean", mean, x);
  channel_vector("batch_norm_stats", "var", var, x);
  EMBER_CHECK(mean.is_contiguous() && var.is_contiguous(), "batch_norm_stats: mean and var must be contiguous");
  cudaStream_t s = prepare(x);
  // (C, parts) triples of float64, from the cache
  Tensor partial = empty(Shape{l.C, l.parts, 3}, DType::Float64, x.device());
  Moments* pp = static_cast<Moments*>(partial.raw_data());
  visit_floating("batch_norm_stats", x.dtype(), [&]<typename T>() {
    batch_norm_moments_kernel<T><<<grid_for(l), block_for(l), 0, s>>>(pointer<T>(x), l, pp);
    EMBER_CUDA_KERNEL_CHECK("batch_norm_moments_kernel");
    batch_norm_stats_finish_kernel<T>
        <<<channel_warp_blocks(l.C, x.device().index), dim3(kWarp, kWarpsPerBlock), 0, s>>>(
            pp, l.C, l.parts, mutable_pointer<T>(mean), mutable_pointer<T>(var));
    EMBER_CUDA_KERNEL_CHECK("batch_norm_stats_finish_kernel");
  });
}

void batch_norm_forward_ember(const Tensor& y, const Tensor& x_in, const Tensor& mean_in, const Tensor& invstd_in,
                              const Tensor& weight_in, const Tensor& bias_in) {
  const ChannelParts l = parts_of(x_in);
  EMBER_CHECK(y.shape() == x_in.shape() && y.dtype() == x_in.dtype() && y.is_contiguous(),
              "batch_norm_forward: y must be a contiguous " + std::string(dtype_name(x_in.dtype())) +
                  " tensor of x's shape " + x_in.shape().str() + ", got " + y.shape().str());
  if (y.numel() == 0) return;
  const Tensor x = contiguous_as(x_in, x_in.dtype());
  const Tensor mean = channel_vector("batch_norm_forward", "mean", mean_in, x);
  const Tensor invstd = channel_vector("batch_norm_forward", "invstd", invstd_in, x);
  const Tensor weight = channel_vector("batch_norm_forward", "weight", weight_in, x);
  const Tensor bias = channel_vector("batch_norm_forward", "bias", bias_in, x);
  cudaStream_t s = prepare(x);
  visit_floating("batch_norm_forward", x.dtype(), [&]<typename T>() {
    batch_norm_forward_kernel<T><<<grid_for(l), block_for(l), 0, s>>>(pointer<T>(x), pointer<T>(mean),
                                                                      pointer<T>(invstd), pointer<T>(weight),
                                                                      pointer<T>(bias), l, mutable_pointer<T>(y));
    EMBER_CUDA_KERNEL_CHECK("batch_norm_forward_kernel");
  });
}

void batch_norm_backward_ember(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                               const Tensor& grad_y_in, const Tensor& x_in, const Tensor& mean_in,
                               const Tensor& invstd_in, const Tensor& weight_in, bool batch_statistics) {
  const ChannelParts l = parts_of(x_in);
  EMBER_CHECK(grad_y_in.shape() == x_in.shape() && grad_y_in.dtype() == x_in.dtype(),
              "batch_norm_backward: grad_y " + grad_y_in.shape().str() + " " + dtype_name(grad_y_in.dtype()) +
                  " must match x " + x_in.shape().str() + " " + dtype_name(x_in.dtype()));
  if (grad_x.defined())
    EMBER_CHECK(grad_x.shape() == x_in.shape() && grad_x.dtype() == x_in.dtype() && grad_x.is_contiguous(),
                "batch_norm_backward: grad_x must be a contiguous tensor of x's shape " + x_in.shape().str() +
                    " and dtype, got " + grad_x.shape().str() + " " + dtype_name(grad_x.dtype()));
  for (const Tensor* t : {&grad_weight, &grad_bias})
    if (t->defined()) {
      channel_vector("batch_norm_backward", "grad_weight/grad_bias", *t, x_in);
      EMBER_CHECK(t->is_contiguous(), "batch_norm_backward: grad_weight and grad_bias must be contiguous");
    }
  if (l.C == 0) return;
  const Tensor x = contiguous_as(x_in, x_in.dtype()), grad_y = contiguous_as(grad_y_in, x_in.dtype());
  const Tensor mean = channel_vector("batch_norm_backward", "mean", mean_in, x);
  const Tensor invstd = channel_vector("batch_norm_backward", "invstd", invstd_in, x);
  const Tensor weight = channel_vector("batch_norm_backward", "weight", weight_in, x);
  // The sums are needed for grad_weight, grad_bias, and grad_x when the statistics are the batch's.
  const bool need_sums = grad_weight.defined() || grad_bias.defined() || (grad_x.defined() && batch_statistics);
  const int device = x.device().index;
  cudaStream_t s = prepare(x);
  visit_floating("batch_norm_backward", x.dtype(), [&]<typename T>() {
    Tensor totals;  // (C) pairs of float64
    if (need_sums) {
      Tensor partial = empty(Shape{l.C, l.parts, 2}, DType::Float64, x.device());
      totals = empty(Shape{l.C, 2}, DType::Float64, x.device());
      GradSums* pp = static_cast<GradSums*>(partial.raw_data());
      batch_norm_grad_sums_kernel<T><<<grid_for(l), block_for(l), 0, s>>>(pointer<T>(x), pointer<T>(grad_y),
                                                                          pointer<T>(mean), pointer<T>(invstd), l, pp);
      EMBER_CUDA_KERNEL_CHECK("batch_norm_grad_sums_kernel");
      batch_norm_grad_sums_finish_kernel<T><<<channel_warp_blocks(l.C, device), dim3(kWarp, kWarpsPerBlock), 0, s>>>(
          pp, l.C, l.parts, static_cast<GradSums*>(totals.raw_data()), mutable_pointer<T>(grad_weight),
          mutable_pointer<T>(grad_bias));
      EMBER_CUDA_KERNEL_CHECK("batch_norm_grad_sums_finish_kernel");
    }
    if (grad_x.defined() && grad_x.numel() > 0) {
      const GradSums* sums = batch_statistics ? static_cast<const GradSums*>(totals.raw_data()) : nullptr;
      batch_norm_grad_input_kernel<T><<<grid_for(l), block_for(l), 0, s>>>(
          pointer<T>(x), pointer<T>(grad_y), pointer<T>(mean), pointer<T>(invstd), pointer<T>(weight), sums,
          static_cast<double>(l.N * l.S), l, mutable_pointer<T>(grad_x));
      EMBER_CUDA_KERNEL_CHECK("batch_norm_grad_input_kernel");
    }
  });
}

}  // namespace ember::cuda
