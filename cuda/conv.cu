// 2-d convolution on the GPU with Ember's own kernels (the kernel table's entries, which choose
// between these and cuDNN, are in conv_cudnn.cu).
//
// Shapes (one image n, one group g; C_in_g = C_in / groups, C_out_g = C_out / groups):
//   input (N, C_in, H, W), weight (C_out, C_in_g, KH, KW), out (N, C_out, OH, OW)
//   K = C_in_g * KH * KW (the GEMM's depth), P = OH * OW (output positions per image)
//   cols_g (K, P):  cols[(ci, kh, kw), (oh, ow)] = input[n, g C_in_g + ci, oh sh - ph + kh dh, ow sw - pw + kw dw]
//                   (0 where that position is padding)
//   forward:        out_g (C_out_g, P)  = weight_g (C_out_g, K) @ cols_g (K, P)   (+ bias[co] on every row)
//   grad weight:    dW_g (C_out_g, K)   = sum over n of dout_g (C_out_g, P) @ cols_g^T (P, K)
//   grad input:     dcols_g (K, P)      = weight_g^T (K, C_out_g) @ dout_g (C_out_g, P), then col2im
//                   sums every dcols entry back onto the input position it was read from
//   grad bias:      db[co] = sum over n, oh, ow of dout[n, co, oh, ow]
// (the derivation is the CPU's: tensor/cpu/conv.cpp; this file mirrors it kernel by kernel).
//
// The forward has two algorithms (set_conv_algorithm, EMBER_CUDA_CONV_ALGO=implicit|im2col):
//   implicit (default): conv2d_implicit_gemm_kernel, one GEMM over all images whose B tiles are
//                       gathered from the input while they are loaded: no cols buffer at all.
//   im2col:             im2col_kernel writes cols for a chunk of images, the hand GEMM (gemm_hand.h)
//                       multiplies; a 1x1 convolution with stride 1 and no padding skips im2col.
// The backward always uses im2col + hand GEMM (grad weight) and hand GEMM + col2im (grad input).
//
// The cols buffer of a chunk of Nc images is laid out (C_in * KH * KW, Nc * P): row (ci, kh, kw)
// holds that tap for every output position of every image of the chunk, so group g's rows are the
// contiguous block cols_g (K, Nc P), and the weight gradient of a whole chunk is one GEMM per group
// with depth Nc P (no per-image partial sums).
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/conv.cuh"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "cuda/gemm_hand.h"

namespace ember::cuda {

// ---- the algorithm switch ---------------------------------------------------------------------------
static bool try_parse_conv_algorithm(const std::string& text, ConvAlgorithm& algorithm) {
  if (text == "implicit") return algorithm = ConvAlgorithm::ImplicitGemm, true;
  if (text == "im2col") return algorithm = ConvAlgorithm::Im2colGemm, true;
  return false;
}

ConvAlgorithm parse_conv_algorithm(const std::string& text) {
  ConvAlgorithm algorithm;
  EMBER_CHECK(try_parse_conv_algorithm(text, algorithm),
              "unknown convolution algorithm '" + text + "': the choices are 'implicit' and 'im2col'");
  return algorithm;
}

const char* conv_algorithm_name(ConvAlgorithm algorithm) {
  return algorithm == ConvAlgorithm::ImplicitGemm ? "implicit" : "im2col";
}

static ConvAlgorithm algorithm_from_environment() {
  const char* text = std::getenv("EMBER_CUDA_CONV_ALGO");
  if (!text || !*text) return ConvAlgorithm::ImplicitGemm;
  ConvAlgorithm algorithm;
  EMBER_CHECK(try_parse_conv_algorithm(text, algorithm),
              std::string("EMBER_CUDA_CONV_ALGO must be 'implicit' or 'im2col', got '") + text + "'");
  return algorithm;
}

static std::atomic<ConvAlgorithm>& current_algorithm() {
  static std::atomic<ConvAlgorithm> algorithm{algorithm_from_environment()};
  return algorithm;
}
void set_conv_algorithm(ConvAlgorithm algorithm) { current_algorithm() = algorithm; }
ConvAlgorithm conv_algorithm() { return current_algorithm(); }

constexpr int64_t kDefaultIm2colBudget = int64_t{1} << 25;  // elements: 128 MiB of float32
static std::atomic<int64_t> im2col_budget{kDefaultIm2colBudget};
void set_im2col_budget(int64_t elements) { im2col_budget = elements > 0 ? elements : kDefaultIm2colBudget; }

// ---- the sizes as the kernels take them ----------------------------------------------------------
// Everything a kernel needs, in int: the launchers check that every extent fits.
struct ConvArgs {
  int N, C_in, H, W, C_out, KH, KW, OH, OW, C_in_g, C_out_g, K, P;
  int stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

static ConvArgs conv_args(const ConvShape& s, const Conv2dGeometry& g, int64_t images) {
  // the kernels index within an image, a weight and the (n, oh, ow) columns of a chunk with int;
  // offsets into whole tensors are int64
  const int64_t largest = std::max({images * s.P, s.C_in * s.H * s.W, s.C_out * s.K, s.C_out * s.P});
  EMBER_CHECK(largest < INT_MAX, "conv2d (cuda): input (" + std::to_string(images) + ", " + std::to_string(s.C_in) +
                                     ", " + std::to_string(s.H) + ", " + std::to_string(s.W) + ") with weight (" +
                                     std::to_string(s.C_out) + ", " + std::to_string(s.C_in_g) + ", " +
                                     std::to_string(s.KH) + ", " + std::to_string(s.KW) +
                                     ") is too large for the kernels' int indices (at most 2^31 - 1)");
  auto i = [](int64_t v) { return static_cast<int>(v); };
  return {i(images),     i(s.C_in),  i(s.H),      i(s.W),          i(s.C_out),     i(s.KH), i(s.KW),
          i(s.OH),       i(s.OW),    i(s.C_in_g), i(s.C_out_g),    i(s.K),         i(s.P),  i(g.stride_h),
          i(g.stride_w), i(g.pad_h), i(g.pad_w),  i(g.dilation_h), i(g.dilation_w)};
}

// ---- im2col and col2im ------------------------------------------------------------------------------
// cols (C_in * KH * KW, N * P) from input (N, C_in, H, W) of this chunk:
//   cols[(c, kh, kw), (n, oh, ow)] = input[n, c, oh sh - ph + kh dh, ow sw - pw + kw dw]   (0 in the padding)
// One thread per (c, n, oh, ow) (ow fastest), which walks its KH * KW taps: consecutive threads
// write consecutive columns (coalesced) and read neighbouring input pixels. Grid-stride loop.
template <typename T>
__global__ void im2col_kernel(const T* __restrict__ input, T* __restrict__ cols, ConvArgs a) {
  const int64_t NP = static_cast<int64_t>(a.N) * a.P;
  const int64_t total = a.C_in * NP;
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(index / NP);
    const int64_t column = index % NP;  // (n, oh, ow)
    const int n = static_cast<int>(column / a.P), p = static_cast<int>(column % a.P);
    const int oh = p / a.OW, ow = p % a.OW;
    const T* plane = input + (static_cast<int64_t>(n) * a.C_in + c) * a.H * a.W;
    T* dst = cols + static_cast<int64_t>(c) * a.KH * a.KW * NP + column;
    for (int kh = 0; kh < a.KH; ++kh) {
      const int ih = oh * a.stride_h - a.pad_h + kh * a.dilation_h;
      for (int kw = 0; kw < a.KW; ++kw) {
        const int iw = ow * a.stride_w - a.pad_w + kw * a.dilation_w;
        *dst = ih >= 0 && ih < a.H && iw >= 0 && iw < a.W ? plane[static_cast<int64_t>(ih) * a.W + iw] : T(0);
        dst += NP;  // the next tap's row
      }
    }
  }
}

// The adjoint of im2col, written as a gather so that no two threads add into one element (no
// atomics, the same sum order every run): one thread per input element (n, c, ih, iw) sums the
// dcols entries of every tap (kh, kw) and output position (oh, ow) that read it, i.e. those with
//   oh sh = ih + ph - kh dh   and   ow sw = iw + pw - kw dw   (exactly divisible, 0 <= oh < OH, 0 <= ow < OW)
//   grad_input[n, c, ih, iw] = sum of dcols[(c, kh, kw), (n, oh, ow)]        (overwritten, not accumulated)
template <typename T>
__global__ void col2im_kernel(const T* __restrict__ dcols, T* __restrict__ grad_input, ConvArgs a) {
  const int64_t NP = static_cast<int64_t>(a.N) * a.P;
  const int64_t total = static_cast<int64_t>(a.N) * a.C_in * a.H * a.W;
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int iw = static_cast<int>(index % a.W);
    const int ih = static_cast<int>(index / a.W % a.H);
    const int c = static_cast<int>(index / (static_cast<int64_t>(a.W) * a.H) % a.C_in);
    const int n = static_cast<int>(index / (static_cast<int64_t>(a.W) * a.H * a.C_in));
    const T* column0 = dcols + static_cast<int64_t>(c) * a.KH * a.KW * NP + static_cast<int64_t>(n) * a.P;
    T sum = 0;
    for (int kh = 0; kh < a.KH; ++kh) {
      const int h = ih + a.pad_h - kh * a.dilation_h;  // = oh * sh
      if (h < 0 || h % a.stride_h != 0 || h / a.stride_h >= a.OH) continue;
      const int oh = h / a.stride_h;
      for (int kw = 0; kw < a.KW; ++kw) {
        const int w = iw + a.pad_w - kw * a.dilation_w;  // = ow * sw
        if (w < 0 || w % a.stride_w != 0 || w / a.stride_w >= a.OW) continue;
        const int ow = w / a.stride_w;
        sum += column0[(static_cast<int64_t>(kh) * a.KW + kw) * NP + oh * a.OW + ow];
      }
    }
    grad_input[index] = sum;
  }
}

// ---- bias ------------------------------------------------------------------------------------------
// out[n, co, p] += bias[co] over out (N, C_out, P); grid-stride loop, one element per step.
template <typename T>
__global__ void add_bias_kernel(T* __restrict__ out, const T* __restrict__ bias, int64_t total, int C_out, int P) {
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[index] += bias[index / P % C_out];
}

// grad_bias[co] = sum over n, p of grad_out[n, co, p]. One block per channel co: its threads walk
// the N * P values with a block-stride loop, then halve the partial sums in shared memory.
constexpr int kBiasThreads = 256;
template <typename T>
__global__ void bias_grad_kernel(T* __restrict__ grad_bias, const T* __restrict__ grad_out, int N, int C_out, int P) {
  __shared__ T partial[kBiasThreads];
  const int co = blockIdx.x;
  T sum = 0;
  for (int64_t i = threadIdx.x; i < static_cast<int64_t>(N) * P; i += kBiasThreads) {
    const int64_t n = i / P, p = i % P;
    sum += grad_out[(n * C_out + co) * P + p];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kBiasThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) grad_bias[co] = partial[0];
}

// ---- the implicit-GEMM forward ----------------------------------------------------------------------
// One GEMM per group over all images at once:
//   C (C_out_g, N P) = A (C_out_g, K) @ B (K, N P)
//   A(m, k)      = weight[g C_out_g + m, k]                   (k = (ci, kh, kw), the weight's own layout)
//   B(k, j)      = input[n, g C_in_g + ci, oh sh - ph + kh dh, ow sw - pw + kw dw]   j = (n, oh, ow), 0 in padding
//   out[n, g C_out_g + m, oh, ow] = C(m, j) + bias[g C_out_g + m]
// B is never stored: its tile is gathered from the input while it is loaded.
//
// Tiles: a block computes a 64 (m) x 64 (j) tile of C with 256 threads, walking K in steps of 8.
// Grid: x = tiles along N P, y = tiles along C_out_g, z = group.
//   loads per step (two values of each operand per thread):
//     A: thread t reads k = k0 + t % 8 of rows m0 + t / 8 and m0 + t / 8 + 32 (8 threads read 8
//        consecutive weights of a row), into a_tile[k][m] (rows padded to 68: no bank conflicts);
//     B: thread t gathers j = j0 + t % 64 for k = k0 + t / 64 and k0 + t / 64 + 4 (a warp reads 32
//        neighbouring output positions: neighbouring input pixels), into b_tile[k][j].
//     The thread's (n, oh, ow) and its image's base pointer are computed once; each k costs two
//     divisions to find (ci, kh, kw).
//   compute: thread (ty, tx) = (t / 16, t % 16) owns the 4 x 4 outputs m = ty + 16 i, j = tx + 16 c
//     (i, c < 4): per k it reads 4 values of a_tile and 4 of b_tile (16 threads of a half-warp read
//     16 consecutive b values; the a values are broadcasts) and does 16 FMAs.
//   double buffering: two copies of each tile; the next step's values are fetched into registers
//     before the current tile is multiplied and stored into the other copy after it, so one
//     __syncthreads per step separates the steps (the scheme of gemm_hand.cu).
//   stores: 16 threads write 16 consecutive j, mostly consecutive (oh, ow) of one image.
constexpr int kTileM = 64, kTileJ = 64, kTileK = 8, kImplicitThreads = 256;
constexpr int kTilePitchM = kTileM + 4;

// B(k, j) for this thread's j: (ih0, iw0) = (oh sh - ph, ow sw - pw), `image` = its group's first
// input plane of image n; 0 outside the input and for k >= K.
template <typename T>
__device__ __forceinline__ T gather_input(const T* image, int k, int ih0, int iw0, bool j_inside, const ConvArgs& a) {
  if (!j_inside || k >= a.K) return T(0);
  const int taps = a.KH * a.KW;
  const int ci = k / taps, tap = k % taps;
  const int ih = ih0 + (tap / a.KW) * a.dilation_h, iw = iw0 + (tap % a.KW) * a.dilation_w;
  if (ih < 0 || ih >= a.H || iw < 0 || iw >= a.W) return T(0);
  return image[(static_cast<int64_t>(ci) * a.H + ih) * a.W + iw];
}

template <typename T>
__global__ void __launch_bounds__(kImplicitThreads)
    conv2d_implicit_gemm_kernel(const T* __restrict__ input, const T* __restrict__ weight, const T* __restrict__ bias,
                                T* __restrict__ out, ConvArgs a) {
  __shared__ T a_tile[2][kTileK][kTilePitchM];  // a_tile[kk][mm] = A(m0 + mm, k0 + kk)
  __shared__ T b_tile[2][kTileK][kTileJ];       // b_tile[kk][jj] = B(k0 + kk, j0 + jj)

  const int t = threadIdx.x;
  const int group = blockIdx.z, m0 = blockIdx.y * kTileM, j0 = blockIdx.x * kTileJ;
  const int NP = a.N * a.P;

  // this thread's A loads: rows m0 + a_row (+ 32), depth k0 + a_k
  const int a_row = t / 8, a_k = t % 8;
  const T* weight_g = weight + static_cast<int64_t>(group) * a.C_out_g * a.K;
  const bool row0_inside = m0 + a_row < a.C_out_g, row1_inside = m0 + a_row + 32 < a.C_out_g;
  const T* w_row0 = weight_g + static_cast<int64_t>(m0 + a_row) * a.K;
  const T* w_row1 = w_row0 + static_cast<int64_t>(32) * a.K;

  // this thread's B gathers: column j0 + b_col, depth k0 + b_k (+ 4)
  const int b_col = t % kTileJ, b_k = t / kTileJ;
  const int j = j0 + b_col;
  const bool j_inside = j < NP;
  const int n = j_inside ? j / a.P : 0, p = j_inside ? j % a.P : 0;
  const int ih0 = (p / a.OW) * a.stride_h - a.pad_h, iw0 = (p % a.OW) * a.stride_w - a.pad_w;
  const T* image = input + (static_cast<int64_t>(n) * a.C_in + static_cast<int64_t>(group) * a.C_in_g) * a.H * a.W;

  T a_next[2], b_next[2];
  auto fetch = [&](int k0) {  // global memory -> registers
    const int ka = k0 + a_k;
    a_next[0] = row0_inside && ka < a.K ? w_row0[ka] : T(0);
    a_next[1] = row1_inside && ka < a.K ? w_row1[ka] : T(0);
    b_next[0] = gather_input(image, k0 + b_k, ih0, iw0, j_inside, a);
    b_next[1] = gather_input(image, k0 + b_k + 4, ih0, iw0, j_inside, a);
  };
  auto stash = [&](int buffer) {  // registers -> shared memory
    a_tile[buffer][a_k][a_row] = a_next[0];
    a_tile[buffer][a_k][a_row + 32] = a_next[1];
    b_tile[buffer][b_k][b_col] = b_next[0];
    b_tile[buffer][b_k + 4][b_col] = b_next[1];
  };

  const int ty = t / 16, tx = t % 16;
  T acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int c = 0; c < 4; ++c) acc[i][c] = T(0);

  fetch(0);
  stash(0);
  __syncthreads();
  int current = 0;
  for (int k0 = 0; k0 < a.K; k0 += kTileK) {
    const bool has_next = k0 + kTileK < a.K;  // the same for every thread
    if (has_next) fetch(k0 + kTileK);
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      T av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = a_tile[current][kk][ty + 16 * i];
#pragma unroll
      for (int c = 0; c < 4; ++c) bv[c] = b_tile[current][kk][tx + 16 * c];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[i][c] += av[i] * bv[c];
    }
    if (has_next) stash(current ^ 1);  // nobody reads that copy now: the last __syncthreads saw to it
    __syncthreads();
    current ^= 1;
  }

#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + ty + 16 * i;
    if (m >= a.C_out_g) continue;
    const int co = group * a.C_out_g + m;
    const T b = bias ? bias[co] : T(0);
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const int jc = j0 + tx + 16 * c;
      if (jc >= NP) continue;
      const int nc = jc / a.P, pc = jc % a.P;
      out[(static_cast<int64_t>(nc) * a.C_out + co) * a.P + pc] = acc[i][c] + b;
    }
  }
}

// ---- launchers ---------------------------------------------------------------------------------------
template <typename T>
static void hand_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda,
                      int64_t stride_a, const T* b, int64_t ldb, int64_t stride_b, T* c, int64_t batch,
                      cudaStream_t stream) {
  if constexpr (std::is_same_v<T, float>)
    sgemm_hand(trans_a, trans_b, M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, stream);
  else
    dgemm_hand(trans_a, trans_b, M, N, K, a, lda, stride_a, b, ldb, stride_b, c, batch, stream);
}

template <typename T>
static void im2col(const T* input, T* cols, const ConvArgs& a, int device, cudaStream_t stream) {
  const int64_t threads = static_cast<int64_t>(a.C_in) * a.N * a.P;
  im2col_kernel<T><<<blocks_for(threads, device), kThreadsPerBlock, 0, stream>>>(input, cols, a);
  EMBER_CUDA_KERNEL_CHECK("im2col_kernel");
}

template <typename T>
static void col2im(const T* dcols, T* grad_input, const ConvArgs& a, int device, cudaStream_t stream) {
  const int64_t threads = static_cast<int64_t>(a.N) * a.C_in * a.H * a.W;
  col2im_kernel<T><<<blocks_for(threads, device), kThreadsPerBlock, 0, stream>>>(dcols, grad_input, a);
  EMBER_CUDA_KERNEL_CHECK("col2im_kernel");
}

// How many images one chunk takes so that its cols (C_in KH KW, Nc P) stay within the budget.
static int64_t images_per_chunk(const ConvShape& s) {
  const int64_t per_image = std::max<int64_t>(s.C_in * s.KH * s.KW * s.P, 1);
  return std::clamp<int64_t>(im2col_budget / per_image, 1, std::max<int64_t>(s.N, 1));
}

template <typename T>
static void conv2d_implicit(T* y, const T* x, const T* w, const T* b, const ConvShape& s, const Conv2dGeometry& g,
                            int device, cudaStream_t stream) {
  const ConvArgs a = conv_args(s, g, s.N);
  // the last tile's columns j0 + 63 are formed in int even past N P
  EMBER_CHECK(s.N * s.P <= INT_MAX - kTileJ, "conv2d (cuda): N * OH * OW = " + std::to_string(s.N * s.P) +
                                                 " is too large for the implicit GEMM's int columns");
  const int64_t tiles_j = (s.N * s.P + kTileJ - 1) / kTileJ, tiles_m = (s.C_out_g + kTileM - 1) / kTileM;
  EMBER_CHECK(tiles_m <= 65535 && s.groups <= 65535, "conv2d (cuda): " + std::to_string(s.C_out) +
                                                         " output channels in " + std::to_string(s.groups) +
                                                         " groups are more than one launch covers");
  const dim3 grid(static_cast<unsigned>(tiles_j), static_cast<unsigned>(tiles_m), static_cast<unsigned>(s.groups));
  conv2d_implicit_gemm_kernel<T><<<grid, kImplicitThreads, 0, stream>>>(x, w, b, y, a);
  EMBER_CUDA_KERNEL_CHECK("conv2d_implicit_gemm_kernel");
}

template <typename T>
static void conv2d_im2col(T* y, const T* x, const T* w, const T* b, const ConvShape& s, const Conv2dGeometry& g,
                          int device, cudaStream_t stream, Device where) {
  // 1x1, stride 1, no padding: cols_g of image n is the input's own (C_in_g, P) block
  const bool direct = s.direct;
  const int64_t chunk = images_per_chunk(s);
  Tensor cols = direct ? Tensor() : empty({s.C_in * s.KH * s.KW * chunk * s.P}, dtype_of<T>(), where);
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    const int64_t images = std::min(chunk, s.N - n0);
    const T* x_chunk = x + n0 * s.C_in * s.H * s.W;
    T* y_chunk = y + n0 * s.C_out * s.P;
    // B operand of image i, group g: B + i * image_stride + g * group_stride, rows of length ldb
    const T* B = x_chunk;
    int64_t ldb = s.P, image_stride = s.C_in * s.P, group_stride = s.C_in_g * s.P;
    if (!direct) {
      T* c = static_cast<T*>(cols.raw_data());
      im2col(x_chunk, c, conv_args(s, g, images), device, stream);
      B = c, ldb = images * s.P, image_stride = s.P, group_stride = s.K * images * s.P;
    }
    if (s.groups == 1)  // out[n] (C_out, P) = W (C_out, K) @ B_n (K, P), batched over the images
      hand_gemm<T>(false, false, s.C_out, s.P, s.K, w, s.K, 0, B, ldb, image_stride, y_chunk, images, stream);
    else  // per image, batched over the groups: out[n] viewed as (groups, C_out_g, P)
      for (int64_t i = 0; i < images; ++i)
        hand_gemm<T>(false, false, s.C_out_g, s.P, s.K, w, s.K, s.C_out_g * s.K, B + i * image_stride, ldb,
                     group_stride, y_chunk + i * s.C_out * s.P, s.groups, stream);
  }
  if (b) {
    const int64_t total = s.N * s.C_out * s.P;
    add_bias_kernel<T><<<blocks_for(total, device), kThreadsPerBlock, 0, stream>>>(
        y, b, total, static_cast<int>(s.C_out), static_cast<int>(s.P));
    EMBER_CUDA_KERNEL_CHECK("add_bias_kernel");
  }
}

void conv2d_ember(const Tensor& out, const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in,
                  const Conv2dGeometry& g) {
  visit_floating("conv2d", out.dtype(), [&]<typename T>() {
    EMBER_CHECK(out.is_contiguous(),
                "conv2d (cuda): the output must be contiguous, got a view of shape " + out.shape().str());
    const Tensor input = contiguous_as(input_in, out.dtype()), weight = contiguous_as(weight_in, out.dtype());
    const Tensor bias = bias_in.defined() ? contiguous_as(bias_in, out.dtype()) : Tensor();
    const ConvShape s = conv_shape(input, weight, out, g);
    if (out.numel() == 0) return;
    const cudaStream_t stream = prepare(out);
    const int device = out.device().index;
    T* y = static_cast<T*>(out.raw_data());
    const T* x = static_cast<const T*>(input.raw_data());
    const T* w = static_cast<const T*>(weight.raw_data());
    const T* b = bias.defined() ? static_cast<const T*>(bias.raw_data()) : nullptr;
    if (conv_algorithm() == ConvAlgorithm::ImplicitGemm)
      conv2d_implicit<T>(y, x, w, b, s, g, device, stream);
    else
      conv2d_im2col<T>(y, x, w, b, s, g, device, stream, out.device());
  });
}

// The weight gradient of one chunk, dW_g (C_out_g, K) = dout_g (C_out_g, Nc P) @ cols_g^T (Nc P, K),
// written to `target` (C_out, C_in_g, KH, KW). With groups the GEMM is batched over them. Without,
// it has only ceil(C_out / 128) * ceil(K / 128) output tiles (5 for ResNet's 64-channel 3x3 layers)
// and a very long depth Nc P, which would leave most SMs idle: the depth is split into slices of
// `per` whole images that run as one batched GEMM into partial sums (slices, C_out K), and a column
// sum (reduce.cu) adds them up ("split-K" through the batch).
template <typename T>
static void weight_grad_of_chunk(const Tensor& target, const T* dout_by_channel, const T* cols, const ConvShape& s,
                                 int64_t images, int device, cudaStream_t stream) {
  const int64_t NcP = images * s.P;
  T* dw = static_cast<T*>(target.raw_data());
  const int64_t tiles = ((s.C_out + 127) / 128) * ((s.K + 127) / 128);  // gemm_hand's 128 x 128 tiles
  const int64_t wanted_slices = (2 * multiprocessor_count(device) + tiles - 1) / tiles;
  const int64_t per = s.groups == 1 ? (images + wanted_slices - 1) / std::min(wanted_slices, images) : images;
  if (per >= images) {  // one slice: straight into the target, batched over the groups
    hand_gemm<T>(false, true, s.C_out_g, s.K, NcP, dout_by_channel, NcP, s.C_out_g * NcP, cols, NcP, s.K * NcP, dw,
                 s.groups, stream);
    return;
  }
  // slice z covers columns [z per P, (z + 1) per P) of both operands; the last may be shorter
  const int64_t full = images / per, rest = images % per, slots = full + (rest > 0), count = s.C_out * s.K;
  Tensor partial = empty({slots, count}, target.dtype(), target.device());
  T* sums = static_cast<T*>(partial.raw_data());
  hand_gemm<T>(false, true, s.C_out, s.K, per * s.P, dout_by_channel, NcP, per * s.P, cols, NcP, per * s.P, sums, full,
               stream);
  if (rest)
    hand_gemm<T>(false, true, s.C_out, s.K, rest * s.P, dout_by_channel + full * per * s.P, NcP, 0,
                 cols + full * per * s.P, NcP, 0, sums + full * count, 1, stream);
  reduce(ReduceOp::Sum, target.as_strided({1, count}, {count, 1}, target.offset()), partial);
}

void conv2d_backward_ember(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out_in, const Tensor& input_in, const Tensor& weight_in,
                           const Conv2dGeometry& g) {
  visit_floating("conv2d_backward", grad_out_in.dtype(), [&]<typename T>() {
    const DType dtype = grad_out_in.dtype();
    for (const Tensor* t : {&grad_input, &grad_weight, &grad_bias})
      EMBER_CHECK(!t->defined() || t->is_contiguous(),
                  "conv2d_backward (cuda): expected contiguous gradient outputs, got one of shape " + t->shape().str());
    const Tensor input = contiguous_as(input_in, dtype), weight = contiguous_as(weight_in, dtype);
    const Tensor grad_out = contiguous_as(grad_out_in, dtype);
    const ConvShape s = conv_shape(input, weight, grad_out, g);
    const cudaStream_t stream = prepare(grad_out);
    const int device = grad_out.device().index;
    const Device where = grad_out.device();
    const T* x = static_cast<const T*>(input.raw_data());
    const T* w = static_cast<const T*>(weight.raw_data());
    const T* dy = static_cast<const T*>(grad_out.raw_data());

    if (grad_bias.defined() && s.C_out > 0) {
      conv_args(s, g, s.N);  // the size checks
      bias_grad_kernel<T><<<static_cast<unsigned>(s.C_out), kBiasThreads, 0, stream>>>(
          static_cast<T*>(grad_bias.raw_data()), dy, static_cast<int>(s.N), static_cast<int>(s.C_out),
          static_cast<int>(s.P));
      EMBER_CUDA_KERNEL_CHECK("bias_grad_kernel");
    }
    if (!grad_weight.defined() && !grad_input.defined()) return;
    if (s.N == 0 || s.P == 0) {  // empty sums
      if (grad_weight.defined()) fill(grad_weight, 0);
      if (grad_input.defined()) fill(grad_input, 0);
      return;
    }
    const int64_t chunk = images_per_chunk(s);
    Tensor cols = empty({s.C_in * s.KH * s.KW * chunk * s.P}, dtype, where);  // cols, then dcols
    Tensor dout_by_channel = empty({s.C_out * chunk * s.P}, dtype, where);    // (C_out, Nc P)
    Tensor partial = grad_weight.defined() && chunk < s.N ? empty(grad_weight.shape(), dtype, where) : Tensor();
    T* c = static_cast<T*>(cols.raw_data());
    const T* dyc = static_cast<const T*>(dout_by_channel.raw_data());
    for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
      const int64_t images = std::min(chunk, s.N - n0), NcP = images * s.P;
      const ConvArgs a = conv_args(s, g, images);
      // dout of the chunk (Nc, C_out, P) rearranged to (C_out, Nc, P), so that group g's rows are
      // one (C_out_g, Nc P) matrix: a strided view copied by copy.cu
      copy(
          dout_by_channel.as_strided({s.C_out, images, s.P}, {images * s.P, s.P, 1}, dout_by_channel.offset()),
          grad_out.as_strided({s.C_out, images, s.P}, {s.P, s.C_out * s.P, 1}, grad_out.offset() + n0 * s.C_out * s.P));
      if (grad_weight.defined()) {
        // dW_g (C_out_g, K) = dout_g (C_out_g, Nc P) @ cols_g^T (Nc P, K), batched over the groups;
        // the first chunk writes dW, later chunks add their part
        im2col(x + n0 * s.C_in * s.H * s.W, c, a, device, stream);
        const Tensor& target = n0 == 0 ? grad_weight : partial;
        weight_grad_of_chunk<T>(target, dyc, c, s, images, device, stream);
        if (n0 > 0) binary(BinaryOp::Add, grad_weight, grad_weight, partial);
      }
      if (grad_input.defined()) {
        // dcols_g (K, Nc P) = W_g^T (K, C_out_g) @ dout_g (C_out_g, Nc P), batched over the groups
        // (cols is free again: the weight-gradient GEMM before it on the stream has read it)
        hand_gemm<T>(true, false, s.K, NcP, s.C_out_g, w, s.K, s.C_out_g * s.K, dyc, NcP, s.C_out_g * NcP, c, s.groups,
                     stream);
        col2im(c, static_cast<T*>(grad_input.raw_data()) + n0 * s.C_in * s.H * s.W, a, device, stream);
      }
    }
  });
}

}  // namespace ember::cuda
