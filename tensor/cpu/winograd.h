// Winograd F(2x2, 3x3): 3x3 convolutions (stride 1, dilation 1, one group, any padding) with 16
// multiplications per 2x2 output tile and channel pair instead of 36. After Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks" (2016).
//
// One dimension first: two outputs of a 3-tap correlation, y_i = sum_k d_{i+k} g_k (i = 0, 1),
// from four inputs d_0..d_3 cost 6 multiplications directly, 4 with Winograd's F(2, 3):
//   y = A^T [ (G g) * (B^T d) ]        (* elementwise on vectors of 4)
// with
//         [ 1  0 -1  0 ]         [  1    0    0  ]
//   B^T = [ 0  1  1  0 ]     G = [ 1/2  1/2  1/2 ]     A^T = [ 1  1  1  0 ]
//         [ 0 -1  1  0 ]         [ 1/2 -1/2  1/2 ]           [ 0  1 -1 -1 ]
//         [ 0  1  0 -1 ]         [  0    0    1  ]
// Nesting it along rows and columns gives the 2-d form for a 4x4 input tile d and a 3x3 filter g:
//   Y (2x2) = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise on 4x4 matrices)
// The output is cut into 2x2 tiles; tile (ty, tx) of image n reads the 4x4 input tile whose top
// left corner is (2 ty - pad_h, 2 tx - pad_w) (zeros outside the image; neighbouring tiles overlap
// by two rows/columns). Summed over input channels, with xi = 0..15 the position in the 4x4 tile:
//   U[xi] (C_out, C_in) = (G g[co, ci] G^T)[xi]                   filters, transformed once per call
//   V[xi] (C_in, T)     = (B^T d[ci, t] B)[xi]                    input tiles, T tiles (over images)
//   M[xi] (C_out, T)    = U[xi] @ V[xi]                           16 independent GEMMs
//   Y[co, t] (2x2)      = A^T M[:, co, t] A                       (+ bias)
// so the multiplications move into 16 GEMMs of (C_out x C_in) @ (C_in x T), 2.25x fewer
// multiply-adds than im2col's (C_out x 9 C_in) @ (9 C_in x 4 T). The transforms are adds only.
//
// Backward, for L(Y) with grad_out dY:
//   grad_input:  the correlation of dY (padded by 2 - pad) with the filters turned by 180 degrees
//                and C_in/C_out swapped: the same algorithm, run on dY (a "full" correlation).
//   grad_weight: the adjoint of the forward map, g -> G g G^T -> (* V) -> A^T . A, applied to dY:
//                dW[co, ci] = G^T ( sum_t (A dY[co, t] A^T) * (B^T d[ci, t] B) ) G
//                i.e. dU[xi] (C_out, C_in) = Z[xi] (C_out, T) @ V[xi]^T (T, C_in) with
//                Z[xi] = (A dY_tile A^T)[xi] (output tiles past the edge count as zeros), then
//                dW = G^T dU G per (co, ci): 16 GEMMs again, 2.25x fewer multiply-adds.
// The transforms have entries 0, +-1, +-1/2, so the results agree with im2col's to float rounding;
// float32 only (float64, used by the gradchecks, stays on im2col).
//
// All tensors are contiguous float32: input (N, C_in, H, W), weight (C_out, C_in, 3, 3),
// output (N, C_out, OH, OW) with OH = H + 2 pad_h - 2, OW = W + 2 pad_w - 2.
#pragma once
#include <cstdint>

namespace ember::cpu {

struct WinogradShape {
  int64_t N, C_in, H, W, C_out, OH, OW, pad_h, pad_w;
};

// out = conv(input, weight) + bias (bias may be null)
void winograd_conv2d(const float* input, const float* weight, const float* bias, float* out, const WinogradShape& s);
// grad_input (N, C_in, H, W) from grad_out (N, C_out, OH, OW); overwritten
void winograd_conv2d_backward_input(const float* grad_out, const float* weight, float* grad_input,
                                    const WinogradShape& s);
// grad_weight (C_out, C_in, 3, 3) from grad_out and input; overwritten
void winograd_conv2d_backward_weight(const float* grad_out, const float* input, float* grad_weight,
                                     const WinogradShape& s);

// Which algorithm conv2d uses for the convolutions Winograd can do (EMBER_CPU_CONV_ALGO=auto|winograd|
// im2col on first use, or set_conv_algorithm). Auto: Winograd for float32 where it applies and
// is faster (see conv.cpp's winograd_pays); Winograd: wherever it applies (float32); Im2col: never.
enum class ConvAlgorithm { Auto, Winograd, Im2col };
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();

}  // namespace ember::cpu
