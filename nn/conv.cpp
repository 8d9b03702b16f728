// See conv.h. The backward formulas (with shapes) head tensor/cpu/conv.cpp.
#include "nn/conv.h"

#include <cmath>

#include "autograd/node.h"
#include "nn/init.h"
#include "tensor/kernels.h"

namespace ember::nn {

namespace {

struct Conv2dBackward : Node {
  SavedTensor input, weight;
  bool has_bias = false;
  kernels::Conv2dGeometry geometry;
  std::string name() const override { return "ConvolutionBackward0"; }
  void release_saved_tensors() override {
    input.reset();
    weight.reset();
  }
  // One kernel call computes every gradient that some input needs.
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor x = input.unpack(*this), w = weight.unpack(*this);
    Tensor gx = needs_input_grad(0) ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
    Tensor gw = needs_input_grad(1) ? empty(w.shape(), w.dtype(), w.device()) : Tensor();
    Tensor gb = has_bias && needs_input_grad(2) ? empty({w.size(0)}, w.dtype(), w.device()) : Tensor();
    kernels::conv2d_backward(gx, gw, gb, grads[0], x, w, geometry);
    return {gx, gw, gb};
  }
};

std::string pair_text(const Size2& v) {
  std::string text = "(";  // appended, not "(" + ...: GCC 12 warns wrongly (-Wrestrict) on that
  return text.append(std::to_string(v[0])).append(", ").append(std::to_string(v[1])).append(")");
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding, Size2 dilation,
              int64_t groups) {
  EMBER_CHECK(x.dim() == 4, "conv2d: expected a 4-d input (N, C, H, W), got shape " + x.shape().str());
  EMBER_CHECK(weight.dim() == 4,
              "conv2d: expected a 4-d weight (C_out, C_in / groups, KH, KW), got shape " + weight.shape().str());
  EMBER_CHECK(is_floating(x.dtype()) && x.dtype() == weight.dtype(),
              std::string("conv2d: input and weight must have one float dtype, got ") + dtype_name(x.dtype()) +
                  " and " + dtype_name(weight.dtype()));
  EMBER_CHECK(groups >= 1 && x.size(1) % groups == 0 && weight.size(0) % groups == 0,
              "conv2d: groups = " + std::to_string(groups) + " must divide both the input channels (" +
                  std::to_string(x.size(1)) + ") and the output channels (" + std::to_string(weight.size(0)) + ")");
  EMBER_CHECK(weight.size(1) * groups == x.size(1),
              "conv2d: the input " + x.shape().str() + " has " + std::to_string(x.size(1)) +
                  " channels, but the weight " + weight.shape().str() + " expects " +
                  std::to_string(weight.size(1) * groups) + " (weight.size(1) * groups)");
  for (int i = 0; i < 2; ++i)
    EMBER_CHECK(stride[i] >= 1 && dilation[i] >= 1 && padding[i] >= 0,
                "conv2d: stride and dilation must be >= 1 and padding >= 0, got stride " + pair_text(stride) +
                    ", padding " + pair_text(padding) + ", dilation " + pair_text(dilation));
  if (bias.defined())
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0) && bias.dtype() == x.dtype(),
                "conv2d: bias must be a " + std::string(dtype_name(x.dtype())) + " tensor of shape [" +
                    std::to_string(weight.size(0)) + "], got " + bias.shape().str());
  const int64_t oh = (x.size(2) + 2 * padding[0] - dilation[0] * (weight.size(2) - 1) - 1) / stride[0] + 1;
  const int64_t ow = (x.size(3) + 2 * padding[1] - dilation[1] * (weight.size(3) - 1) - 1) / stride[1] + 1;
  EMBER_CHECK(x.size(2) + 2 * padding[0] >= dilation[0] * (weight.size(2) - 1) + 1 &&
                  x.size(3) + 2 * padding[1] >= dilation[1] * (weight.size(3) - 1) + 1,
              "conv2d: the input " + x.shape().str() + " (padded by " + pair_text(padding) +
                  ") is smaller than the kernel " + weight.shape().str() + " (dilation " + pair_text(dilation) + ")");

  const kernels::Conv2dGeometry geometry{stride[0],   stride[1],   padding[0], padding[1],
                                         dilation[0], dilation[1], groups};
  Tensor out = empty({x.size(0), weight.size(0), oh, ow}, x.dtype(), x.device());
  kernels::conv2d(out, x, weight, bias, geometry);
  if (any_requires_grad({&x, &weight, &bias})) {
    auto node = bias.defined() ? record<Conv2dBackward>({&x, &weight, &bias}, {&out})
                               : record<Conv2dBackward>({&x, &weight}, {&out});
    node->input = SavedTensor(x);
    node->weight = SavedTensor(weight);
    node->has_bias = bias.defined();
    node->geometry = geometry;
  }
  return out;
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride, Size2 padding,
               Size2 dilation, int64_t groups, bool has_bias, DType dtype)
    : Module("Conv2d"),
      in_channels(in_channels),
      out_channels(out_channels),
      kernel_size(kernel_size),
      stride(stride),
      padding(padding),
      dilation(dilation),
      groups(groups) {
  EMBER_CHECK(
      in_channels > 0 && out_channels > 0 && groups > 0 && in_channels % groups == 0 && out_channels % groups == 0,
      "Conv2d: in_channels (" + std::to_string(in_channels) + ") and out_channels (" + std::to_string(out_channels) +
          ") must be positive and divisible by groups (" + std::to_string(groups) + ")");
  EMBER_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0,
              "Conv2d: kernel_size must be positive, got " + pair_text(kernel_size));
  weight =
      register_parameter("weight", empty({out_channels, in_channels / groups, kernel_size[0], kernel_size[1]}, dtype));
  if (has_bias) bias = register_parameter("bias", empty({out_channels}, dtype));
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1 / std::sqrt(static_cast<double>(init::fan_in(weight)));
    init::uniform_(bias, -bound, bound);
  }
}

// PyTorch's Conv2d.extra_repr: stride always; padding, dilation, groups only when not the default.
std::string Conv2d::extra_repr() const {
  std::string text = std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                     ", kernel_size=" + pair_text(kernel_size) + ", stride=" + pair_text(stride);
  if (padding != Size2{0, 0}) text += ", padding=" + pair_text(padding);
  if (dilation != Size2{1, 1}) text += ", dilation=" + pair_text(dilation);
  if (groups != 1) text += ", groups=" + std::to_string(groups);
  if (!bias.defined()) text += ", bias=False";
  return text;
}

}  // namespace ember::nn
