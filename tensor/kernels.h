// Raw kernels: the non-differentiable work every op bottoms out in, one implementation per device.
//
// tensor/ calls kernels::add(out, a, b); the wrapper checks that all tensors are on one device and
// looks up that device's DeviceKernels in a small table. cpu/ fills the CPU row at start-up and
// cuda/ (when built) fills the CUDA row, so tensor/ never includes CUDA headers.
//
// Contract shared by all kernels: `out` is allocated by the caller with the final shape and dtype
// (usually contiguous); inputs may be any strided view, and binary/where inputs arrive already
// broadcast (expanded, stride 0) to out's shape.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace ember {

enum class UnaryOp : uint8_t {
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Relu,
  Sigmoid,
  Tanh,
  Sign,
  PowScalar,  // x^p, p = param0
  Clamp,      // min(max(x, param0), param1)
  Square,
};

enum class BinaryOp : uint8_t {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,            // produce bool
  ReluBackward,  // out = grad * (x > 0): a = grad, b = x
};

enum class ReduceOp : uint8_t { Sum, Max, Min };

// The pointwise losses of nn/losses.h, one element at a time (l = loss, x = input, t = target):
//   SquaredError:                 l = (x - t)^2
//   BinaryCrossEntropyWithLogits: l = max(x, 0) - x t + log1p(exp(-|x|))
//                                 (with pos_weight p: (1 - t) x + (1 + (p - 1) t) softplus(-x))
enum class LossOp : uint8_t { SquaredError, BinaryCrossEntropyWithLogits };

struct DeviceKernels {
  // devices and memory
  int (*device_count)();  // usable devices of this type (0: none, or no driver)
  void* (*allocate)(size_t nbytes, int device_index);
  void (*deallocate)(void* data, size_t nbytes);
  void (*copy)(const Tensor& dst, const Tensor& src);  // any strides, casts between dtypes
  void (*fill)(const Tensor& dst, double value);
  // elementwise
  void (*unary)(UnaryOp op, const Tensor& out, const Tensor& in, double param0, double param1);
  void (*binary)(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
  void (*where)(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
  // reductions: out has the keepdim shape (reduced dims have size 1)
  void (*reduce)(ReduceOp op, const Tensor& out, const Tensor& in);
  // max/min along one dim with the index of the winner (first one on ties)
  void (*reduce_with_index)(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim);
  void (*softmax)(const Tensor& out, const Tensor& in, int dim, bool log);
  // grad_in = y*(g - sum(g*y)) for softmax, g - exp(y)*sum(g) for log_softmax; y is the forward output
  void (*softmax_backward)(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log);
  // out (B,M,N) contiguous = a (B,M,K) @ b (B,K,N), a and b any strides
  void (*matmul)(const Tensor& out, const Tensor& a, const Tensor& b);
  // indexing along `dim`: index is int64
  void (*index_select)(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
  void (*index_add)(const Tensor& out, int dim, const Tensor& index,
                    const Tensor& src);  // out[.., index[i], ..] += src[.., i, ..]
  void (*gather)(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
  void (*scatter_add)(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
  // creation: out[i] = start + i * step;  random draws from the Philox stream (seed, offset + i)
  void (*arange)(const Tensor& out, double start, double step);
  void (*uniform)(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
  void (*normal)(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double stddev);
  void (*randint)(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high);

  // ---- losses (nn/losses.h); CPU in cpu/loss.cpp, CUDA in cuda/loss.cu -------------------------
  // Pointwise: out = loss(input, target) elementwise (LossOp). input, target and pos_weight arrive
  // broadcast to out's shape; pos_weight is used by BinaryCrossEntropyWithLogits only, and an
  // undefined pos_weight means 1.
  void (*pointwise_loss)(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target,
                         const Tensor& pos_weight);
  // grad_input = grad_out * dl/dinput and grad_target = grad_out * dl/dtarget, all of out's shape
  // (grad_out may be a stride-0 expanded scalar); an undefined grad_input or grad_target is skipped.
  void (*pointwise_loss_backward)(LossOp op, const Tensor& grad_input, const Tensor& grad_target,
                                  const Tensor& grad_out, const Tensor& input, const Tensor& target,
                                  const Tensor& pos_weight);
  // Class losses over rows: logits / log_probs (N,C) float, target (N) int64, loss (N); any strides.
  //   cross_entropy: loss[n] = logsumexp(logits[n,:]) - logits[n, target[n]]
  //   nll_loss:      loss[n] = -log_probs[n, target[n]]
  // A row whose target is ignore_index gets loss 0 (and a zero gradient). They return -1, or the
  // position of the first target that is neither in 0..C-1 nor ignore_index (never read out of
  // bounds: that row's loss is NaN), so the caller can raise an error naming it.
  int64_t (*cross_entropy)(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index);
  int64_t (*nll_loss)(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index);
  // grad_logits[n,c] = grad_loss[n] * (softmax(logits[n,:])_c - [c == target[n]])
  // grad_log_probs[n,c] = -grad_loss[n] * [c == target[n]]
  // Every element of the (N,C) output is written (ignored rows: 0; a bad target, which forward
  // already reported: NaN). grad_loss (N) may be a stride-0 expanded scalar.
  void (*cross_entropy_backward)(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                                 const Tensor& target, int64_t ignore_index);
  void (*nll_loss_backward)(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                            int64_t ignore_index);

  // ---- optimiser steps (nn/optimizer.h, sgd.h, adam.h); CPU in cpu/optim.cpp, CUDA in cuda/optim.cu ---------------
  // One fused step over the parameters of one param group (PyTorch's multi-tensor apply): every
  // array below holds `count` entries, entry i for parameter i, which is updated in place from its
  // grad and its state buffers. The kernels:: wrapper has checked that all tensors are contiguous,
  // float32 or float64, on one device, and that each grad/buffer has its param's shape and dtype.
  // On a GPU the whole list is one kernel launch (cuda/optim.cu); on the CPU one loop per tensor.
  struct SgdStepArgs {
    int64_t count = 0;
    const Tensor* const* params = nullptr;
    const Tensor* const* grads = nullptr;
    const Tensor* const* momentum_buffers = nullptr;  // read only when momentum != 0
    const uint8_t* first_step = nullptr;              // 1: the buffer is new and becomes g (no dampening)
    const uint8_t* do_weight_decay = nullptr;         // 0: skip weight decay for this param
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false;
  };
  //   g  = grad + wd * p                                  (wd only where do_weight_decay)
  //   b  = first_step ? g : momentum * b + (1 - dampening) * g       (when momentum != 0)
  //   d  = nesterov ? g + momentum * b : b                 (d = g when momentum == 0)
  //   p -= lr * d
  void (*sgd_step)(const SgdStepArgs& args);

  struct AdamStepArgs {
    int64_t count = 0;
    const Tensor* const* params = nullptr;
    const Tensor* const* grads = nullptr;
    const Tensor* const* exp_avgs = nullptr;     // m
    const Tensor* const* exp_avg_sqs = nullptr;  // v
    const double* step_sizes = nullptr;          // lr / (1 - beta1^t), t = that param's step count
    const double* bias_corrections2 = nullptr;   // 1 - beta2^t
    const uint8_t* do_weight_decay = nullptr;    // 0: skip weight decay for this param
    double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
    bool decoupled_weight_decay = false;  // AdamW, fastai: p *= 1 - lr wd first; Adam: g += wd p (L2)
    bool debias_inside_sqrt = false;      // fastai: sqrt(v / bc2) + eps; PyTorch: sqrt(v) / sqrt(bc2) + eps
  };
  //   p *= 1 - lr * wd  (decoupled)   or   g = grad + wd * p  (L2)      (only where do_weight_decay)
  //   m  = beta1 * m + (1 - beta1) * g
  //   v  = beta2 * v + (1 - beta2) * g^2
  //   p -= step_size * m / (sqrt(v) / sqrt(bc2) + eps)     [fastai: sqrt(v / bc2) + eps]
  void (*adam_step)(const AdamStepArgs& args);

  // ---- convolution (nn/conv.h); CPU in cpu/conv.cpp ---------------------------------------------
  // Geometry of a 2-d convolution. input (N, C_in, H, W), weight (C_out, C_in / groups, KH, KW),
  // output (N, C_out, OH, OW) with OH = (H + 2 pad_h - dilation_h (KH - 1) - 1) / stride_h + 1.
  struct Conv2dGeometry {
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1, groups = 1;
  };
  //   out[n, co, oh, ow] = bias[co] + sum_{ci in co's group, kh, kw}
  //       weight[co, ci, kh, kw] * input[n, ci, oh sh - ph + kh dh, ow sw - pw + kw dw]   (zero outside)
  // bias may be undefined. All tensors contiguous, one float dtype.
  void (*conv2d)(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                 const Conv2dGeometry& geometry);
  // The three gradients of the sum above given grad_out; each output may be undefined (not needed).
  // Every defined output is overwritten (not accumulated into).
  void (*conv2d_backward)(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                          const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                          const Conv2dGeometry& geometry);

  // ---- batch normalisation (nn/batch_norm.h); CPU in cpu/batch_norm.cpp ------------------------
  // x (N, C, *) viewed as (N, C, S); statistics per channel c over the M = N * S values.
  //   batch_norm_stats: mean[c] = sum x / M,  var[c] = sum (x - mean)^2 / M  (biased; two passes)
  void (*batch_norm_stats)(const Tensor& mean, const Tensor& var, const Tensor& x);
  //   y = (x - mean[c]) * invstd[c] * weight[c] + bias[c],  invstd = 1 / sqrt(var + eps)
  //   (weight and bias may be undefined: 1 and 0)
  void (*batch_norm_forward)(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                             const Tensor& weight, const Tensor& bias);
  // With xhat = (x - mean) invstd, g = dL/dy, gamma = weight (or 1):
  //   grad_bias[c] = sum g,   grad_weight[c] = sum g xhat
  //   grad_x = gamma invstd (g - (grad_bias + xhat grad_weight) / M)   when the statistics came from
  //            this batch (training: mean and var depend on x), else gamma invstd g (running stats)
  // Undefined outputs are skipped.
  void (*batch_norm_backward)(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                              const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                              const Tensor& weight, bool batch_statistics);

  // ---- pooling (nn/pooling.h); CPU in cpu/pooling.cpp ------------------------------------------
  // All tensors are 4-d (N,C,H,W) planes; `in` and `grad_out` may be any strided view, while `out`,
  // `indices` and `grad_in` are contiguous and every element of them is written. `indices` (int64)
  // holds, per output element, the flat position h * W + w of the chosen input in its own plane
  // (PyTorch's convention), so one backward serves max_pool2d and adaptive_max_pool2d.
  //   window of output (oh, ow): rows oh*sh - ph .. oh*sh - ph + kh - 1, likewise for columns
  //   (positions outside the input are padding: -inf for max, 0 for avg, which divides by kh*kw)
  //   adaptive bins: rows floor(oh*H/OH) .. ceil((oh+1)*H/OH) - 1, likewise for columns
  struct Pool2dArgs {
    int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  };
  void (*max_pool2d)(const Tensor& out, const Tensor& indices, const Tensor& in, const Pool2dArgs& args);
  void (*avg_pool2d)(const Tensor& out, const Tensor& in, const Pool2dArgs& args);
  void (*avg_pool2d_backward)(const Tensor& grad_in, const Tensor& grad_out, const Pool2dArgs& args);
  void (*adaptive_max_pool2d)(const Tensor& out, const Tensor& indices, const Tensor& in);
  void (*adaptive_avg_pool2d)(const Tensor& out, const Tensor& in);
  void (*adaptive_avg_pool2d_backward)(const Tensor& grad_in, const Tensor& grad_out);
  // grad_in = 0, then grad_in[n,c].flat[indices[n,c,i,j]] += grad_out[n,c,i,j]
  void (*max_pool2d_backward)(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices);
};
// A backend may leave an entry null (not written yet); calling it is then a clear error.

void register_device_kernels(DeviceType type, const DeviceKernels* kernels);
const DeviceKernels& kernels_for(Device device);  // error if that backend is not built
bool has_kernels(DeviceType type);                // is that backend built into this program?

namespace kernels {

// All tensors of one kernel call must live on one device; the error names both.
[[noreturn]] void throw_device_mismatch(const char* op, const Tensor& a, const Tensor& b);
inline void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device()) throw_device_mismatch(op, a, b);
}

void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const Tensor& out, const Tensor& in, double param0 = 0, double param1 = 0);
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
void reduce(ReduceOp op, const Tensor& out, const Tensor& in);
void reduce_with_index(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim);
void softmax(const Tensor& out, const Tensor& in, int dim, bool log);
void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log);
void matmul(const Tensor& out, const Tensor& a, const Tensor& b);
void index_select(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);

// An entry a backend left null: "cross_entropy: this build of Ember has no cross_entropy kernel for cuda:0".
[[noreturn]] void throw_missing_kernel(const char* name, Device device);

// ---- losses --------------------------------------------------------------------------------------
// They check that all tensors share one device and raise throw_missing_kernel for an entry the
// device's backend left null.
void pointwise_loss(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& pos_weight);
void pointwise_loss_backward(LossOp op, const Tensor& grad_input, const Tensor& grad_target, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& pos_weight);
int64_t cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index);
int64_t nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index);
void cross_entropy_backward(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                            const Tensor& target, int64_t ignore_index);
void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       int64_t ignore_index);

// ---- optimiser steps -----------------------------------------------------------------------------
// The formulas are next to the table entries in DeviceKernels. An empty list does nothing.
using SgdStepArgs = DeviceKernels::SgdStepArgs;
using AdamStepArgs = DeviceKernels::AdamStepArgs;
void sgd_step(const SgdStepArgs& args);
void adam_step(const AdamStepArgs& args);

// ---- convolution ---------------------------------------------------------------------------------
using Conv2dGeometry = DeviceKernels::Conv2dGeometry;
void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
            const Conv2dGeometry& geometry);
void conv2d_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const Tensor& grad_out, const Tensor& input, const Tensor& weight, const Conv2dGeometry& geometry);
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x);
void batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias);
void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_y,
                         const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                         bool batch_statistics);

// ---- pooling -------------------------------------------------------------------------------------
// The formulas and layouts are next to the table entries in DeviceKernels.
using Pool2dArgs = DeviceKernels::Pool2dArgs;
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in, const Pool2dArgs& args);
void avg_pool2d(const Tensor& out, const Tensor& in, const Pool2dArgs& args);
void avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Pool2dArgs& args);
void adaptive_max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in);
void adaptive_avg_pool2d(const Tensor& out, const Tensor& in);
void adaptive_avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out);
void max_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices);

}  // namespace kernels
}  // namespace ember
