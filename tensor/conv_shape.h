// The sizes of one 2-d convolution, read once from its operands; shared by the CPU kernels
// (tensor/cpu/conv.cpp) and the GPU kernels (cuda/conv.cu, conv_cudnn.cu).
//   input (N, C_in, H, W), weight (C_out, C_in_g, KH, KW), out (N, C_out, OH, OW)
//   C_in_g = C_in / groups, C_out_g = C_out / groups
//   K = C_in_g * KH * KW (the GEMM's depth), P = OH * OW (output positions per image)
#pragma once
#include <cstdint>

#include "tensor/kernels.h"

namespace ember {

struct ConvShape {
  int64_t N, C_in, H, W, C_out, KH, KW, OH, OW, groups, C_in_g, C_out_g, K, P;
  bool direct;  // 1x1, stride 1, no padding: the input plane (C_in_g, H*W) is already the cols matrix
};

inline ConvShape conv_shape(const Tensor& input, const Tensor& weight, const Tensor& out_like,
                            const DeviceKernels::Conv2dGeometry& g) {
  ConvShape s{};
  s.N = input.size(0), s.C_in = input.size(1), s.H = input.size(2), s.W = input.size(3);
  s.C_out = weight.size(0), s.KH = weight.size(2), s.KW = weight.size(3);
  s.OH = out_like.size(2), s.OW = out_like.size(3);
  s.groups = g.groups, s.C_in_g = s.C_in / g.groups, s.C_out_g = s.C_out / g.groups;
  s.K = s.C_in_g * s.KH * s.KW, s.P = s.OH * s.OW;
  s.direct = s.KH == 1 && s.KW == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
  return s;
}

}  // namespace ember
