// Pooling: argument checks, output shapes and the autograd nodes; the loops are the kernels of
// tensor/cpu/pooling.cpp (tensor/kernels.h: max_pool2d, avg_pool2d, adaptive_* and their backward).
//
// Every op works on 4-d (N,C,H,W) tensors; a 3-d (C,H,W) input is viewed as (1,C,H,W) and the
// result viewed back (both views are recorded, so gradients flow through them).
//
// ---- the gradients ----------------------------------------------------------------------------
// max:  y_o = x_{a(o)} where a(o) is the saved argmax of window o, so dy_o/dx_p = [p == a(o)] and
//       dL/dx_p = sum over the windows o whose argmax is p of g_o     (overlapping windows add)
// avg:  y_o = sum_{p in window o} x_p / |window o|,  so  dL/dx_p = sum_{o: p in window o} g_o / |window o|
// The forward saves only the argmax indices (max) or nothing but the shapes (avg).
#include "nn/pooling.h"

#include <utility>

#include "autograd/node.h"
#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember::nn {

std::string PoolSize::str() const {
  if (!is_pair) return std::to_string(h);
  std::string text = "(";  // appended, not "(" + ...: GCC 12 warns wrongly (-Wrestrict) on that
  return text.append(std::to_string(h)).append(", ").append(std::to_string(w)).append(")");
}

namespace {

using kernels::Pool2dArgs;

// The input as (N,C,H,W) (a 3-d input gets a leading 1), after checking its rank and dtype.
Tensor as_batch(const char* op, const Tensor& x) {
  EMBER_CHECK(x.defined(), std::string(op) + ": the input is undefined");
  EMBER_CHECK(x.dim() == 3 || x.dim() == 4, std::string(op) + ": expected a 3-d (C,H,W) or 4-d (N,C,H,W) input, got " +
                                                std::to_string(x.dim()) + "-d shape " + x.shape().str());
  EMBER_CHECK(is_floating(x.dtype()),
              std::string(op) + ": expected a float32 or float64 input, got " + dtype_name(x.dtype()));
  EMBER_CHECK(x.size(-1) > 0 && x.size(-2) > 0,
              std::string(op) + ": expected an input with non-empty H and W, got shape " + x.shape().str());
  return x.dim() == 4 ? x : unsqueeze(x, 0);
}

// The result back in the input's rank.
Tensor like_input(const Tensor& y, const Tensor& x) { return x.dim() == 4 ? y : squeeze(y, 0); }

// Checks kernel, stride and padding as PyTorch does and returns them for the kernels.
Pool2dArgs window_args(const char* op, PoolSize kernel, PoolSize stride, PoolSize padding) {
  EMBER_CHECK(kernel.given && kernel.h > 0 && kernel.w > 0,
              std::string(op) + ": kernel_size should be greater than zero, but got kernel_size=" + kernel.str());
  if (!stride.given) stride = kernel;
  EMBER_CHECK(stride.h > 0 && stride.w > 0,
              std::string(op) + ": stride should be greater than zero, but got stride=" + stride.str());
  EMBER_CHECK(padding.h >= 0 && padding.w >= 0,
              std::string(op) + ": padding must be non-negative, but got padding=" + padding.str());
  EMBER_CHECK(padding.h <= kernel.h / 2 && padding.w <= kernel.w / 2,
              std::string(op) + ": pad should be at most half of kernel size, but got pad=" + padding.str() +
                  " and kernel_size=" + kernel.str());
  return {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w};
}

// (N,C,OH,OW) with OH = floor((H + 2p - k) / s) + 1; an error when that is below 1.
Shape window_output_shape(const char* op, const Tensor& x4, const Pool2dArgs& a) {
  const int64_t h = x4.size(2), w = x4.size(3);
  const int64_t oh = (h + 2 * a.pad_h - a.kernel_h) / a.stride_h + 1;
  const int64_t ow = (w + 2 * a.pad_w - a.kernel_w) / a.stride_w + 1;
  EMBER_CHECK(h + 2 * a.pad_h >= a.kernel_h && w + 2 * a.pad_w >= a.kernel_w && oh >= 1 && ow >= 1,
              std::string(op) + ": the padded input " + std::to_string(h + 2 * a.pad_h) + "x" +
                  std::to_string(w + 2 * a.pad_w) + " is smaller than the kernel " + std::to_string(a.kernel_h) + "x" +
                  std::to_string(a.kernel_w) + " (input shape " + x4.shape().str() + ")");
  return Shape{x4.size(0), x4.size(1), oh, ow};
}

Shape adaptive_output_shape(const char* op, const Tensor& x4, PoolSize size) {
  EMBER_CHECK(size.given && size.h > 0 && size.w > 0,
              std::string(op) + ": output_size should be greater than zero, but got output_size=" + size.str());
  return Shape{x4.size(0), x4.size(1), size.h, size.w};
}

// ---- autograd nodes --------------------------------------------------------------------------------

// Both max poolings: the gradient of each output goes to its saved argmax.
struct MaxPoolBackward : Node {
  bool adaptive = false;
  SavedTensor indices;  // int64 (N,C,OH,OW): flat h * W + w in the input plane
  Shape input_shape;
  DType dtype = DType::Float32;
  std::string name() const override {
    return adaptive ? "AdaptiveMaxPool2DBackward0" : "MaxPool2DWithIndicesBackward0";
  }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor idx = indices.unpack(*this);
    Tensor grad_in = empty(input_shape, dtype, grads[0].device());
    kernels::max_pool2d_backward(grad_in, grads[0], idx);
    return {grad_in};
  }
  void release_saved_tensors() override { indices.reset(); }
};

struct AvgPoolBackward : Node {
  Pool2dArgs args;
  Shape input_shape;
  DType dtype = DType::Float32;
  std::string name() const override { return "AvgPool2DBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor grad_in = empty(input_shape, dtype, grads[0].device());
    kernels::avg_pool2d_backward(grad_in, grads[0], args);
    return {grad_in};
  }
};

struct AdaptiveAvgPoolBackward : Node {
  Shape input_shape;
  DType dtype = DType::Float32;
  std::string name() const override { return "AdaptiveAvgPool2DBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor grad_in = empty(input_shape, dtype, grads[0].device());
    kernels::adaptive_avg_pool2d_backward(grad_in, grads[0]);
    return {grad_in};
  }
};

// Records the max-pool node (when the input requires grad) for the 4-d input and output.
void record_max(bool adaptive, const Tensor& x4, const Tensor& out, const Tensor& indices) {
  if (!any_requires_grad({&x4})) return;
  auto node = record<MaxPoolBackward>({&x4}, {&out});
  node->adaptive = adaptive, node->indices = SavedTensor(indices);
  node->input_shape = x4.shape(), node->dtype = x4.dtype();
}

}  // namespace

namespace functional {

Tensor max_pool2d(const Tensor& x, PoolSize kernel_size, PoolSize stride, PoolSize padding) {
  const Pool2dArgs args = window_args("max_pool2d", kernel_size, stride, padding);
  Tensor x4 = as_batch("max_pool2d", x);
  const Shape shape = window_output_shape("max_pool2d", x4, args);
  Tensor out = empty(shape, x4.dtype(), x4.device());
  Tensor indices = empty(shape, DType::Int64, x4.device());
  kernels::max_pool2d(out, indices, x4.detach(), args);
  record_max(false, x4, out, indices);
  return like_input(out, x);
}

Tensor avg_pool2d(const Tensor& x, PoolSize kernel_size, PoolSize stride, PoolSize padding) {
  const Pool2dArgs args = window_args("avg_pool2d", kernel_size, stride, padding);
  Tensor x4 = as_batch("avg_pool2d", x);
  Tensor out = empty(window_output_shape("avg_pool2d", x4, args), x4.dtype(), x4.device());
  kernels::avg_pool2d(out, x4.detach(), args);
  if (any_requires_grad({&x4})) {
    auto node = record<AvgPoolBackward>({&x4}, {&out});
    node->args = args, node->input_shape = x4.shape(), node->dtype = x4.dtype();
  }
  return like_input(out, x);
}

Tensor adaptive_avg_pool2d(const Tensor& x, PoolSize output_size) {
  Tensor x4 = as_batch("adaptive_avg_pool2d", x);
  Tensor out = empty(adaptive_output_shape("adaptive_avg_pool2d", x4, output_size), x4.dtype(), x4.device());
  kernels::adaptive_avg_pool2d(out, x4.detach());
  if (any_requires_grad({&x4})) {
    auto node = record<AdaptiveAvgPoolBackward>({&x4}, {&out});
    node->input_shape = x4.shape(), node->dtype = x4.dtype();
  }
  return like_input(out, x);
}

Tensor adaptive_max_pool2d(const Tensor& x, PoolSize output_size) {
  Tensor x4 = as_batch("adaptive_max_pool2d", x);
  const Shape shape = adaptive_output_shape("adaptive_max_pool2d", x4, output_size);
  Tensor out = empty(shape, x4.dtype(), x4.device());
  Tensor indices = empty(shape, DType::Int64, x4.device());
  kernels::adaptive_max_pool2d(out, indices, x4.detach());
  record_max(true, x4, out, indices);
  return like_input(out, x);
}

Tensor adaptive_concat_pool2d(const Tensor& x, PoolSize size) {
  Tensor max = adaptive_max_pool2d(x, size), avg = adaptive_avg_pool2d(x, size);
  return cat({max, avg}, x.dim() == 4 ? 1 : 0);
}

}  // namespace functional

// ---- modules ----------------------------------------------------------------------------------------
MaxPool2d::MaxPool2d(PoolSize kernel_size, PoolSize stride, PoolSize padding)
    : Module("MaxPool2d"), kernel_size(kernel_size), stride(stride.given ? stride : kernel_size), padding(padding) {
  window_args("MaxPool2d", this->kernel_size, this->stride, this->padding);  // bad arguments fail here already
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.str() + ", stride=" + stride.str() + ", padding=" + padding.str() +
         ", dilation=1, ceil_mode=False";
}

AvgPool2d::AvgPool2d(PoolSize kernel_size, PoolSize stride, PoolSize padding)
    : Module("AvgPool2d"), kernel_size(kernel_size), stride(stride.given ? stride : kernel_size), padding(padding) {
  window_args("AvgPool2d", this->kernel_size, this->stride, this->padding);
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + kernel_size.str() + ", stride=" + stride.str() + ", padding=" + padding.str();
}

}  // namespace ember::nn
