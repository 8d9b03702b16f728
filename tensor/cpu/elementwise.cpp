// CPU elementwise kernels: copy (with casts), fill, unary maps, binary zips, where.
// Every one is a small lambda run by strided_loop; the fast paths below only pick an inner loop
// the compiler can vectorise (unit strides, or one operand broadcast as a scalar).
#include <cmath>
#include <type_traits>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/strided_loop.h"

namespace ember::cpu {

// When every operand is contiguous (and none is broadcast) the loop is one flat run: this skips
// strided_loop's set-up, which dominates the cost of ops on tiny tensors.
static bool all_contiguous(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (!t->is_contiguous()) return false;
  return true;
}

template <typename Body>
static void flat_loop(int64_t n, Body&& body) {
  if (n <= kElementwiseGrain) return body(0, n);
  parallel_for(0, n, kElementwiseGrain, body);
}

// out[i] = f(in[i]) over two strided operands.
template <typename Out, typename In, typename F>
static void map_loop(const Tensor& out, const Tensor& in, F f) {
  Out* o = static_cast<Out*>(out.raw_data());
  const In* a = static_cast<const In*>(in.raw_data());
  if (all_contiguous({&out, &in})) {
    return flat_loop(out.numel(), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) o[i] = f(a[i]);
    });
  }
  strided_loop<2>(out.shape(), {out.strides(), in.strides()}, [&](const int64_t* off, const int64_t* s, int64_t n) {
    Out* po = o + off[0];
    const In* pa = a + off[1];
    if (s[0] == 1 && s[1] == 1)
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i]);
    else
      for (int64_t i = 0; i < n; ++i) po[i * s[0]] = f(pa[i * s[1]]);
  });
}

// out[i] = f(a[i], b[i]); a and b are already broadcast to out's shape.
template <typename Out, typename In, typename F>
static void zip_loop(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  Out* o = static_cast<Out*>(out.raw_data());
  const In* pa0 = static_cast<const In*>(a.raw_data());
  const In* pb0 = static_cast<const In*>(b.raw_data());
  if (all_contiguous({&out, &a, &b})) {
    return flat_loop(out.numel(), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) o[i] = f(pa0[i], pb0[i]);
    });
  }
  strided_loop<3>(out.shape(), {out.strides(), a.strides(), b.strides()},
                  [&](const int64_t* off, const int64_t* s, int64_t n) {
                    Out* po = o + off[0];
                    const In* pa = pa0 + off[1];
                    const In* pb = pb0 + off[2];
                    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
                      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
                    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
                      const In vb = *pb;
                      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], vb);
                    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
                      const In va = *pa;
                      for (int64_t i = 0; i < n; ++i) po[i] = f(va, pb[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) po[i * s[0]] = f(pa[i * s[1]], pb[i * s[2]]);
                    }
                  });
}

void copy(const Tensor& dst, const Tensor& src) {
  visit_dtype(dst.dtype(), [&]<typename D>() {
    visit_dtype(src.dtype(), [&]<typename S>() { map_loop<D, S>(dst, src, [](S x) { return static_cast<D>(x); }); });
  });
}

void fill(const Tensor& dst, double value) {
  visit_dtype(dst.dtype(), [&]<typename T>() {
    T* o = static_cast<T*>(dst.raw_data());
    const T v = static_cast<T>(value);
    strided_loop<1>(dst.shape(), {dst.strides()}, [&](const int64_t* off, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) o[off[0] + i * s[0]] = v;
    });
  });
}

template <typename T>
static void unary_typed(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1) {
  auto run = [&](auto f) { map_loop<T, T>(out, in, f); };
  if constexpr (std::is_same_v<T, bool>) {
    throw Error("unary op: not defined for bool tensors");
  } else {
    switch (op) {
    case UnaryOp::Neg: return run([](T x) -> T { return -x; });
    case UnaryOp::Abs: return run([](T x) -> T { return x < T(0) ? T(-x) : x; });
    case UnaryOp::Sign: return run([](T x) -> T { return T((T(0) < x) - (x < T(0))); });
    case UnaryOp::Square: return run([](T x) -> T { return x * x; });
    case UnaryOp::Relu: return run([](T x) -> T { return x > T(0) ? x : T(0); });
    case UnaryOp::Clamp: {
      const T lo = static_cast<T>(p0), hi = static_cast<T>(p1);
      return run([=](T x) -> T { return x < lo ? lo : (x > hi ? hi : x); });
    }
    default: break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
      case UnaryOp::Exp: return run([](T x) -> T { return std::exp(x); });
      case UnaryOp::Log: return run([](T x) -> T { return std::log(x); });
      case UnaryOp::Sqrt: return run([](T x) -> T { return std::sqrt(x); });
      case UnaryOp::Tanh: return run([](T x) -> T { return std::tanh(x); });
      // sigmoid(x) = 1 / (1 + e^-x), written to stay finite for large |x|
      case UnaryOp::Sigmoid:
        return run([](T x) -> T {
          if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
          T e = std::exp(x);
          return e / (T(1) + e);
        });
      case UnaryOp::PowScalar: {
        const T p = static_cast<T>(p0);
        if (p == T(2)) return run([](T x) -> T { return x * x; });
        return run([=](T x) -> T { return std::pow(x, p); });
      }
      default: break;
      }
    }
    throw Error(std::string("unary op: not defined for ") + dtype_name(dtype_of<T>()) + " tensors");
  }
}

void unary(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1) {
  visit_dtype(in.dtype(), [&]<typename T>() { unary_typed<T>(op, out, in, p0, p1); });
}

template <typename T>
static void binary_typed(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  auto compare = [&](auto f) { zip_loop<bool, T>(out, a, b, f); };
  switch (op) {
  case BinaryOp::Eq: return compare([](T x, T y) { return x == y; });
  case BinaryOp::Ne: return compare([](T x, T y) { return x != y; });
  case BinaryOp::Lt: return compare([](T x, T y) { return x < y; });
  case BinaryOp::Le: return compare([](T x, T y) { return x <= y; });
  case BinaryOp::Gt: return compare([](T x, T y) { return x > y; });
  case BinaryOp::Ge: return compare([](T x, T y) { return x >= y; });
  default: break;
  }
  if constexpr (std::is_same_v<T, bool>) {
    throw Error("binary op: arithmetic is not defined for bool tensors; convert them with to_dtype first");
  } else {
    auto run = [&](auto f) { zip_loop<T, T>(out, a, b, f); };
    switch (op) {
    case BinaryOp::Add: return run([](T x, T y) -> T { return x + y; });
    case BinaryOp::Sub: return run([](T x, T y) -> T { return x - y; });
    case BinaryOp::Mul: return run([](T x, T y) -> T { return x * y; });
    case BinaryOp::Div:
      if constexpr (!std::is_floating_point_v<T>) {
        throw Error("div: integer tensors are promoted to float by the op; the kernel got " +
                    std::string(dtype_name(dtype_of<T>())));
      } else {
        return run([](T x, T y) -> T { return x / y; });
      }
    case BinaryOp::Pow: return run([](T x, T y) -> T { return static_cast<T>(std::pow(x, y)); });
    case BinaryOp::Maximum: return run([](T x, T y) -> T { return x > y ? x : y; });
    case BinaryOp::Minimum: return run([](T x, T y) -> T { return x < y ? x : y; });
    case BinaryOp::ReluBackward: return run([](T g, T x) -> T { return x > T(0) ? g : T(0); });
    default: break;
    }
  }
}

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  visit_dtype(a.dtype(), [&]<typename T>() { binary_typed<T>(op, out, a, b); });
}

void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b) {
  visit_dtype(out.dtype(), [&]<typename T>() {
    T* o = static_cast<T*>(out.raw_data());
    const bool* c = static_cast<const bool*>(condition.raw_data());
    const T* x = static_cast<const T*>(a.raw_data());
    const T* y = static_cast<const T*>(b.raw_data());
    strided_loop<4>(out.shape(), {out.strides(), condition.strides(), a.strides(), b.strides()},
                    [&](const int64_t* off, const int64_t* s, int64_t n) {
                      for (int64_t i = 0; i < n; ++i)
                        o[off[0] + i * s[0]] = c[off[1] + i * s[1]] ? x[off[2] + i * s[2]] : y[off[3] + i * s[3]];
                    });
  });
}

}  // namespace ember::cpu
