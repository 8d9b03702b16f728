// What cuda/conv.cu (Ember's convolution kernels) and cuda/conv_cudnn.cu (the cuDNN backend) share:
// the entry points of each backend. The sizes of one convolution (ConvShape, conv_shape) are
// tensor/conv_shape.h's, the same the CPU kernels use.
#pragma once
#include <cstdint>

#include "tensor/conv_shape.h"
#include "tensor/kernels.h"

namespace ember::cuda {

using Conv2dGeometry = DeviceKernels::Conv2dGeometry;

// Per group g the convolution is the GEMM  out_g (C_out_g, P) = weight_g (C_out_g, K) @ cols_g (K, P)
// (the formulas are in tensor/kernels.h and tensor/cpu/conv.cpp).
//
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
