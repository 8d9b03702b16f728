// CUDA elementwise kernels: unary maps, binary zips and where; the GPU twin of
// tensor/cpu/elementwise.cpp, with the same dtype rules, the same math and the same errors.
//
//   unary:   out[i] = f(in[i])             f in {neg, exp, log, sqrt, abs, relu, sigmoid, tanh,
//                                                 sign, x^p, clamp(x, lo, hi), x*x}
//   binary:  out[i] = f(a[i], b[i])        f in {+, -, *, /, pow, maximum, minimum,
//                                                 ==, !=, <, <=, >, >= (out is bool),
//                                                 relu backward: g * (x > 0)}
//   where:   out[i] = condition[i] ? a[i] : b[i]
//
// Shapes: every operand has out's shape (binary and where inputs arrive already broadcast, with
// stride 0 along broadcast dims); any operand may be any strided view. launch_elementwise
// (cuda/elementwise.cuh) does the indexing: a flat, vectorised loop when everything is contiguous,
// an OffsetCalculator per element otherwise. This file only supplies the functors.
//
// Why one functor per dtype with a `switch (op)` inside, instead of one functor per (op, dtype)?
// Each functor type instantiates three kernels (vectorised, flat, strided) and each kernel is
// compiled twice (sm_90 and compute_75 PTX); a functor per op would multiply this file's kernels,
// and its compile time, by the number of ops (about ten). `op` is a kernel argument, so every thread of a warp takes
// the same branch: the switch costs a few integer instructions per element in a loop bound by memory bandwidth. The
// hottest float32 ops (+ - * /) still get a functor with the op fixed at compile time, so the
// switch disappears from their inner loop.
//
// Dtype rules (as on the CPU):
//  * unary: out has in's dtype; bool is rejected; integers get neg, abs, sign, square, relu and
//    clamp only (exp, log, ... on an integer tensor are cast to float32 by the op before this).
//  * binary: computed in a's dtype (a and b share it); comparisons accept every dtype and write
//    bool; arithmetic rejects bool, and div rejects integers (the op promotes them to float).
//  * integer overflow wraps (uint8 arithmetic is done in int and truncated, as in C++).
//
// Floating-point agreement with the CPU: +, -, *, /, sqrt, neg, abs, square, relu, clamp, sign,
// maximum, minimum and comparisons are exact IEEE operations on both sides (nvcc keeps / and sqrt
// IEEE-exact unless built with --use_fast_math), so they match bit for bit. exp, log, tanh, pow and
// sigmoid use CUDA's math library, whose documented error is a few ulp (expf 2, logf 1, tanhf 2,
// powf 4; double exp/log 1, pow 2) where glibc's is under 1 ulp: those may differ from the CPU in
// the last bit or two: compare them with a tolerance of a few ulp.
//
// NaN: comparisons with NaN are false, so the ternaries below propagate NaN exactly as the CPU's
// do: maximum(x, y) = x > y ? x : y returns y when either is NaN (NaN when y is NaN, y when x is);
// clamp(NaN) = NaN; relu(NaN) = 0 (NaN > 0 is false); sign(NaN) = 0.
#include <cmath>
#include <string>
#include <type_traits>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "cuda/device_math.cuh"
#include "cuda/elementwise.cuh"

namespace ember::cuda {

namespace {

// ---- unary ----------------------------------------------------------------------------------------
// Is `op` defined for integer tensors? (The rest need a floating-point dtype.)
bool unary_works_on_integers(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Sign || op == UnaryOp::Square ||
         op == UnaryOp::Relu || op == UnaryOp::Clamp;
}

// x < 0, without the compiler's "pointless comparison" warning for uint8 (never negative).
template <typename T>
__device__ __forceinline__ bool is_negative(T x) {
  if constexpr (std::is_unsigned_v<T>)
    return false;
  else
    return x < T(0);
}

// out = f(x) for one dtype T (never bool). `a` and `b` are the op's parameters, already cast to T
// on the host exactly as the CPU casts them: clamp's lo and hi, or the exponent p of x^p.
template <typename T>
struct UnaryFunctor {
  UnaryOp op;
  T a, b;

  __device__ T operator()(T x) const {
    switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return is_negative(x) ? T(-x) : x;
    case UnaryOp::Sign: return T((T(0) < x) - is_negative(x));
    case UnaryOp::Square: return x * x;
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    case UnaryOp::Clamp: return x < a ? a : (x > b ? b : x);  // NaN passes through
    default: break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
      case UnaryOp::Exp: return exp_of(x);
      case UnaryOp::Log: return log_of(x);
      case UnaryOp::Sqrt: return sqrt_of(x);
      case UnaryOp::Tanh: return tanh_of(x);
      // sigmoid(x) = 1 / (1 + e^-x), written to stay finite for large |x| (the CPU's formula)
      case UnaryOp::Sigmoid: {
        if (x >= T(0)) return T(1) / (T(1) + exp_of(-x));
        T e = exp_of(x);
        return e / (T(1) + e);
      }
      case UnaryOp::PowScalar: return pow_of(x, a);
      default: break;
      }
    }
    return x;  // unreachable: the host rejects every other (op, dtype)
  }
};

template <typename T>
void unary_typed(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1) {
  if constexpr (std::is_same_v<T, bool>) {
    throw Error("unary op: not defined for bool tensors");
  } else {
    if (!std::is_floating_point_v<T> && !unary_works_on_integers(op))
      throw Error(std::string("unary op: not defined for ") + dtype_name(dtype_of<T>()) + " tensors");
    UnaryFunctor<T> f{op, T(0), T(0)};
    if (op == UnaryOp::Clamp) f.a = static_cast<T>(p0), f.b = static_cast<T>(p1);
    if (op == UnaryOp::PowScalar) {
      f.a = static_cast<T>(p0);
      if (f.a == T(2)) f.op = UnaryOp::Square;  // x^2 = x * x exactly, as on the CPU
    }
    launch_elementwise<T, T>(out, f, {in});
  }
}

}  // namespace

void unary(UnaryOp op, const Tensor& out, const Tensor& in, double p0, double p1) {
  visit_dtype(in.dtype(), [&]<typename T>() { unary_typed<T>(op, out, in, p0, p1); });
}

// ---- binary ---------------------------------------------------------------------------------------
namespace {

bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::Ge; }

template <typename T>
__device__ __forceinline__ T power(T x, T y) {
  if constexpr (std::is_floating_point_v<T>)
    return pow_of(x, y);
  else  // std::pow on integers promotes them to double, as here
    return static_cast<T>(pow_of(static_cast<double>(x), static_cast<double>(y)));
}

// The arithmetic ops for one dtype T (never bool; Div only for floating T, the host checks).
template <typename T>
__device__ __forceinline__ T arithmetic(BinaryOp op, T x, T y) {
  switch (op) {
  case BinaryOp::Add: return x + y;
  case BinaryOp::Sub: return x - y;
  case BinaryOp::Mul: return x * y;
  case BinaryOp::Div: return x / y;
  case BinaryOp::Pow: return power(x, y);
  case BinaryOp::Maximum: return x > y ? x : y;
  case BinaryOp::Minimum: return x < y ? x : y;
  case BinaryOp::ReluBackward: return y > T(0) ? x : T(0);  // x = grad, y = forward input
  default: return T(0);                                     // comparisons: see CompareFunctor
  }
}

// The generic functor: the op is a runtime value, uniform across the launch.
template <typename T>
struct ArithmeticFunctor {
  BinaryOp op;
  __device__ T operator()(T x, T y) const { return arithmetic<T>(op, x, y); }
};

// The hot path: the op fixed at compile time, so the switch above folds away.
template <typename T, BinaryOp kOp>
struct FixedArithmeticFunctor {
  __device__ T operator()(T x, T y) const { return arithmetic<T>(kOp, x, y); }
};

template <typename T>
struct CompareFunctor {
  BinaryOp op;
  __device__ bool operator()(T x, T y) const {
    switch (op) {
    case BinaryOp::Eq: return x == y;
    case BinaryOp::Ne: return x != y;
    case BinaryOp::Lt: return x < y;
    case BinaryOp::Le: return x <= y;
    case BinaryOp::Gt: return x > y;
    default: return x >= y;  // Ge
    }
  }
};

template <typename T>
void binary_typed(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  if (is_comparison(op)) return launch_elementwise<bool, T, T>(out, CompareFunctor<T>{op}, {a, b});
  if constexpr (std::is_same_v<T, bool>) {
    throw Error("binary op: arithmetic is not defined for bool tensors; convert them with to_dtype first");
  } else {
    if constexpr (!std::is_floating_point_v<T>) {
      if (op == BinaryOp::Div)
        throw Error("div: integer tensors are promoted to float by the op; the kernel got " +
                    std::string(dtype_name(dtype_of<T>())));
    }
    if constexpr (std::is_same_v<T, float>) {
      switch (op) {
      case BinaryOp::Add: return launch_elementwise<T, T, T>(out, FixedArithmeticFunctor<T, BinaryOp::Add>{}, {a, b});
      case BinaryOp::Sub: return launch_elementwise<T, T, T>(out, FixedArithmeticFunctor<T, BinaryOp::Sub>{}, {a, b});
      case BinaryOp::Mul: return launch_elementwise<T, T, T>(out, FixedArithmeticFunctor<T, BinaryOp::Mul>{}, {a, b});
      case BinaryOp::Div: return launch_elementwise<T, T, T>(out, FixedArithmeticFunctor<T, BinaryOp::Div>{}, {a, b});
      default: break;
      }
    }
    launch_elementwise<T, T, T>(out, ArithmeticFunctor<T>{op}, {a, b});
  }
}

}  // namespace

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  visit_dtype(a.dtype(), [&]<typename T>() { binary_typed<T>(op, out, a, b); });
}

// ---- where ----------------------------------------------------------------------------------------
namespace {

template <typename T>
struct WhereFunctor {
  __device__ T operator()(bool condition, T x, T y) const { return condition ? x : y; }
};

}  // namespace

void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b) {
  visit_dtype(out.dtype(), [&]<typename T>() {
    launch_elementwise<T, bool, T, T>(out, WhereFunctor<T>{}, {condition, a, b});
  });
}

}  // namespace ember::cuda
