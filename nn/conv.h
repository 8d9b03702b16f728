// 2-d convolution: the differentiable op conv2d and the module Conv2d (PyTorch's nn.Conv2d).
//
//   x (N, C_in, H, W), weight (C_out, C_in / groups, KH, KW), bias (C_out) or undefined
//   -> y (N, C_out, OH, OW),  OH = (H + 2 padding - dilation (KH - 1) - 1) / stride + 1
//
// The kernels (im2col + GEMM on the CPU) are tensor/cpu/conv.cpp; this file checks shapes, records
// the backward node and holds the module's parameters and PyTorch's default initialisation.
#pragma once
#include <array>

#include "nn/module.h"

namespace ember::nn {

using Size2 = std::array<int64_t, 2>;  // (height, width)

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = {1, 1},
              Size2 padding = {0, 0}, Size2 dilation = {1, 1}, int64_t groups = 1);

// Weight (out, in / groups, kh, kw) ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in / groups * kh * kw (PyTorch's defaults).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride = {1, 1}, Size2 padding = {0, 0},
         Size2 dilation = {1, 1}, int64_t groups = 1, bool bias = true, DType dtype = DType::Float32);
  // Square kernels, strides and paddings, as Conv2d(3, 64, 7, 2, 3) in PyTorch.
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         bool bias = true)
      : Conv2d(in_channels, out_channels, {kernel_size, kernel_size}, {stride, stride}, {padding, padding}, {1, 1}, 1,
               bias) {}
  Tensor forward(const Tensor& x) override { return conv2d(x, weight, bias, stride, padding, dilation, groups); }
  std::string extra_repr() const override;  // "3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False"
  void reset_parameters();

  int64_t in_channels, out_channels;
  Size2 kernel_size, stride, padding, dilation;
  int64_t groups;
  Tensor weight, bias;
};

}  // namespace ember::nn
