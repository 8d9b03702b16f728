// Differentiable elementwise ops with NumPy broadcasting and PyTorch's type promotion.
#pragma once
#include "tensor/tensor.h"

namespace ember {

// ---- binary (broadcasting) -----------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // integer inputs give float32, as in PyTorch
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);

// ---- unary ---------------------------------------------------------------------------------------
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor square(const Tensor& a);
Tensor clamp(const Tensor& a, double min, double max);
Tensor relu(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor to_dtype(const Tensor& a, DType dtype);  // a cast; differentiable between float types

// ---- devices: PyTorch's t.to(device), t.cpu(), t.cuda() are to(t, device), to_cpu(t), to_cuda(t) -----------
// A copy on `device` (or `a` itself when it is already there); the gradient flows back to a's
// device. Every op then runs where its inputs are; mixing devices in one op is an error.
Tensor to(const Tensor& a, Device device);
Tensor to(const Tensor& a, Device device, DType dtype);
inline Tensor to_cpu(const Tensor& a) { return to(a, Device::cpu()); }  // (ember::cpu is the CPU kernels' namespace)
inline Tensor to_cuda(const Tensor& a, int index = 0) { return to(a, Device::cuda(index)); }

// ---- comparisons (bool results, not differentiable) and where -------------------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);  // condition ? a : b

// ---- in-place (bump the version counter; see the README on in-place ops and autograd) ----------
Tensor& add_(Tensor& self, const Tensor& other);
Tensor& sub_(Tensor& self, const Tensor& other);
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& div_(Tensor& self, const Tensor& other);
Tensor& add_(Tensor& self, double other);
Tensor& mul_(Tensor& self, double other);
Tensor& clamp_(Tensor& self, double min, double max);
Tensor& fill_(Tensor& self, double value);
Tensor& zero_(Tensor& self);
Tensor& copy_(Tensor& self, const Tensor& src);  // src broadcast to self's shape, cast to its dtype

// A 0-d tensor holding `value` that combines with `like` without changing its dtype
// (a float scalar with an integer tensor gives float32, as in PyTorch).
Tensor scalar_like(double value, const Tensor& like);

// ---- operators -----------------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
inline Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
inline Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
inline Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }
inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor& operator+=(Tensor& a, const Tensor& b) { return add_(a, b); }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return sub_(a, b); }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return mul_(a, b); }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return div_(a, b); }

}  // namespace ember
