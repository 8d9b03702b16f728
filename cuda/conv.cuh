// What cuda/conv.cu (Ember's convolution kernels) and cuda/conv_cudnn.cu (the cuDNN backend) share:
// the sizes of one convolution, read off its tensors, and the cuDNN entry points.
#pragma once
#include <cstdint>

#include "tensor/kernels.h"

namespace ember::cuda {

using Conv2dGeometry = DeviceKernels::Conv2dGeometry;

// input (N, C_in, H, W), weight (C_out, C_in_g, KH, KW), out (N, C_out, OH, OW); per group g the
// convolution is the GEMM  out_g (C_out_g, P) = weight_g (C_out_g, K) @ cols_g (K, P)  with
// K = C_in_g * KH * KW and P = OH * OW (the formulas are in tensor/kernels.h and tensor/cpu/conv.cpp).
struct ConvShape {
  int64_t N, C_in, H, W, C_out, KH, KW, OH, OW, groups, C_in_g, C_out_g, K, P;
};

inline ConvShape conv_shape(const Tensor& input, const Tensor& weight, const Tensor& out_like,
                            const Conv2dGeometry& g) {
  ConvShape s{};
  s.N = input.size(0), s.C_in = input.size(1), s.H = input.size(2), s.W = input.size(3);
  s.C_out = weight.size(0), s.KH = weight.size(2), s.KW = weight.size(3);
  s.OH = out_like.size(2), s.OW = out_like.size(3);
  s.groups = g.groups, s.C_in_g = s.C_in / g.groups, s.C_out_g = s.C_out / g.groups;
  s.K = s.C_in_g * s.KH * s.KW, s.P = s.OH * s.OW;
  return s;
}

// Ember's backend (conv.cu), also reachable directly so tests and benchmarks can name the kernel.
void conv2d_ember(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Conv2dGeometry& geometry);
void conv2d_backward_ember(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                           const Conv2dGeometry& geometry);

// The most elements one im2col buffer may hold (images are processed in chunks that fit). Tests
// lower it to make the chunk loop run; 0 restores the default (2^25 elements).
void set_im2col_budget(int64_t elements);

#ifdef EMBER_HAVE_CUDNN
// conv_cudnn.cu: the same contracts through cuDNN.
void conv2d_cudnn(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Conv2dGeometry& geometry);
void conv2d_backward_cudnn(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                           const Conv2dGeometry& geometry);
#endif

}  // namespace ember::cuda
