// Creating tensors: filled, ranges, identity, random, and from C++ values.
#pragma once
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace ember {

Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
Tensor scalar_tensor(double value, DType dtype = DType::Float32, Device device = Device::cpu());  // 0-d

// [start, end) in steps of `step`, like torch.arange: arange(5) = [0, 1, 2, 3, 4].
Tensor arange(double end, DType dtype = DType::Int64, Device device = Device::cpu());
Tensor arange(double start, double end, double step = 1, DType dtype = DType::Int64, Device device = Device::cpu());
// `steps` points from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::Float32, Device device = Device::cpu());
Tensor eye(int64_t n, DType dtype = DType::Float32, Device device = Device::cpu());

// Random tensors from the default generator (see manual_seed), or from an explicit one.
Tensor rand(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());   // U[0, 1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());  // N(0, 1)
Tensor uniform(const Shape& shape, double low, double high, DType dtype = DType::Float32, Device device = Device::cpu(),
               Generator* generator = nullptr);
Tensor normal(const Shape& shape, double mean, double stddev, DType dtype = DType::Float32,
              Device device = Device::cpu(), Generator* generator = nullptr);
// Integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64, Device device = Device::cpu(),
               Generator* generator = nullptr);

// From C++ values: tensor({1, 2, 3, 4}, {2, 2}). The shape defaults to 1-d.
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
Tensor from_vector(const std::vector<double>& values, const Shape& shape);
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
Tensor from_vector(const std::vector<uint8_t>& values, const Shape& shape);
template <typename T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())});
}
// The elements in row-major order, converted to T (CPU tensors; any strides).
template <typename T>
std::vector<T> to_vector(const Tensor& t);

}  // namespace ember
