// 2-d convolution on the CPU: im2col + GEMM for every geometry, and Winograd F(2x2, 3x3)
// (winograd.h) for the 3x3 stride-1 convolutions in float32.
//
// im2col shapes, per image n and group g (C_in_g = C_in / groups input channels, C_out_g outputs):
//   cols   (K, P)          K = C_in_g * KH * KW rows, P = OH * OW columns:
//                          cols[(ci, kh, kw), (oh, ow)] = input[n, ci, oh sh - ph + kh dh, ow sw - pw + kw dw]
//                          (0 where that position falls into the padding)
//   forward:      out_g (C_out_g, P)  = weight_g (C_out_g, K) @ cols (K, P)      (+ bias per row)
//   grad weight:  dW_g  (C_out_g, K) += dout_g (C_out_g, P) @ cols^T (P, K)      (summed over n)
//   grad input:   dcols (K, P)        = weight_g^T (K, C_out_g) @ dout_g (C_out_g, P),
//                 then col2im adds every dcols entry back onto the input position it was copied from.
//   grad bias:    db[co] = sum over n, oh, ow of dout[n, co, oh, ow]
// A 1x1 convolution with stride 1 and no padding needs no im2col: the input plane (C_in_g, H*W)
// is cols itself.
//
// Threads. The work is cut into items, one item = one group of a batch of `images` consecutive
// images, whose cols are side by side: cols (K, images * P), one GEMM per item. Small images are
// batched so that the GEMM has at least ~kMinGemmColumns columns (a 7x7 output has P = 49). With
// at least as many items as threads, each thread takes a contiguous share of the items and runs
// its im2col, GEMM (single-threaded: gemm() called inside a parallel region runs on one thread)
// and col2im on its own, with no barrier between images; grad_weight is summed into one partial
// (C_out, K) per thread, and the partials are added at the end. With fewer items than threads
// (N = 1, say) the items run one after the other and each GEMM uses all the threads. The cols
// buffers are kept per thread and reused from call to call.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "tensor/conv_shape.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/winograd.h"
#include "tensor/parallel.h"

namespace ember::cpu {

namespace {

using Geometry = DeviceKernels::Conv2dGeometry;

// Below this many columns a GEMM wastes part of its 16-wide micro-tiles and its packing: small
// images are batched up to at least this width.
constexpr int64_t kMinGemmColumns = 256;

// ---- algorithm choice ---------------------------------------------------------------------------

ConvAlgorithm algorithm_from_environment() {
  const char* text = std::getenv("EMBER_CPU_CONV_ALGO");
  if (!text || !*text || std::strcmp(text, "auto") == 0) return ConvAlgorithm::Auto;
  if (std::strcmp(text, "winograd") == 0) return ConvAlgorithm::Winograd;
  if (std::strcmp(text, "im2col") == 0) return ConvAlgorithm::Im2col;
  throw Error(std::string("EMBER_CPU_CONV_ALGO must be 'auto', 'winograd' or 'im2col', got '") + text + "'");
}

ConvAlgorithm& current_algorithm() {
  static ConvAlgorithm algorithm = algorithm_from_environment();
  return algorithm;
}

bool winograd_applies(const ConvShape& s, const Geometry& g) {
  return s.KH == 3 && s.KW == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 &&
         g.groups == 1;
}

// Auto's rule: the transforms cost a fixed amount per tile and channel, the GEMMs one per tile and
// channel pair, so Winograd pays once both channel counts are a few tens (measured: see README).
bool winograd_pays(const ConvShape& s) { return s.C_in >= 16 && s.C_out >= 16; }

template <typename T>
bool use_winograd(const ConvShape& s, const Geometry& g) {
  if (!std::is_same_v<T, float> || !winograd_applies(s, g)) return false;
  switch (current_algorithm()) {
  case ConvAlgorithm::Winograd: return true;
  case ConvAlgorithm::Im2col: return false;
  case ConvAlgorithm::Auto: return winograd_pays(s);
  }
  return false;
}

WinogradShape winograd_shape(const ConvShape& s, const Geometry& g) {
  return {s.N, s.C_in, s.H, s.W, s.C_out, s.OH, s.OW, g.pad_h, g.pad_w};
}

// ---- im2col ---------------------------------------------------------------------------------------

// The outputs ow in [first, last) of a row whose input column iw = ow * stride + offset lies in [0, W).
struct ValidRange {
  int64_t first, last;
};
ValidRange valid_columns(int64_t offset, int64_t stride, int64_t W, int64_t OW) {
  const int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t last = W - 1 - offset < 0 ? 0 : (W - 1 - offset) / stride + 1;
  return {std::min(first, OW), std::clamp(last, std::min(first, OW), OW)};
}

// cols rows (K of them, row r at cols + r * ld), columns [0, P), from the C_in_g planes at `in`
// (each H x W).
template <typename T>
void im2col(const T* in, T* cols, int64_t ld, const ConvShape& s, const Geometry& g) {
  for (int64_t ci = 0; ci < s.C_in_g; ++ci)
    for (int64_t kh = 0; kh < s.KH; ++kh)
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        T* row = cols + ((ci * s.KH + kh) * s.KW + kw) * ld;
        const int64_t offset = kw * g.dilation_w - g.pad_w;
        const ValidRange valid = valid_columns(offset, g.stride_w, s.W, s.OW);
        for (int64_t oh = 0; oh < s.OH; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          T* dst = row + oh * s.OW;
          if (ih < 0 || ih >= s.H) {
            std::fill(dst, dst + s.OW, T(0));
            continue;
          }
          const T* src = in + (ci * s.H + ih) * s.W;  // column ow reads src[ow * stride + offset]
          std::fill(dst, dst + valid.first, T(0));
          if (g.stride_w == 1)
            std::copy(src + valid.first + offset, src + valid.last + offset, dst + valid.first);
          else
            for (int64_t ow = valid.first; ow < valid.last; ++ow) dst[ow] = src[ow * g.stride_w + offset];
          std::fill(dst + valid.last, dst + s.OW, T(0));
        }
      }
}

// The adjoint of im2col: adds every cols entry onto the input position it came from (grad_in must
// start at zero; one position can feed several columns when the kernels overlap).
template <typename T>
void col2im(const T* cols, int64_t ld, T* grad_in, const ConvShape& s, const Geometry& g) {
  for (int64_t ci = 0; ci < s.C_in_g; ++ci)
    for (int64_t kh = 0; kh < s.KH; ++kh)
      for (int64_t kw = 0; kw < s.KW; ++kw) {
        const T* row = cols + ((ci * s.KH + kh) * s.KW + kw) * ld;
        const int64_t offset = kw * g.dilation_w - g.pad_w;
        const ValidRange valid = valid_columns(offset, g.stride_w, s.W, s.OW);
        for (int64_t oh = 0; oh < s.OH; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= s.H) continue;
          T* dst = grad_in + (ci * s.H + ih) * s.W;
          const T* src = row + oh * s.OW;
          for (int64_t ow = valid.first; ow < valid.last; ++ow) dst[ow * g.stride_w + offset] += src[ow];
        }
      }
}

// Scratch buffers per thread, one per purpose (Slot), grown as needed and kept for the next call.
enum Slot { kCols, kGathered, kProduct, kPartials };
template <typename T, Slot slot>
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

// ---- sharing the work out ---------------------------------------------------------------------------

// Items: `batches` batches of `images` images, times the groups; item i is batch i / groups, group
// i % groups. `chunks` threads take contiguous shares of the items (1: serial, threaded GEMMs).
struct WorkPlan {
  int64_t images, batches, items, chunks;
};

WorkPlan plan_for(const ConvShape& s) {
  const int64_t threads = num_threads();
  int64_t batches = std::clamp<int64_t>(s.N * s.P / kMinGemmColumns, 1, s.N);    // >= kMinGemmColumns columns each
  if (s.N >= threads) batches = std::max(threads, batches / threads * threads);  // a multiple of the threads
  const int64_t images = (s.N + batches - 1) / batches;
  batches = (s.N + images - 1) / images;
  const int64_t items = batches * s.groups;
  return {images, batches, items, items >= threads ? threads : 1};
}

// The images [n0, n1) of one item and its group.
struct Item {
  int64_t n0, count, group, columns;  // columns = count * P
};
Item item_of(const WorkPlan& plan, const ConvShape& s, int64_t i) {
  const int64_t batch = i / s.groups, n0 = batch * plan.images, count = std::min(plan.images, s.N - n0);
  return {n0, count, i % s.groups, count * s.P};
}

// Calls work(item, chunk) for every item: chunk c of plan.chunks takes items [items c / chunks,
// items (c + 1) / chunks) on its own thread.
template <typename Fn>
void for_each_item(const WorkPlan& plan, Fn&& work) {
  parallel_for(0, plan.chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t i = plan.items * c / plan.chunks; i < plan.items * (c + 1) / plan.chunks; ++i) work(i, c);
  });
}

// cols (K, item.columns) for one item: im2col of each image side by side; the input planes
// themselves for a 1x1 direct convolution of one image.
template <typename T>
const T* item_cols(const T* x, const Item& item, const ConvShape& s, const Geometry& g) {
  const T* first = x + (item.n0 * s.C_in + item.group * s.C_in_g) * s.H * s.W;
  if (s.direct && item.count == 1) return first;
  T* cols = scratch<T, kCols>(static_cast<size_t>(s.K * item.columns));
  for (int64_t i = 0; i < item.count; ++i) im2col(first + i * s.C_in * s.H * s.W, cols + i * s.P, item.columns, s, g);
  return cols;
}

// dout_g (C_out_g, item.columns) for one item: the rows of grad_out itself for one image, else
// gathered from each image side by side.
template <typename T>
const T* item_grad_out(const T* dy, const Item& item, const ConvShape& s) {
  const T* first = dy + (item.n0 * s.C_out + item.group * s.C_out_g) * s.P;
  if (item.count == 1) return first;
  T* gathered = scratch<T, kGathered>(static_cast<size_t>(s.C_out_g * item.columns));
  for (int64_t i = 0; i < item.count; ++i)
    for (int64_t co = 0; co < s.C_out_g; ++co)
      std::copy_n(first + (i * s.C_out + co) * s.P, s.P, gathered + co * item.columns + i * s.P);
  return gathered;
}

// ---- the kernels ------------------------------------------------------------------------------------

template <typename T>
void conv2d_im2col(const ConvShape& s, const Geometry& g, const T* x, const T* w, const T* b, T* y) {
  const WorkPlan plan = plan_for(s);
  for_each_item(plan, [&](int64_t i, int64_t) {
    const Item item = item_of(plan, s, i);
    const T* cols = item_cols(x, item, s, g);
    T* first = y + (item.n0 * s.C_out + item.group * s.C_out_g) * s.P;
    // out_g (C_out_g, columns) = weight_g (C_out_g, K) @ cols (K, columns): straight into y for one
    // image, else into a buffer whose column blocks are then copied to each image's planes.
    T* product = item.count == 1 ? first : scratch<T, kProduct>(static_cast<size_t>(s.C_out_g * item.columns));
    gemm(s.C_out_g, item.columns, s.K, matrix(w + item.group * s.C_out_g * s.K, s.K), matrix(cols, item.columns),
         product);
    for (int64_t n = 0; n < item.count; ++n)
      for (int64_t co = 0; co < s.C_out_g; ++co) {
        T* row = first + (n * s.C_out + co) * s.P;
        if (item.count > 1) std::copy_n(product + co * item.columns + n * s.P, s.P, row);
        if (b) {
          const T value = b[item.group * s.C_out_g + co];
          for (int64_t p = 0; p < s.P; ++p) row[p] += value;
        }
      }
  });
}

// dW (C_out, K) = sum over items of dout_g @ cols^T, one partial sum per chunk.
template <typename T>
void conv2d_grad_weight_im2col(const ConvShape& s, const Geometry& g, const T* x, const T* dy, T* dw) {
  const WorkPlan plan = plan_for(s);
  const int64_t weight_size = s.C_out * s.K;
  T* partials = plan.chunks == 1 ? dw : scratch<T, kPartials>(static_cast<size_t>(plan.chunks * weight_size));
  std::fill(partials, partials + plan.chunks * weight_size, T(0));
  for_each_item(plan, [&](int64_t i, int64_t chunk) {
    const Item item = item_of(plan, s, i);
    const T* cols = item_cols(x, item, s, g);
    const T* dout = item_grad_out(dy, item, s);
    T* product = scratch<T, kProduct>(static_cast<size_t>(s.C_out_g * s.K));
    gemm(s.C_out_g, s.K, item.columns, matrix(dout, item.columns), transposed(cols, item.columns), product);
    T* sum = partials + chunk * weight_size + item.group * s.C_out_g * s.K;
    for (int64_t j = 0; j < s.C_out_g * s.K; ++j) sum[j] += product[j];
  });
  if (plan.chunks == 1) return;
  parallel_for(0, weight_size, 4096, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      T total = 0;
      for (int64_t c = 0; c < plan.chunks; ++c) total += partials[c * weight_size + j];
      dw[j] = total;
    }
  });
}

template <typename T>
void conv2d_grad_input_im2col(const ConvShape& s, const Geometry& g, const T* w, const T* dy, T* dx) {
  const WorkPlan plan = plan_for(s);
  for_each_item(plan, [&](int64_t i, int64_t) {
    const Item item = item_of(plan, s, i);
    const T* dout = item_grad_out(dy, item, s);
    T* first = dx + (item.n0 * s.C_in + item.group * s.C_in_g) * s.H * s.W;
    // dcols (K, columns) = weight_g^T (K, C_out_g) @ dout_g (C_out_g, columns); direct: that is din itself.
    const bool direct = s.direct && item.count == 1;
    T* dcols = direct ? first : scratch<T, kCols>(static_cast<size_t>(s.K * item.columns));
    gemm(s.K, item.columns, s.C_out_g, transposed(w + item.group * s.C_out_g * s.K, s.K), matrix(dout, item.columns),
         dcols);
    if (direct) return;
    for (int64_t n = 0; n < item.count; ++n) {
      T* din = first + n * s.C_in * s.H * s.W;
      std::fill(din, din + s.C_in_g * s.H * s.W, T(0));
      col2im(dcols + n * s.P, item.columns, din, s, g);
    }
  });
}

template <typename T>
void conv2d_typed(const Tensor& out, const Tensor& input_in, const Tensor& weight_in, const Tensor& bias,
                  const Geometry& g) {
  const Tensor input = contiguous_cpu(input_in), weight = contiguous_cpu(weight_in);
  const ConvShape s = conv_shape(input, weight, out, g);
  const T* x = static_cast<const T*>(input.raw_data());
  const T* w = static_cast<const T*>(weight.raw_data());
  T* y = static_cast<T*>(out.raw_data());
  const Tensor bias_contiguous = bias.defined() ? contiguous_cpu(bias) : Tensor();
  const T* b = bias.defined() ? static_cast<const T*>(bias_contiguous.raw_data()) : nullptr;
  if constexpr (std::is_same_v<T, float>)
    if (use_winograd<T>(s, g)) return winograd_conv2d(x, w, b, y, winograd_shape(s, g));
  conv2d_im2col(s, g, x, w, b, y);
}

template <typename T>
void conv2d_backward_typed(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out_in, const Tensor& input_in, const Tensor& weight_in,
                           const Geometry& g) {
  const Tensor input = contiguous_cpu(input_in), weight = contiguous_cpu(weight_in);
  const Tensor grad_out = contiguous_cpu(grad_out_in);
  const ConvShape s = conv_shape(input, weight, grad_out, g);
  const T* x = static_cast<const T*>(input.raw_data());
  const T* w = static_cast<const T*>(weight.raw_data());
  const T* dy = static_cast<const T*>(grad_out.raw_data());
  const bool winograd = use_winograd<T>(s, g);

  if (grad_bias.defined()) {
    T* db = static_cast<T*>(grad_bias.raw_data());
    parallel_for(0, s.C_out, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, s.N * s.P)),
                 [&](int64_t c0, int64_t c1) {
                   for (int64_t co = c0; co < c1; ++co) {
                     T total = 0;
                     for (int64_t n = 0; n < s.N; ++n) {
                       const T* row = dy + (n * s.C_out + co) * s.P;
                       for (int64_t p = 0; p < s.P; ++p) total += row[p];
                     }
                     db[co] = total;
                   }
                 });
  }
  if (grad_weight.defined()) {
    T* dw = static_cast<T*>(grad_weight.raw_data());
    if constexpr (std::is_same_v<T, float>)
      if (winograd) winograd_conv2d_backward_weight(dy, x, dw, winograd_shape(s, g));
    if (!winograd) conv2d_grad_weight_im2col(s, g, x, dy, dw);
  }
  if (grad_input.defined()) {
    T* dx = static_cast<T*>(grad_input.raw_data());
    if constexpr (std::is_same_v<T, float>)
      if (winograd) winograd_conv2d_backward_input(dy, w, dx, winograd_shape(s, g));
    if (!winograd) conv2d_grad_input_im2col(s, g, w, dy, dx);
  }
}

}  // namespace

void set_conv_algorithm(ConvAlgorithm algorithm) { current_algorithm() = algorithm; }
ConvAlgorithm conv_algorithm() { return current_algorithm(); }

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
