// Raw kernels: the non-differentiable work every op bottoms out in, one implementation per device.
//
// tensor/ calls kernels::add(out, a, b); the wrapper checks that all tensors are on one device and
// looks up that device's DeviceKernels in a small table. cpu/ fills the CPU row at start-up and
// cuda/ (when built) fills the CUDA row, so tensor/ never includes CUDA headers.
//
// Contract shared by all kernels: `out` is allocated by the caller with the final shape and dtype
// (usually contiguous); inputs may be any strided view, and binary/where inputs arrive already
// broadcast (expanded, stride 0) to out's shape.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace ember {

enum class UnaryOp : uint8_t {
  Neg,
  Exp,
  Log,
  Sqrt,
  Abs,
  Relu,
  Sigmoid,
  Tanh,
  Sign,
  PowScalar,  // x^p, p = param0
  Clamp,      // min(max(x, param0), param1)
  Square,
};

enum class BinaryOp : uint8_t {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,            // produce bool
  ReluBackward,  // out = grad * (x > 0): a = grad, b = x
};

enum class ReduceOp : uint8_t { Sum, Max, Min };

struct DeviceKernels {
  // devices and memory
  int (*device_count)();  // usable devices of this type (0: none, or no driver)
  void* (*allocate)(size_t nbytes, int device_index);
  void (*deallocate)(void* data, size_t nbytes);
  void (*copy)(const Tensor& dst, const Tensor& src);  // any strides, casts between dtypes
  void (*fill)(const Tensor& dst, double value);
  // elementwise
  void (*unary)(UnaryOp op, const Tensor& out, const Tensor& in, double param0, double param1);
  void (*binary)(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
  void (*where)(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
  // reductions: out has the keepdim shape (reduced dims have size 1)
  void (*reduce)(ReduceOp op, const Tensor& out, const Tensor& in);
  // max/min along one dim with the index of the winner (first one on ties)
  void (*reduce_with_index)(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim);
  void (*softmax)(const Tensor& out, const Tensor& in, int dim, bool log);
  // grad_in = y*(g - sum(g*y)) for softmax, g - exp(y)*sum(g) for log_softmax; y is the forward output
  void (*softmax_backward)(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log);
  // out (B,M,N) contiguous = a (B,M,K) @ b (B,K,N), a and b any strides
  void (*matmul)(const Tensor& out, const Tensor& a, const Tensor& b);
  // indexing along `dim`: index is int64
  void (*index_select)(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
  void (*index_add)(const Tensor& out, int dim, const Tensor& index,
                    const Tensor& src);  // out[.., index[i], ..] += src[.., i, ..]
  void (*gather)(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
  void (*scatter_add)(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
  // creation: out[i] = start + i * step;  random draws from the Philox stream (seed, offset + i)
  void (*arange)(const Tensor& out, double start, double step);
  void (*uniform)(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
  void (*normal)(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double stddev);
  void (*randint)(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high);
};

void register_device_kernels(DeviceType type, const DeviceKernels* kernels);
const DeviceKernels& kernels_for(Device device);  // error if that backend is not built
bool has_kernels(DeviceType type);                // is that backend built into this program?

namespace kernels {

// All tensors of one kernel call must live on one device; the error names both.
[[noreturn]] void throw_device_mismatch(const char* op, const Tensor& a, const Tensor& b);
inline void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  if (a.device() != b.device()) throw_device_mismatch(op, a, b);
}

void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const Tensor& out, const Tensor& in, double param0 = 0, double param1 = 0);
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
void reduce(ReduceOp op, const Tensor& out, const Tensor& in);
void reduce_with_index(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim);
void softmax(const Tensor& out, const Tensor& in, int dim, bool log);
void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log);
void matmul(const Tensor& out, const Tensor& a, const Tensor& b);
void index_select(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);

}  // namespace kernels
}  // namespace ember
