// CPU loss kernels (nn/losses.h is the differentiable op on top): the pointwise losses (squared
// error, binary cross entropy with logits) and the row losses (cross entropy, NLL), each with its
// backward. float32 and float64; every operand may be any strided view.
//
// Pointwise, with x = input, t = target, p = pos_weight, g = dL/dl:
//   squared error:  l = (x - t)^2                 dl/dx = 2 (x - t)           dl/dt = -2 (x - t)
//   BCE with logits, written so that exp never overflows (softplus(z) = log(1 + e^z)):
//                   l = max(x, 0) - x t + log1p(exp(-|x|))
//                   dl/dx = sigmoid(x) - t        dl/dt = -x
//   with pos_weight (weights the positive term, lw = 1 + (p - 1) t):
//                   l = (1 - t) x + lw softplus(-x),   softplus(-x) = log1p(exp(-|x|)) + max(-x, 0)
//                   dl/dx = (1 - t) - lw sigmoid(-x)   dl/dt = -x + (p - 1) softplus(-x)
//
// Rows (N,C) with target t_n; see nn/losses.cpp for the derivation of the cross-entropy gradient:
//   cross entropy:  l_n = m_n + log(sum_c exp(x_nc - m_n)) - x_{n,t_n},   m_n = max_c x_nc
//                   dl_n/dx_nc = softmax(x_n)_c - [c == t_n]
//   NLL:            l_n = -x_{n,t_n}                  dl_n/dx_nc = -[c == t_n]
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <utility>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/strided_loop.h"

namespace ember::cpu {

// ---- the pointwise formulas (shared by forward and backward) ----------------------------------------
template <typename T>
static T sigmoid_of(T x) {
  return T(1) / (T(1) + std::exp(-x));  // exp(-x) = inf for very negative x gives 0, as it should
}
template <typename T>
static T softplus_of_minus(T x) {  // log(1 + exp(-x)) without overflow
  return std::log1p(std::exp(-std::abs(x))) + std::max(-x, T(0));
}

// out[i] = f(in0[i], in1[i], ...) over out's shape; every operand any strides (inputs broadcast).
template <typename T, typename F, size_t... I>
static void map_strided(const Tensor& out, const std::array<Tensor, sizeof...(I)>& in, F f, std::index_sequence<I...>) {
  T* o = static_cast<T*>(out.raw_data());
  const T* p[] = {static_cast<const T*>(in[I].raw_data())...};
  strided_loop<1 + sizeof...(I)>(out.shape(), {out.strides(), in[I].strides()...},
                                 [&](const int64_t* off, const int64_t* s, int64_t n) {
                                   for (int64_t i = 0; i < n; ++i)
                                     o[off[0] + i * s[0]] = f(p[I][off[I + 1] + i * s[I + 1]]...);
                                 });
}
template <typename T, size_t N, typename F>
static void map_strided(const Tensor& out, const std::array<Tensor, N>& in, F f) {
  map_strided<T>(out, in, f, std::make_index_sequence<N>{});
}

static void check_float_operands(const char* op, std::initializer_list<const Tensor*> tensors, DType dtype) {
  for (const Tensor* t : tensors)
    EMBER_CHECK(!t->defined() || t->dtype() == dtype, std::string(op) + ": expected every operand to be " +
                                                          dtype_name(dtype) + ", got " + dtype_name(t->dtype()));
}

void pointwise_loss(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& pos_weight) {
  check_float_operands("pointwise loss", {&input, &target, &pos_weight}, out.dtype());
  visit_floating("pointwise loss", out.dtype(), [&]<typename T>() {
    if (op == LossOp::SquaredError) {
      map_strided<T>(out, std::array{input, target}, [](T x, T t) { return (x - t) * (x - t); });
    } else if (!pos_weight.defined()) {
      map_strided<T>(out, std::array{input, target},
                     [](T x, T t) { return std::max(x, T(0)) - x * t + std::log1p(std::exp(-std::abs(x))); });
    } else {
      map_strided<T>(out, std::array{input, target, pos_weight},
                     [](T x, T t, T p) { return (T(1) - t) * x + (T(1) + (p - T(1)) * t) * softplus_of_minus(x); });
    }
  });
}

void pointwise_loss_backward(LossOp op, const Tensor& grad_input, const Tensor& grad_target, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& pos_weight) {
  check_float_operands("pointwise loss backward", {&grad_input, &grad_target, &input, &target, &pos_weight},
                       grad_out.dtype());
  visit_floating("pointwise loss backward", grad_out.dtype(), [&]<typename T>() {
    const std::array<Tensor, 3> gxt{grad_out, input, target};
    if (op == LossOp::SquaredError) {
      if (grad_input.defined()) map_strided<T>(grad_input, gxt, [](T g, T x, T t) { return T(2) * (x - t) * g; });
      if (grad_target.defined()) map_strided<T>(grad_target, gxt, [](T g, T x, T t) { return T(-2) * (x - t) * g; });
    } else if (!pos_weight.defined()) {
      if (grad_input.defined()) map_strided<T>(grad_input, gxt, [](T g, T x, T t) { return (sigmoid_of(x) - t) * g; });
      if (grad_target.defined()) map_strided<T>(grad_target, gxt, [](T g, T x, T) { return -x * g; });
    } else {
      const std::array<Tensor, 4> gxtp{grad_out, input, target, pos_weight};
      if (grad_input.defined())
        map_strided<T>(grad_input, gxtp,
                       [](T g, T x, T t, T p) { return ((T(1) - t) - (T(1) + (p - T(1)) * t) * sigmoid_of(-x)) * g; });
      if (grad_target.defined())
        map_strided<T>(grad_target, gxtp,
                       [](T g, T x, T, T p) { return (-x + (p - T(1)) * softplus_of_minus(x)) * g; });
    }
  });
}

// ---- row losses ----------------------------------------------------------------------------------------

// The strided (N,C) rows, (N) targets and (N) per-row values a row-loss kernel walks.
struct RowLossShape {
  int64_t rows = 0, classes = 0;
  int64_t row_stride = 0, class_stride = 0;  // of the (N,C) operand
};

static RowLossShape row_loss_shape(const char* op, const Tensor& per_row, const Tensor& matrix, const Tensor& target) {
  EMBER_CHECK(matrix.dim() == 2 && per_row.dim() == 1 && target.dim() == 1 && per_row.size(0) == matrix.size(0) &&
                  target.size(0) == matrix.size(0),
              std::string(op) + ": expected (N,C), (N) and (N) operands, got " + matrix.shape().str() + ", " +
                  per_row.shape().str() + " and " + target.shape().str());
  EMBER_CHECK(target.dtype() == DType::Int64,
              std::string(op) + ": expected an int64 target, got " + dtype_name(target.dtype()));
  EMBER_CHECK(per_row.dtype() == matrix.dtype(), std::string(op) + ": expected operands of one float dtype, got " +
                                                     dtype_name(per_row.dtype()) + " and " +
                                                     dtype_name(matrix.dtype()));
  return {matrix.size(0), matrix.size(1), matrix.stride(0), matrix.stride(1)};
}

// Lowers `first` to `candidate` if smaller (many threads may report a bad target at once).
static void keep_first(std::atomic<int64_t>& first, int64_t candidate) {
  int64_t seen = first.load();
  while (candidate < seen && !first.compare_exchange_weak(seen, candidate)) {
  }
}

// Runs row_fn(n, t_n) for every row n in parallel, where the target is a valid class; ignored
// rows call ignored_fn(n) and bad targets bad_fn(n). Returns the first bad position or -1.
template <typename RowFn, typename IgnoredFn, typename BadFn>
static int64_t for_each_row(const RowLossShape& s, const Tensor& target, int64_t ignore_index, RowFn row_fn,
                            IgnoredFn ignored_fn, BadFn bad_fn) {
  const int64_t* pt = static_cast<const int64_t*>(target.raw_data());
  const int64_t target_stride = target.stride(0);
  std::atomic<int64_t> first_bad{s.rows};
  parallel_for(0, s.rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(s.classes, 1)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const int64_t t = pt[n * target_stride];
      if (t == ignore_index) {
        ignored_fn(n);
      } else if (t < 0 || t >= s.classes) {
        bad_fn(n);
        keep_first(first_bad, n);
      } else {
        row_fn(n, t);
      }
    }
  });
  return first_bad.load() == s.rows ? -1 : first_bad.load();
}

// (N,C) logits, (N) target -> (N) loss = logsumexp(logits[n,:]) - logits[n, target[n]]
int64_t cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  const RowLossShape s = row_loss_shape("cross_entropy", loss, logits, target);
  return visit_floating("cross_entropy", logits.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(logits.raw_data());
    T* l = static_cast<T*>(loss.raw_data());
    const int64_t ls = loss.stride(0);
    return for_each_row(
        s, target, ignore_index,
        [&](int64_t n, int64_t t) {
          const T* xn = x + n * s.row_stride;  // element c at xn[c * s.class_stride]
          T m = -std::numeric_limits<T>::infinity();
          for (int64_t c = 0; c < s.classes; ++c) m = std::max(m, xn[c * s.class_stride]);
          if (std::isinf(m) && m < 0) m = 0;  // an all -inf row stays finite in the shift
          T sum = 0;
          for (int64_t c = 0; c < s.classes; ++c) sum += std::exp(xn[c * s.class_stride] - m);
          l[n * ls] = m + std::log(sum) - xn[t * s.class_stride];
        },
        [&](int64_t n) { l[n * ls] = 0; }, [&](int64_t n) { l[n * ls] = std::numeric_limits<T>::quiet_NaN(); });
  });
}

// grad_logits[n,c] = grad_loss[n] * (softmax(logits[n,:])_c - [c == target[n]])
void cross_entropy_backward(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                            const Tensor& target, int64_t ignore_index) {
  const RowLossShape s = row_loss_shape("cross_entropy backward", grad_loss, logits, target);
  EMBER_CHECK(grad_logits.shape() == logits.shape() && grad_logits.dtype() == logits.dtype(),
              "cross_entropy backward: grad_logits " + grad_logits.shape().str() + " must match the logits " +
                  logits.shape().str());
  visit_floating("cross_entropy backward", logits.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(logits.raw_data());
    const T* g = static_cast<const T*>(grad_loss.raw_data());
    T* d = static_cast<T*>(grad_logits.raw_data());
    const int64_t gs = grad_loss.stride(0), drs = grad_logits.stride(0), dcs = grad_logits.stride(1);
    auto fill_row = [&](int64_t n, T value) {
      for (int64_t c = 0; c < s.classes; ++c) d[n * drs + c * dcs] = value;
    };
    for_each_row(
        s, target, ignore_index,
        [&](int64_t n, int64_t t) {
          const T* xn = x + n * s.row_stride;
          T* dn = d + n * drs;
          T m = -std::numeric_limits<T>::infinity();
          for (int64_t c = 0; c < s.classes; ++c) m = std::max(m, xn[c * s.class_stride]);
          if (std::isinf(m) && m < 0) m = 0;
          T sum = 0;
          for (int64_t c = 0; c < s.classes; ++c) sum += std::exp(xn[c * s.class_stride] - m);
          const T gn = g[n * gs], scale = gn / sum;
          for (int64_t c = 0; c < s.classes; ++c) dn[c * dcs] = std::exp(xn[c * s.class_stride] - m) * scale;
          dn[t * dcs] -= gn;
        },
        [&](int64_t n) { fill_row(n, T(0)); }, [&](int64_t n) { fill_row(n, std::numeric_limits<T>::quiet_NaN()); });
  });
}

// (N,C) log_probs, (N) target -> (N) loss = -log_probs[n, target[n]]
int64_t nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index) {
  const RowLossShape s = row_loss_shape("nll_loss", loss, log_probs, target);
  return visit_floating("nll_loss", log_probs.dtype(), [&]<typename T>() {
    const T* x = static_cast<const T*>(log_probs.raw_data());
    T* l = static_cast<T*>(loss.raw_data());
    const int64_t ls = loss.stride(0);
    return for_each_row(
        s, target, ignore_index, [&](int64_t n, int64_t t) { l[n * ls] = -x[n * s.row_stride + t * s.class_stride]; },
        [&](int64_t n) { l[n * ls] = 0; }, [&](int64_t n) { l[n * ls] = std::numeric_limits<T>::quiet_NaN(); });
  });
}

// grad_log_probs[n,c] = -grad_loss[n] * [c == target[n]]
void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       int64_t ignore_index) {
  const RowLossShape s = row_loss_shape("nll_loss backward", grad_loss, grad_log_probs, target);
  visit_floating("nll_loss backward", grad_log_probs.dtype(), [&]<typename T>() {
    const T* g = static_cast<const T*>(grad_loss.raw_data());
    T* d = static_cast<T*>(grad_log_probs.raw_data());
    const int64_t gs = grad_loss.stride(0);
    auto fill_row = [&](int64_t n, T value) {
      for (int64_t c = 0; c < s.classes; ++c) d[n * s.row_stride + c * s.class_stride] = value;
    };
    for_each_row(
        s, target, ignore_index,
        [&](int64_t n, int64_t t) {
          fill_row(n, T(0));
          d[n * s.row_stride + t * s.class_stride] = -g[n * gs];
        },
        [&](int64_t n) { fill_row(n, T(0)); }, [&](int64_t n) { fill_row(n, std::numeric_limits<T>::quiet_NaN()); });
  });
}

}  // namespace ember::cpu
