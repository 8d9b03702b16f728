// CPU pooling kernels (nn/pooling.h is the differentiable op on top): max and average pooling
// with a fixed window, adaptive (output-size driven) max and average pooling, and their backward.
// float32 and float64. Every kernel works on (N,C,H,W) tensors and runs the N*C planes in
// parallel: each plane is pooled on its own, so no two threads ever write the same element.
//
// Fixed window (kernel kh x kw, stride sh x sw, padding ph x pw), output size
//   OH = floor((H + 2 ph - kh) / sh) + 1,   OW likewise
// Output (oh, ow) looks at input rows h0 .. h0 + kh - 1 with h0 = oh * sh - ph (columns likewise).
//   max: y = max of the window, padding counts as -inf (so it never wins); the flat position
//        h * W + w of the first maximum is saved in `indices` (NaN wins, as in PyTorch)
//   avg: y = (sum of the window's inputs inside the image) / (kh * kw): padding counts as zeros
//        (PyTorch's count_include_pad=True; with ceil_mode=False every window has kh * kw cells)
// Adaptive (output size OH x OW given), PyTorch's bins, which cover the input and may overlap:
//   rows of output oh: floor(oh * H / OH) .. ceil((oh + 1) * H / OH) - 1     (columns likewise)
//   max: y = max of the bin (first one on ties, its position saved);  avg: y = mean of the bin
//
// Backward, with g = dL/dy:
//   max (both kinds): dL/dx[p] = sum of g over the outputs whose saved index is p
//   avg:              dL/dx[h,w] = sum over the windows containing (h,w) of g / (kh * kw)
//   adaptive avg:     dL/dx[h,w] = sum over the bins containing (h,w) of g / (bin size)
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/parallel.h"

namespace ember::cpu {

namespace {

using Pool2dArgs = DeviceKernels::Pool2dArgs;

// The (N,C,H,W) layout of one strided operand: plane p = n * C + c starts at
// n * s_n + c * s_c, and (h, w) of it is at h * s_h + w * s_w from there.
struct Planes {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t sn = 0, sc = 0, sh = 0, sw = 0;
  int64_t plane_offset(int64_t p) const { return (p / c) * sn + (p % c) * sc; }
};

Planes planes_of(const char* op, const Tensor& t) {
  EMBER_CHECK(t.dim() == 4, std::string(op) + ": expected a 4-d (N,C,H,W) tensor, got " + t.shape().str());
  return {t.size(0), t.size(1), t.size(2), t.size(3), t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

// Checks what every pooling kernel needs: `out` (and `indices`, when given) contiguous with the
// same N and C as `in`, and one float dtype.
void check_pool_operands(const char* op, const Tensor& out, const Tensor& in, const Tensor* indices) {
  EMBER_CHECK(out.dim() == 4 && in.dim() == 4 && out.size(0) == in.size(0) && out.size(1) == in.size(1),
              std::string(op) + ": expected (N,C,*,*) operands, got " + out.shape().str() + " and " + in.shape().str());
  EMBER_CHECK(out.is_contiguous(), std::string(op) + ": the output must be contiguous");
  EMBER_CHECK(out.dtype() == in.dtype(), std::string(op) + ": expected operands of one dtype, got " +
                                             dtype_name(out.dtype()) + " and " + dtype_name(in.dtype()));
  if (indices) {
    EMBER_CHECK(
        indices->dtype() == DType::Int64 && indices->is_contiguous() && indices->shape() == out.shape(),
        std::string(op) + ": indices must be a contiguous int64 tensor of the output's shape " + out.shape().str());
  }
}

// Runs fn(p0, p1) over ranges of planes in parallel, each plane at least ~`work` elements' worth.
template <typename Fn>
void for_planes(int64_t planes, int64_t work_per_plane, Fn&& fn) {
  parallel_for(0, planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(work_per_plane, 1)), fn);
}

// PyTorch's adaptive bin of output i out of `out_size` over an input of `in_size`:
//   [floor(i * in / out), ceil((i + 1) * in / out))
int64_t bin_start(int64_t i, int64_t out_size, int64_t in_size) { return (i * in_size) / out_size; }
int64_t bin_end(int64_t i, int64_t out_size, int64_t in_size) { return ((i + 1) * in_size + out_size - 1) / out_size; }

// fn(oh, ow, h0, h1, w0, w1) for every bin of an adaptive (in_h, in_w) -> (out_h, out_w) pooling:
// output (oh, ow) covers input rows [h0, h1) and columns [w0, w1).
template <typename Fn>
void for_each_adaptive_bin(int64_t out_h, int64_t out_w, int64_t in_h, int64_t in_w, Fn&& fn) {
  for (int64_t oh = 0; oh < out_h; ++oh) {
    const int64_t h0 = bin_start(oh, out_h, in_h), h1 = bin_end(oh, out_h, in_h);
    for (int64_t ow = 0; ow < out_w; ++ow) fn(oh, ow, h0, h1, bin_start(ow, out_w, in_w), bin_end(ow, out_w, in_w));
  }
}

// The max over rows [h0, h1) and columns [w0, w1) of a plane (already clipped to the image),
// with the flat position h * W + w of the first maximum. A NaN wins (and stays), as in PyTorch.
template <typename T>
void window_max(const T* x, const Planes& s, int64_t h0, int64_t h1, int64_t w0, int64_t w1, T& best,
                int64_t& best_index) {
  best = -std::numeric_limits<T>::infinity();
  best_index = h0 * s.w + w0;  // an empty window (impossible with valid arguments) points at a corner
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      const T v = x[h * s.sh + w * s.sw];
      if (v > best || std::isnan(v)) {
        best = v, best_index = h * s.w + w;
        if (std::isnan(v)) return;
      }
    }
}

#if defined(__AVX2__)
// max_pool2d of one contiguous float plane (H x W) into y, idx (OH x OW), 8 outputs of a row at a
// time: the same results as window_max (the first maximum in row-major window order wins, a NaN
// wins and stays, padding never wins, an all -inf window points at its first cell inside the
// image). The plane is first copied into a buffer padded with -inf, so every window can be read
// whole without bounds checks: padded[r][c] = x[r - pad_h][c - pad_w].
void max_pool_plane_avx2(const float* x, int64_t H, int64_t W, float* y, int64_t* idx, int64_t OH, int64_t OW,
                         const Pool2dArgs& a) {
  const int64_t blocks = (OW + 7) / 8;
  const int64_t rows = (OH - 1) * a.stride_h + a.kernel_h, cols = (blocks * 8 - 1) * a.stride_w + a.kernel_w;
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(rows * cols)) buffer.resize(static_cast<size_t>(rows * cols));
  float* padded = buffer.data();
  std::fill(padded, padded + rows * cols, -std::numeric_limits<float>::infinity());
  const int64_t w_first = std::max<int64_t>(0, -a.pad_w), w_last = std::min(W, cols - a.pad_w);  // columns copied
  for (int64_t h = std::max<int64_t>(0, -a.pad_h); h < std::min(H, rows - a.pad_h); ++h)
    if (w_first < w_last)
      std::copy(x + h * W + w_first, x + h * W + w_last, padded + (h + a.pad_h) * cols + w_first + a.pad_w);

  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lane_columns = _mm256_mullo_epi32(lane, _mm256_set1_epi32(static_cast<int>(a.stride_w)));
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t hs = oh * a.stride_h - a.pad_h;  // first window row (in the image's coordinates)
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 8) {
      // ws: each lane's first window column; the first cell inside the image is (max(hs, 0), max(ws, 0))
      const __m256i ws =
          _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(ow0 * a.stride_w - a.pad_w)), lane_columns);
      __m256i best_index = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(std::max<int64_t>(hs, 0) * W)),
                                            _mm256_max_epi32(ws, _mm256_setzero_si256()));
      __m256 best = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
      for (int64_t kh = 0; kh < a.kernel_h; ++kh)
        for (int64_t kw = 0; kw < a.kernel_w; ++kw) {
          const float* cell = padded + (oh * a.stride_h + kh) * cols + ow0 * a.stride_w + kw;
          const __m256 v = _mm256_i32gather_ps(cell, lane_columns, 4);
          const __m256i position = _mm256_add_epi32(ws, _mm256_set1_epi32(static_cast<int>((hs + kh) * W + kw)));
          // v wins when v > best, or v is NaN and best is not (a NaN, once chosen, stays)
          const __m256 wins =
              _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ),
                           _mm256_and_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(best, best, _CMP_ORD_Q)));
          best = _mm256_blendv_ps(best, v, wins);
          best_index = _mm256_castps_si256(
              _mm256_blendv_ps(_mm256_castsi256_ps(best_index), _mm256_castsi256_ps(position), wins));
        }
      alignas(32) float values[8];
      alignas(32) int64_t indices[8];
      _mm256_store_ps(values, best);
      _mm256_store_si256(reinterpret_cast<__m256i*>(indices),
                         _mm256_cvtepi32_epi64(_mm256_castsi256_si128(best_index)));
      _mm256_store_si256(reinterpret_cast<__m256i*>(indices + 4),
                         _mm256_cvtepi32_epi64(_mm256_extracti128_si256(best_index, 1)));
      const int64_t count = std::min<int64_t>(8, OW - ow0);
      std::copy(values, values + count, y + oh * OW + ow0);
      std::copy(indices, indices + count, idx + oh * OW + ow0);
    }
  }
}
#endif

}  // namespace

// in (N,C,H,W) -> out, indices (N,C,OH,OW): the max of each kh x kw window (padding: -inf).
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in, const Pool2dArgs& a) {
  check_pool_operands("max_pool2d", out, in, &indices);
  const Planes s = planes_of("max_pool2d", in);
  const int64_t oh_size = out.size(2), ow_size = out.size(3), plane_out = oh_size * ow_size;
  visit_floating("max_pool2d", in.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(in.raw_data());
    T* y = static_cast<T*>(out.raw_data());
    int64_t* idx = static_cast<int64_t*>(indices.raw_data());
    for_planes(s.n * s.c, plane_out * a.kernel_h * a.kernel_w, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* xp = x + s.plane_offset(p);
#if defined(__AVX2__)
        if constexpr (std::is_same_v<T, float>)
          if (s.sw == 1 && s.sh == s.w && s.h * s.w < (int64_t(1) << 30)) {  // contiguous plane, int32 positions
            max_pool_plane_avx2(xp, s.h, s.w, y + p * plane_out, idx + p * plane_out, oh_size, ow_size, a);
            continue;
          }
#endif
        for (int64_t oh = 0; oh < oh_size; ++oh) {
          const int64_t hs = oh * a.stride_h - a.pad_h;
          const int64_t h0 = std::max<int64_t>(hs, 0), h1 = std::min(hs + a.kernel_h, s.h);
          for (int64_t ow = 0; ow < ow_size; ++ow) {
            const int64_t ws = ow * a.stride_w - a.pad_w;
            const int64_t w0 = std::max<int64_t>(ws, 0), w1 = std::min(ws + a.kernel_w, s.w);
            const int64_t o = p * plane_out + oh * ow_size + ow;
            window_max(xp, s, h0, h1, w0, w1, y[o], idx[o]);
          }
        }
      }
    });
  });
}

// in (N,C,H,W) -> out (N,C,OH,OW): the sum of each window's inputs divided by kh * kw.
void avg_pool2d(const Tensor& out, const Tensor& in, const Pool2dArgs& a) {
  check_pool_operands("avg_pool2d", out, in, nullptr);
  const Planes s = planes_of("avg_pool2d", in);
  const int64_t oh_size = out.size(2), ow_size = out.size(3), plane_out = oh_size * ow_size;
  visit_floating("avg_pool2d", in.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(in.raw_data());
    T* y = static_cast<T*>(out.raw_data());
    for_planes(s.n * s.c, plane_out * a.kernel_h * a.kernel_w, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* xp = x + s.plane_offset(p);
        for (int64_t oh = 0; oh < oh_size; ++oh) {
          const int64_t hs = oh * a.stride_h - a.pad_h;
          // PyTorch's divisor: the window clipped to the padded image (kh * kw when ceil_mode is off)
          const int64_t he = std::min(hs + a.kernel_h, s.h + a.pad_h);
          const int64_t h0 = std::max<int64_t>(hs, 0), h1 = std::min(hs + a.kernel_h, s.h);
          for (int64_t ow = 0; ow < ow_size; ++ow) {
            const int64_t ws = ow * a.stride_w - a.pad_w;
            const int64_t we = std::min(ws + a.kernel_w, s.w + a.pad_w);
            const int64_t w0 = std::max<int64_t>(ws, 0), w1 = std::min(ws + a.kernel_w, s.w);
            T sum = 0;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) sum += xp[h * s.sh + w * s.sw];
            y[p * plane_out + oh * ow_size + ow] = sum / static_cast<T>((he - hs) * (we - ws));
          }
        }
      }
    });
  });
}

// grad_out (N,C,OH,OW) -> grad_in (N,C,H,W): each window hands g / (kh * kw) to its cells.
void avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Pool2dArgs& a) {
  check_pool_operands("avg_pool2d backward", grad_in, grad_out, nullptr);
  const Planes g = planes_of("avg_pool2d backward", grad_out);
  const int64_t h_size = grad_in.size(2), w_size = grad_in.size(3), plane_in = h_size * w_size;
  visit_floating("avg_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    const T* go = static_cast<const T*>(grad_out.raw_data());
    T* gi = static_cast<T*>(grad_in.raw_data());
    for_planes(g.n * g.c, g.h * g.w * a.kernel_h * a.kernel_w, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* gp = go + g.plane_offset(p);
        T* dx = gi + p * plane_in;
        std::fill(dx, dx + plane_in, T(0));
        for (int64_t oh = 0; oh < g.h; ++oh) {
          const int64_t hs = oh * a.stride_h - a.pad_h;
          const int64_t he = std::min(hs + a.kernel_h, h_size + a.pad_h);
          const int64_t h0 = std::max<int64_t>(hs, 0), h1 = std::min(hs + a.kernel_h, h_size);
          for (int64_t ow = 0; ow < g.w; ++ow) {
            const int64_t ws = ow * a.stride_w - a.pad_w;
            const int64_t we = std::min(ws + a.kernel_w, w_size + a.pad_w);
            const int64_t w0 = std::max<int64_t>(ws, 0), w1 = std::min(ws + a.kernel_w, w_size);
            const T share = gp[oh * g.sh + ow * g.sw] / static_cast<T>((he - hs) * (we - ws));
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) dx[h * w_size + w] += share;
          }
        }
      }
    });
  });
}

// in (N,C,H,W) -> out, indices (N,C,OH,OW): the max of each adaptive bin.
void adaptive_max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in) {
  check_pool_operands("adaptive_max_pool2d", out, in, &indices);
  const Planes s = planes_of("adaptive_max_pool2d", in);
  const int64_t oh_size = out.size(2), ow_size = out.size(3), plane_out = oh_size * ow_size;
  visit_floating("adaptive_max_pool2d", in.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(in.raw_data());
    T* y = static_cast<T*>(out.raw_data());
    int64_t* idx = static_cast<int64_t*>(indices.raw_data());
    for_planes(s.n * s.c, s.h * s.w, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* xp = x + s.plane_offset(p);
        for_each_adaptive_bin(oh_size, ow_size, s.h, s.w,
                              [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                                const int64_t o = p * plane_out + oh * ow_size + ow;
                                window_max(xp, s, h0, h1, w0, w1, y[o], idx[o]);
                              });
      }
    });
  });
}

// in (N,C,H,W) -> out (N,C,OH,OW): the mean of each adaptive bin.
void adaptive_avg_pool2d(const Tensor& out, const Tensor& in) {
  check_pool_operands("adaptive_avg_pool2d", out, in, nullptr);
  const Planes s = planes_of("adaptive_avg_pool2d", in);
  const int64_t oh_size = out.size(2), ow_size = out.size(3), plane_out = oh_size * ow_size;
  visit_floating("adaptive_avg_pool2d", in.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(in.raw_data());
    T* y = static_cast<T*>(out.raw_data());
    for_planes(s.n * s.c, s.h * s.w, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* xp = x + s.plane_offset(p);
        for_each_adaptive_bin(oh_size, ow_size, s.h, s.w,
                              [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                                T sum = 0;
                                for (int64_t h = h0; h < h1; ++h)
                                  for (int64_t w = w0; w < w1; ++w) sum += xp[h * s.sh + w * s.sw];
                                y[p * plane_out + oh * ow_size + ow] = sum / static_cast<T>((h1 - h0) * (w1 - w0));
                              });
      }
    });
  });
}

// grad_out (N,C,OH,OW) -> grad_in (N,C,H,W): each bin hands g / (bin size) to its cells.
void adaptive_avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out) {
  check_pool_operands("adaptive_avg_pool2d backward", grad_in, grad_out, nullptr);
  const Planes g = planes_of("adaptive_avg_pool2d backward", grad_out);
  const int64_t h_size = grad_in.size(2), w_size = grad_in.size(3), plane_in = h_size * w_size;
  visit_floating("adaptive_avg_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    const T* go = static_cast<const T*>(grad_out.raw_data());
    T* gi = static_cast<T*>(grad_in.raw_data());
    for_planes(g.n * g.c, plane_in, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* gp = go + g.plane_offset(p);
        T* dx = gi + p * plane_in;
        std::fill(dx, dx + plane_in, T(0));
        for_each_adaptive_bin(g.h, g.w, h_size, w_size,
                              [&](int64_t oh, int64_t ow, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
                                const T share = gp[oh * g.sh + ow * g.sw] / static_cast<T>((h1 - h0) * (w1 - w0));
                                for (int64_t h = h0; h < h1; ++h)
                                  for (int64_t w = w0; w < w1; ++w) dx[h * w_size + w] += share;
                              });
      }
    });
  });
}

// grad_out, indices (N,C,OH,OW) -> grad_in (N,C,H,W): each output's gradient goes to its argmax.
void max_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices) {
  check_pool_operands("max_pool2d backward", grad_in, grad_out, nullptr);
  EMBER_CHECK(
      indices.dtype() == DType::Int64 && indices.is_contiguous() && indices.shape() == grad_out.shape(),
      "max_pool2d backward: indices must be a contiguous int64 tensor of grad_out's shape " + grad_out.shape().str());
  const Planes g = planes_of("max_pool2d backward", grad_out);
  const int64_t plane_in = grad_in.size(2) * grad_in.size(3), plane_out = g.h * g.w;
  visit_floating("max_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    const T* go = static_cast<const T*>(grad_out.raw_data());
    const int64_t* idx = static_cast<const int64_t*>(indices.raw_data());
    T* gi = static_cast<T*>(grad_in.raw_data());
    for_planes(g.n * g.c, plane_in + plane_out, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const T* gp = go + g.plane_offset(p);
        const int64_t* ip = idx + p * plane_out;
        T* dx = gi + p * plane_in;
        std::fill(dx, dx + plane_in, T(0));
        for (int64_t oh = 0; oh < g.h; ++oh)
          for (int64_t ow = 0; ow < g.w; ++ow) {
            // indices come from the forward kernel; an out-of-range one (never written by it) is
            // skipped rather than thrown, as no exception may leave a parallel region
            const int64_t i = ip[oh * g.w + ow];
            if (i >= 0 && i < plane_in) dx[i] += gp[oh * g.sh + ow * g.sw];
          }
      }
    });
  });
}

}  // namespace ember::cpu
