// 2-d convolution on the CPU as im2col + GEMM.
//
// Shapes, per image n and group g (C_in_g = C_in / groups input channels, C_out_g outputs):
//   cols   (K, P)          K = C_in_g * KH * KW rows, P = OH * OW columns:
//                          cols[(ci, kh, kw), (oh, ow)] = input[n, ci, oh sh - ph + kh dh, ow sw - pw + kw dw]
//                          (0 where that position falls into the padding)
//   forward:      out_g (C_out_g, P)  = weight_g (C_out_g, K) @ cols (K, P)      (+ bias per row)
//   grad weight:  dW_g  (C_out_g, K) += dout_g (C_out_g, P) @ cols^T (P, K)      (summed over n)
//   grad input:   dcols (K, P)        = weight_g^T (K, C_out_g) @ dout_g (C_out_g, P),
//                 then col2im adds every dcols entry back onto the input position it was copied from.
//   grad bias:    db[co] = sum over n, oh, ow of dout[n, co, oh, ow]
// A 1x1 convolution with stride 1 and no padding needs no im2col: the input plane (C_in_g, H*W)
// is cols itself. The cols buffer is kept per thread and reused from call to call.
#include <algorithm>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"

namespace ember::cpu {

namespace {

using Geometry = DeviceKernels::Conv2dGeometry;

struct ConvShape {
  int64_t N, C_in, H, W, C_out, KH, KW, OH, OW, groups, C_in_g, C_out_g, K, P;
  bool direct;  // 1x1, stride 1, no padding: cols is the input itself
};

ConvShape shape_of(const Tensor& input, const Tensor& weight, const Tensor& out_like, const Geometry& g) {
  ConvShape s{};
  s.N = input.size(0), s.C_in = input.size(1), s.H = input.size(2), s.W = input.size(3);
  s.C_out = weight.size(0), s.KH = weight.size(2), s.KW = weight.size(3);
  s.OH = out_like.size(2), s.OW = out_like.size(3);
  s.groups = g.groups, s.C_in_g = s.C_in / g.groups, s.C_out_g = s.C_out / g.groups;
  s.K = s.C_in_g * s.KH * s.KW, s.P = s.OH * s.OW;
  s.direct = s.KH == 1 && s.KW == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0;
  return s;
}

// cols (K, P) from the C_in_g planes starting at `in` (each H x W).
template <typename T>
void im2col(const T* in, T* cols, const ConvShape& s, const Geometry& g) {
  for (int64_t ci = 0; ci < s.C_in_g; ++ci)
    for (int64_t kh = 0; kh < s.KH; ++kh)
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        T* row = cols + ((ci * s.KH + kh) * s.KW + kw) * s.P;
        for (int64_t oh = 0; oh < s.OH; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          T* dst = row + oh * s.OW;
          if (ih < 0 || ih >= s.H) {
            std::fill(dst, dst + s.OW, T(0));
            continue;
          }
          const T* src = in + (ci * s.H + ih) * s.W;
          for (int64_t ow = 0; ow < s.OW; ++ow) {
            const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
            dst[ow] = iw >= 0 && iw < s.W ? src[iw] : T(0);
          }
        }
      }
}

// The adjoint of im2col: adds every cols entry onto the input position it came from (grad_in must
// start at zero; one position can feed several columns when the kernels overlap).
template <typename T>
void col2im(const T* cols, T* grad_in, const ConvShape& s, const Geometry& g) {
  for (int64_t ci = 0; ci < s.C_in_g; ++ci)
    for (int64_t kh = 0; kh < s.KH; ++kh)
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const T* row = cols + ((ci * s.KH + kh) * s.KW + kw) * s.P;
        for (int64_t oh = 0; oh < s.OH; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= s.H) continue;
          T* dst = grad_in + (ci * s.H + ih) * s.W;
          const T* src = row + oh * s.OW;
          for (int64_t ow = 0; ow < s.OW; ++ow) {
            const int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
            if (iw >= 0 && iw < s.W) dst[iw] += src[ow];
          }
        }
      }
}

// A scratch buffer per thread, grown as needed and kept for the next call.
template <typename T>
T* scratch(size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

// Row-major matrix operands for gemm(): (rows, cols) with leading dimension ld, optionally transposed.
template <typename T>
GemmOperand<T> matrix(const T* data, int64_t ld) {
  return {data, ld, 1};
}
template <typename T>
GemmOperand<T> transposed(const T* data, int64_t ld) {  // the transpose of a row-major (.., ld) matrix
  return {data, 1, ld};
}

template <typename T>
void conv2d_typed(const Tensor& out, const Tensor& input_in, const Tensor& weight_in, const Tensor& bias,
                  const Geometry& g) {
  const Tensor input = contiguous_cpu(input_in), weight = contiguous_cpu(weight_in);
  const ConvShape s = shape_of(input, weight, out, g);
  const T* x = static_cast<const T*>(input.raw_data());
  const T* w = static_cast<const T*>(weight.raw_data());
  T* y = static_cast<T*>(out.raw_data());
  const Tensor bias_contiguous = bias.defined() ? contiguous_cpu(bias) : Tensor();
  const T* b = bias.defined() ? static_cast<const T*>(bias_contiguous.raw_data()) : nullptr;
  T* cols = s.direct ? nullptr : scratch<T>(static_cast<size_t>(s.K * s.P));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t grp = 0; grp < s.groups; ++grp) {
      const T* in = x + (n * s.C_in + grp * s.C_in_g) * s.H * s.W;
      T* o = y + (n * s.C_out + grp * s.C_out_g) * s.P;
      if (!s.direct) im2col(in, cols, s, g);
      const T* B = s.direct ? in : cols;
      gemm(s.C_out_g, s.P, s.K, matrix(w + grp * s.C_out_g * s.K, s.K), matrix(B, s.P), o);  // (C_out_g, P)
      if (b)
        for (int64_t co = 0; co < s.C_out_g; ++co) {
          const T value = b[grp * s.C_out_g + co];
          T* row = o + co * s.P;
          for (int64_t p = 0; p < s.P; ++p) row[p] += value;
        }
    }
}

template <typename T>
void conv2d_backward_typed(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out_in, const Tensor& input_in, const Tensor& weight_in,
                           const Geometry& g) {
  const Tensor input = contiguous_cpu(input_in), weight = contiguous_cpu(weight_in);
  const Tensor grad_out = contiguous_cpu(grad_out_in);
  const ConvShape s = shape_of(input, weight, grad_out, g);
  const T* x = static_cast<const T*>(input.raw_data());
  const T* w = static_cast<const T*>(weight.raw_data());
  const T* dy = static_cast<const T*>(grad_out.raw_data());

  if (grad_bias.defined()) {
    T* db = static_cast<T*>(grad_bias.raw_data());
    for (int64_t co = 0; co < s.C_out; ++co) {
      T total = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* row = dy + (n * s.C_out + co) * s.P;
        for (int64_t p = 0; p < s.P; ++p) total += row[p];
      }
      db[co] = total;
    }
  }
  if (grad_weight.defined()) {
    T* dw = static_cast<T*>(grad_weight.raw_data());
    std::fill(dw, dw + s.C_out * s.K, T(0));
    T* cols = s.direct ? nullptr : scratch<T>(static_cast<size_t>(s.K * s.P));
    std::vector<T> partial(static_cast<size_t>(s.C_out_g * s.K));
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t grp = 0; grp < s.groups; ++grp) {
        const T* in = x + (n * s.C_in + grp * s.C_in_g) * s.H * s.W;
        if (!s.direct) im2col(in, cols, s, g);
        const T* A = dy + (n * s.C_out + grp * s.C_out_g) * s.P;  // dout_g (C_out_g, P)
        gemm(s.C_out_g, s.K, s.P, matrix(A, s.P), transposed(s.direct ? in : cols, s.P), partial.data());
        T* dst = dw + grp * s.C_out_g * s.K;
        for (size_t i = 0; i < partial.size(); ++i) dst[i] += partial[i];
      }
  }
  if (grad_input.defined()) {
    T* dx = static_cast<T*>(grad_input.raw_data());
    std::fill(dx, dx + s.N * s.C_in * s.H * s.W, T(0));
    T* dcols = scratch<T>(static_cast<size_t>(s.K * s.P));
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t grp = 0; grp < s.groups; ++grp) {
        const T* B = dy + (n * s.C_out + grp * s.C_out_g) * s.P;  // dout_g (C_out_g, P)
        T* din = dx + (n * s.C_in + grp * s.C_in_g) * s.H * s.W;
        // dcols (K, P) = weight_g^T (K, C_out_g) @ dout_g (C_out_g, P); direct: that is din itself.
        T* target = s.direct ? din : dcols;
        gemm(s.K, s.P, s.C_out_g, transposed(w + grp * s.C_out_g * s.K, s.K), matrix(B, s.P), target);
        if (!s.direct) col2im(dcols, din, s, g);
      }
  }
}

}  // namespace

void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias, const Geometry& g) {
  visit_floating("conv2d", out.dtype(), [&]<typename T>() { conv2d_typed<T>(out, input, weight, bias, g); });
}

void conv2d_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const Tensor& grad_out, const Tensor& input, const Tensor& weight, const Geometry& g) {
  visit_floating("conv2d_backward", grad_out.dtype(), [&]<typename T>() {
    conv2d_backward_typed<T>(grad_input, grad_weight, grad_bias, grad_out, input, weight, g);
  });
}

}  // namespace ember::cpu
