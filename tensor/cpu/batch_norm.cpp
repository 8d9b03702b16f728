// Batch normalisation on the CPU. x (N, C, S) with S = H * W (or 1 for BatchNorm1d), contiguous;
// every per-channel quantity is a (C) vector, and a channel's M = N * S values are the rows
// x[n, c, :] for n = 0..N-1. Channels are independent, so the loops run in parallel over c.
//
// Backward (training), with xhat = (x - mean) invstd, g = dL/dy and gamma the weight:
//   y = gamma xhat + beta, and mean and var are functions of x, so (the classic derivation)
//   dL/dxhat = gamma g
//   dL/dx    = invstd / M * (M dL/dxhat - sum dL/dxhat - xhat sum(dL/dxhat xhat))
//            = gamma invstd (g - (sum g + xhat sum(g xhat)) / M)
//   with sum g = grad_bias and sum(g xhat) = grad_weight. In eval mode mean and var are constants:
//   dL/dx = gamma invstd g.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/parallel.h"

namespace ember::cpu {

namespace {

struct Layout {
  int64_t N, C, S;
};

Layout layout_of(const Tensor& x) {
  int64_t S = 1;
  for (int d = 2; d < x.dim(); ++d) S *= x.size(d);
  return {x.size(0), x.size(1), S};
}

// Calls f(c0, c1) over channel ranges, in parallel when there is enough work.
template <typename F>
void for_channels(const Layout& l, F f) {
  parallel_for(0, l.C, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, l.N * l.S)), f);
}

template <typename T>
const T* values(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

}  // namespace

// Two passes per channel: the mean, then the mean of squared deviations. One pass with sum and
// sum of squares would lose digits when the mean is large against the spread.
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x_in) {
  const Tensor x = contiguous_cpu(x_in);
  const Layout l = layout_of(x);
  visit_floating("batch_norm", x.dtype(), [&]<typename T>() {
    const T* px = values<T>(x);
    T* pm = static_cast<T*>(mean.raw_data());
    T* pv = static_cast<T*>(var.raw_data());
    for_channels(l, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        // The sums run in double; `omp simd` lets them use several partial sums side by side
        // (vector lanes) instead of one chain of dependent adds.
        double sum = 0;
        for (int64_t n = 0; n < l.N; ++n) {
          const T* row = px + (n * l.C + c) * l.S;
#pragma omp simd reduction(+ : sum)
          for (int64_t s = 0; s < l.S; ++s) sum += row[s];
        }
        const double m = sum / static_cast<double>(l.N * l.S);
        double squares = 0;
        for (int64_t n = 0; n < l.N; ++n) {
          const T* row = px + (n * l.C + c) * l.S;
#pragma omp simd reduction(+ : squares)
          for (int64_t s = 0; s < l.S; ++s) squares += (row[s] - m) * (row[s] - m);
        }
        pm[c] = static_cast<T>(m);
        pv[c] = static_cast<T>(squares / static_cast<double>(l.N * l.S));
      }
    });
  });
}

void batch_norm_forward(const Tensor& y, const Tensor& x_in, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias) {
  const Tensor x = contiguous_cpu(x_in);
  const Layout l = layout_of(x);
  visit_floating("batch_norm", x.dtype(), [&]<typename T>() {
    const T *px = values<T>(x), *pm = values<T>(mean), *pi = values<T>(invstd);
    const T *pw = values<T>(weight), *pb = values<T>(bias);
    T* py = static_cast<T*>(y.raw_data());
    for_channels(l, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        // y = x * scale + shift with scale = gamma invstd, shift = beta - mean scale
        const T scale = (pw ? pw[c] : T(1)) * pi[c];
        const T shift = (pb ? pb[c] : T(0)) - pm[c] * scale;
        for (int64_t n = 0; n < l.N; ++n) {
          const T* row = px + (n * l.C + c) * l.S;
          T* out = py + (n * l.C + c) * l.S;
          for (int64_t s = 0; s < l.S; ++s) out[s] = row[s] * scale + shift;
        }
      }
    });
  });
}

void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                         const Tensor& grad_y_in, const Tensor& x_in, const Tensor& mean, const Tensor& invstd,
                         const Tensor& weight, bool batch_statistics) {
  const Tensor x = contiguous_cpu(x_in), grad_y = contiguous_cpu(grad_y_in);
  const Layout l = layout_of(x);
  const double M = static_cast<double>(l.N * l.S);
  visit_floating("batch_norm_backward", x.dtype(), [&]<typename T>() {
    const T *px = values<T>(x), *pg = values<T>(grad_y), *pm = values<T>(mean), *pi = values<T>(invstd);
    const T* pw = values<T>(weight);
    T* pgx = grad_x.defined() ? static_cast<T*>(grad_x.raw_data()) : nullptr;
    T* pgw = grad_weight.defined() ? static_cast<T*>(grad_weight.raw_data()) : nullptr;
    T* pgb = grad_bias.defined() ? static_cast<T*>(grad_bias.raw_data()) : nullptr;
    for_channels(l, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double sum_g = 0, sum_g_xhat = 0;  // grad_bias[c], grad_weight[c]
        const T mean_c = pm[c], invstd_c = pi[c];
        for (int64_t n = 0; n < l.N; ++n) {
          const T* row = px + (n * l.C + c) * l.S;
          const T* g = pg + (n * l.C + c) * l.S;
#pragma omp simd reduction(+ : sum_g, sum_g_xhat)
          for (int64_t s = 0; s < l.S; ++s) {
            sum_g += g[s];
            sum_g_xhat += g[s] * (row[s] - mean_c) * invstd_c;
          }
        }
        if (pgb) pgb[c] = static_cast<T>(sum_g);
        if (pgw) pgw[c] = static_cast<T>(sum_g_xhat);
        if (!pgx) continue;
        const T gamma_invstd = (pw ? pw[c] : T(1)) * pi[c];
        const T mean_g = batch_statistics ? static_cast<T>(sum_g / M) : T(0);
        const T mean_g_xhat = batch_statistics ? static_cast<T>(sum_g_xhat / M) : T(0);
        for (int64_t n = 0; n < l.N; ++n) {
          const T* row = px + (n * l.C + c) * l.S;
          const T* g = pg + (n * l.C + c) * l.S;
          T* out = pgx + (n * l.C + c) * l.S;
          for (int64_t s = 0; s < l.S; ++s) {
            const T xhat = (row[s] - mean_c) * invstd_c;
            out[s] = gamma_invstd * (g[s] - mean_g - xhat * mean_g_xhat);
          }
        }
      }
    });
  });
}

}  // namespace ember::cpu
