// CUDA loss kernels: the GPU twins of tensor/cpu/loss.cpp (same formulas, same dtypes, same
// treatment of ignored and bad targets). The formulas and the cross-entropy derivation are in
// tensor/cpu/loss.cpp and nn/losses.cpp.
//
//  * pointwise (squared error, BCE with logits): a functor per loss run by launch_elementwise
//    (cuda/elementwise.cuh), so broadcast and strided operands cost nothing extra.
//  * cross entropy (N,C) -> (N): one warp per row. Pass 1 finds the row max m, pass 2 sums
//    exp(x - m), each through warp shuffles; lane 0 writes m + log(sum) - x[t]. The backward
//    warp does the same two passes and writes g (exp(x_c - m) / sum - [c == t]) for every c.
//    A warp per row suits the usual C (10 .. a few thousand); for a vocabulary of 50 000 a
//    block per row (as cuda/softmax.cu does past 1024) would be faster.
//  * nll_loss: one thread per row (forward) or per element of the (N,C) gradient (backward).
//
// Bad targets (neither in 0..C-1 nor ignore_index) are never used as an index: that row's loss
// is NaN and its position goes into a one-element device flag with atomicMin (the smallest bad
// position wins, as on the CPU). The host reads the flag after the kernel (8 bytes; it waits for
// the stream) and returns the position; nn/losses.cpp turns it into the error. The backward
// kernels guard the same way but do not report (forward already has).
#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_kernels.h"
#include "cuda/device_math.cuh"
#include "cuda/elementwise.cuh"

namespace ember::cuda {

namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;  // a warp per row, 8 warps per block
constexpr unsigned kAllLanes = 0xffffffffu;
constexpr unsigned long long kNoBadTarget = ~0ull;

template <typename T>
__device__ inline T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}
template <typename T>
__device__ inline T softplus_of_minus(T x) {  // log(1 + exp(-x)) without overflow
  return log1p_of(exp_of(-abs_of(x))) + (x < T(0) ? -x : T(0));
}

// ---- pointwise functors (x = input, t = target, p = pos_weight, g = upstream gradient) -------------
template <typename T>
struct SquaredError {
  __device__ T operator()(T x, T t) const { return (x - t) * (x - t); }
};
template <typename T>
struct SquaredErrorGradInput {
  __device__ T operator()(T g, T x, T t) const { return T(2) * (x - t) * g; }
};
template <typename T>
struct SquaredErrorGradTarget {
  __device__ T operator()(T g, T x, T t) const { return T(-2) * (x - t) * g; }
};

template <typename T>
struct BceWithLogits {  // max(x, 0) - x t + log1p(exp(-|x|))
  __device__ T operator()(T x, T t) const { return (x > T(0) ? x : T(0)) - x * t + log1p_of(exp_of(-abs_of(x))); }
};
template <typename T>
struct BceWithLogitsGradInput {
  __device__ T operator()(T g, T x, T t) const { return (sigmoid_of(x) - t) * g; }
};
template <typename T>
struct BceWithLogitsGradTarget {
  __device__ T operator()(T g, T x, T) const { return -x * g; }
};

template <typename T>
struct WeightedBceWithLogits {  // (1 - t) x + (1 + (p - 1) t) softplus(-x)
  __device__ T operator()(T x, T t, T p) const {
    return (T(1) - t) * x + (T(1) + (p - T(1)) * t) * softplus_of_minus(x);
  }
};
template <typename T>
struct WeightedBceWithLogitsGradInput {
  __device__ T operator()(T g, T x, T t, T p) const {
    return ((T(1) - t) - (T(1) + (p - T(1)) * t) * sigmoid_of(-x)) * g;
  }
};
template <typename T>
struct WeightedBceWithLogitsGradTarget {
  __device__ T operator()(T g, T x, T, T p) const { return (-x + (p - T(1)) * softplus_of_minus(x)) * g; }
};

// ---- row losses --------------------------------------------------------------------------------------
// The strided operands of a row-loss kernel: x (N,C), target (N), per-row values (N).
template <typename T>
struct RowOperands {
  const T* x;
  int64_t x_row_stride, x_class_stride;
  const int64_t* target;
  int64_t target_stride;
  int64_t rows, classes, ignore_index;
};

template <typename T>
__device__ inline T warp_max(T v) {
#pragma unroll
  for (int mask = kWarp / 2; mask > 0; mask /= 2) {
    T other = __shfl_xor_sync(kAllLanes, v, mask);
    v = v < other ? other : v;  // as std::max(v, other): a NaN is skipped (it reaches the sum anyway)
  }
  return v;
}
template <typename T>
__device__ inline T warp_sum(T v) {
#pragma unroll
  for (int mask = kWarp / 2; mask > 0; mask /= 2) v += __shfl_xor_sync(kAllLanes, v, mask);
  return v;
}

// m = max_c x[n,c] (0 for an all -inf row) and sum_c exp(x[n,c] - m), known to every lane.
template <typename T>
__device__ inline void row_max_and_sum(const RowOperands<T>& a, int64_t row, T& m, T& sum) {
  const T* xr = a.x + row * a.x_row_stride;
  m = -std::numeric_limits<T>::infinity();
  for (int64_t c = threadIdx.x; c < a.classes; c += kWarp) {
    const T v = xr[c * a.x_class_stride];
    m = m < v ? v : m;
  }
  m = warp_max(m);
  if (m == -std::numeric_limits<T>::infinity()) m = 0;
  sum = 0;
  for (int64_t c = threadIdx.x; c < a.classes; c += kWarp) sum += exp_of(xr[c * a.x_class_stride] - m);
  sum = warp_sum(sum);
}

// Block (32, kRowsPerBlock): warp threadIdx.y of block b takes rows b * 8 + y, then every
// gridDim.x * 8 rows. All lanes of a warp share one row (and its target), so they take the same
// branches and the shuffles see the whole warp.
template <typename T>
__global__ void cross_entropy_kernel(RowOperands<T> a, T* __restrict__ loss, int64_t loss_stride,
                                     unsigned long long* first_bad) {
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.y;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; row < a.rows; row += warps) {
    const int64_t t = a.target[row * a.target_stride];
    if (t == a.ignore_index) {
      if (threadIdx.x == 0) loss[row * loss_stride] = T(0);
      continue;
    }
    if (t < 0 || t >= a.classes) {
      if (threadIdx.x == 0) {
        loss[row * loss_stride] = std::numeric_limits<T>::quiet_NaN();
        atomicMin(first_bad, static_cast<unsigned long long>(row));
      }
      continue;
    }
    T m, sum;
    row_max_and_sum(a, row, m, sum);
    if (threadIdx.x == 0) loss[row * loss_stride] = m + log_of(sum) - a.x[row * a.x_row_stride + t * a.x_class_stride];
  }
}

// grad[n,c] = g[n] * (exp(x[n,c] - m) / sum - [c == t])
template <typename T>
__global__ void cross_entropy_backward_kernel(RowOperands<T> a, const T* __restrict__ grad_loss,
                                              int64_t grad_loss_stride, T* __restrict__ grad, int64_t grad_row_stride,
                                              int64_t grad_class_stride) {
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.y;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; row < a.rows; row += warps) {
    T* gr = grad + row * grad_row_stride;
    const int64_t t = a.target[row * a.target_stride];
    if (t == a.ignore_index || t < 0 || t >= a.classes) {
      const T value = t == a.ignore_index ? T(0) : std::numeric_limits<T>::quiet_NaN();
      for (int64_t c = threadIdx.x; c < a.classes; c += kWarp) gr[c * grad_class_stride] = value;
      continue;
    }
    T m, sum;
    row_max_and_sum(a, row, m, sum);
    const T* xr = a.x + row * a.x_row_stride;
    const T g = grad_loss[row * grad_loss_stride], scale = g / sum;
    for (int64_t c = threadIdx.x; c < a.classes; c += kWarp)
      gr[c * grad_class_stride] = exp_of(xr[c * a.x_class_stride] - m) * scale - (c == t ? g : T(0));
  }
}

// loss[n] = -x[n, t[n]], one thread per row
template <typename T>
__global__ void nll_loss_kernel(RowOperands<T> a, T* __restrict__ loss, int64_t loss_stride,
                                unsigned long long* first_bad) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; row < a.rows; row += stride) {
    const int64_t t = a.target[row * a.target_stride];
    T value = T(0);
    if (t != a.ignore_index) {
      if (t >= 0 && t < a.classes) {
        value = -a.x[row * a.x_row_stride + t * a.x_class_stride];
      } else {
        value = std::numeric_limits<T>::quiet_NaN();
        atomicMin(first_bad, static_cast<unsigned long long>(row));
      }
    }
    loss[row * loss_stride] = value;
  }
}

// grad[n,c] = -g[n] [c == t[n]], one thread per element of the (N,C) gradient
template <typename T>
__global__ void nll_loss_backward_kernel(const int64_t* __restrict__ target, int64_t target_stride,
                                         const T* __restrict__ grad_loss, int64_t grad_loss_stride,
                                         T* __restrict__ grad, int64_t grad_row_stride, int64_t grad_class_stride,
                                         int64_t rows, int64_t classes, int64_t ignore_index) {
  const int64_t n = rows * classes;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t row = i / classes, c = i % classes;
    const int64_t t = target[row * target_stride];
    T value = T(0);
    if (t != ignore_index) {
      if (t >= 0 && t < classes)
        value = c == t ? -grad_loss[row * grad_loss_stride] : T(0);
      else
        value = std::numeric_limits<T>::quiet_NaN();
    }
    grad[row * grad_row_stride + c * grad_class_stride] = value;
  }
}

// ---- host side ---------------------------------------------------------------------------------------
void check_row_operands(const char* op, const Tensor& per_row, const Tensor& matrix, const Tensor& target) {
  EMBER_CHECK(matrix.dim() == 2 && per_row.dim() == 1 && target.dim() == 1 && per_row.size(0) == matrix.size(0) &&
                  target.size(0) == matrix.size(0),
              std::string(op) + ": expected (N,C), (N) and (N) operands, got " + matrix.shape().str() + ", " +
                  per_row.shape().str() + " and " + target.shape().str());
  EMBER_CHECK(target.dtype() == DType::Int64,
              std::string(op) + ": expected an int64 target, got " + dtype_name(target.dtype()));
  EMBER_CHECK(per_row.dtype() == matrix.dtype(), std::string(op) + ": expected operands of one float dtype, got " +
                                                     dtype_name(per_row.dtype()) + " and " +
                                                     dtype_name(matrix.dtype()));
}

template <typename T>
RowOperands<T> row_operands(const Tensor& matrix, const Tensor& target, int64_t ignore_index) {
  return {static_cast<const T*>(matrix.raw_data()),
          matrix.stride(0),
          matrix.stride(1),
          static_cast<const int64_t*>(target.raw_data()),
          target.stride(0),
          matrix.size(0),
          matrix.size(1),
          ignore_index};
}

// A one-element device flag for the first bad target, set to kNoBadTarget on the stream.
class BadTargetFlag {
 public:
  BadTargetFlag(const Tensor& like, cudaStream_t s) : flag_(empty(Shape{1}, DType::Int64, like.device())) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(flag_.raw_data(), 0xFF, sizeof(unsigned long long), s));
  }
  unsigned long long* device_pointer() const { return static_cast<unsigned long long*>(flag_.raw_data()); }
  // Waits for the stream; -1 or the first bad position.
  int64_t read(cudaStream_t s) const {
    unsigned long long position = kNoBadTarget;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(&position, flag_.raw_data(), sizeof(position), cudaMemcpyDeviceToHost, s));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
    return position == kNoBadTarget ? -1 : static_cast<int64_t>(position);
  }

 private:
  Tensor flag_;
};

unsigned row_blocks(int64_t rows, int device) {
  const int64_t wanted = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t cap = static_cast<int64_t>(std::max(multiprocessor_count(device), 1)) * 32;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, cap)));
}

}  // namespace

void pointwise_loss(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& pos_weight) {
  for (const Tensor* t : {&input, &target, &pos_weight})
    EMBER_CHECK(!t->defined() || t->dtype() == out.dtype(),
                std::string("pointwise loss: expected every operand to be ") + dtype_name(out.dtype()) + ", got " +
                    dtype_name(t->dtype()));
  visit_floating("pointwise loss", out.dtype(), [&]<typename T>() {
    if (op == LossOp::SquaredError)
      launch_elementwise<T, T, T>(out, SquaredError<T>{}, {input, target});
    else if (!pos_weight.defined())
      launch_elementwise<T, T, T>(out, BceWithLogits<T>{}, {input, target});
    else
      launch_elementwise<T, T, T, T>(out, WeightedBceWithLogits<T>{}, {input, target, pos_weight});
  });
}

void pointwise_loss_backward(LossOp op, const Tensor& grad_input, const Tensor& grad_target, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& pos_weight) {
  for (const Tensor* t : {&grad_input, &grad_target, &input, &target, &pos_weight})
    EMBER_CHECK(!t->defined() || t->dtype() == grad_out.dtype(),
                std::string("pointwise loss backward: expected every operand to be ") + dtype_name(grad_out.dtype()) +
                    ", got " + dtype_name(t->dtype()));
  visit_floating("pointwise loss backward", grad_out.dtype(), [&]<typename T>() {
    const std::array<Tensor, 3> gxt{grad_out, input, target};
    if (op == LossOp::SquaredError) {
      if (grad_input.defined()) launch_elementwise<T, T, T, T>(grad_input, SquaredErrorGradInput<T>{}, gxt);
      if (grad_target.defined()) launch_elementwise<T, T, T, T>(grad_target, SquaredErrorGradTarget<T>{}, gxt);
    } else if (!pos_weight.defined()) {
      if (grad_input.defined()) launch_elementwise<T, T, T, T>(grad_input, BceWithLogitsGradInput<T>{}, gxt);
      if (grad_target.defined()) launch_elementwise<T, T, T, T>(grad_target, BceWithLogitsGradTarget<T>{}, gxt);
    } else {
      const std::array<Tensor, 4> gxtp{grad_out, input, target, pos_weight};
      if (grad_input.defined())
        launch_elementwise<T, T, T, T, T>(grad_input, WeightedBceWithLogitsGradInput<T>{}, gxtp);
      if (grad_target.defined())
        launch_elementwise<T, T, T, T, T>(grad_target, WeightedBceWithLogitsGradTarget<T>{}, gxtp);
    }
  });
}

int64_t cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  check_row_operands("cross_entropy", loss, logits, target);
  if (logits.size(0) == 0) return -1;
  cudaStream_t s = prepare(logits);
  BadTargetFlag flag(logits, s);
  visit_floating("cross_entropy", logits.dtype(), [&]<typename T>() {
    cross_entropy_kernel<T><<<row_blocks(logits.size(0), logits.device().index), dim3(kWarp, kRowsPerBlock), 0, s>>>(
        row_operands<T>(logits, target, ignore_index), static_cast<T*>(loss.raw_data()), loss.stride(0),
        flag.device_pointer());
    EMBER_CUDA_KERNEL_CHECK("cross_entropy_kernel");
  });
  return flag.read(s);
}

void cross_entropy_backward(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                            const Tensor& target, int64_t ignore_index) {
  check_row_operands("cross_entropy backward", grad_loss, logits, target);
  EMBER_CHECK(grad_logits.shape() == logits.shape() && grad_logits.dtype() == logits.dtype(),
              "cross_entropy backward: grad_logits " + grad_logits.shape().str() + " must match the logits " +
                  logits.shape().str());
  if (logits.numel() == 0) return;
  cudaStream_t s = prepare(logits);
  visit_floating("cross_entropy backward", logits.dtype(), [&]<typename T>() {
    cross_entropy_backward_kernel<T>
        <<<row_blocks(logits.size(0), logits.device().index), dim3(kWarp, kRowsPerBlock), 0, s>>>(
            row_operands<T>(logits, target, ignore_index), static_cast<const T*>(grad_loss.raw_data()),
            grad_loss.stride(0), static_cast<T*>(grad_logits.raw_data()), grad_logits.stride(0), grad_logits.stride(1));
    EMBER_CUDA_KERNEL_CHECK("cross_entropy_backward_kernel");
  });
}

int64_t nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index) {
  check_row_operands("nll_loss", loss, log_probs, target);
  const int64_t rows = log_probs.size(0);
  if (rows == 0) return -1;
  cudaStream_t s = prepare(log_probs);
  BadTargetFlag flag(log_probs, s);
  visit_floating("nll_loss", log_probs.dtype(), [&]<typename T>() {
    nll_loss_kernel<T><<<blocks_for(rows, log_probs.device().index), kThreadsPerBlock, 0, s>>>(
        row_operands<T>(log_probs, target, ignore_index), static_cast<T*>(loss.raw_data()), loss.stride(0),
        flag.device_pointer());
    EMBER_CUDA_KERNEL_CHECK("nll_loss_kernel");
  });
  return flag.read(s);
}

void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       int64_t ignore_index) {
  check_row_operands("nll_loss backward", grad_loss, grad_log_probs, target);
  const int64_t n = grad_log_probs.numel();
  if (n == 0) return;
  cudaStream_t s = prepare(grad_log_probs);
  visit_floating("nll_loss backward", grad_log_probs.dtype(), [&]<typename T>() {
    nll_loss_backward_kernel<T><<<blocks_for(n, grad_log_probs.device().index), kThreadsPerBlock, 0, s>>>(
        static_cast<const int64_t*>(target.raw_data()), target.stride(0), static_cast<const T*>(grad_loss.raw_data()),
        grad_loss.stride(0), static_cast<T*>(grad_log_probs.raw_data()), grad_log_probs.stride(0),
        grad_log_probs.stride(1), grad_log_probs.size(0), grad_log_probs.size(1), ignore_index);
    EMBER_CUDA_KERNEL_CHECK("nll_loss_backward_kernel");
  });
}

}  // namespace ember::cuda
