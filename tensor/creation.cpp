#include "tensor/creation.h"

#include <cmath>

#include "tensor/kernels.h"

namespace ember {

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator() = Generator{seed, 0}; }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  kernels::fill(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1, dtype, device); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype(), t.device()); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full(Shape{}, value, dtype, device); }

Tensor arange(double end, DType dtype, Device device) { return arange(0, end, 1, dtype, device); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  EMBER_CHECK(step != 0, "arange: step must be non-zero");
  EMBER_CHECK((end - start) / step >= 0, "arange: the range [" + std::to_string(start) + ", " + std::to_string(end) +
                                             ") is not reachable with step " + std::to_string(step));
  auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty(Shape{n}, dtype, device);
  kernels_for(device).arange(t, start, step);
  return t;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  EMBER_CHECK(steps >= 0, "linspace: steps must be non-negative, got " + std::to_string(steps));
  Tensor t = empty(Shape{steps}, dtype, device);
  kernels_for(device).arange(t, start, steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0);
  return t;
}

Tensor eye(int64_t n, DType dtype, Device device) {
  Tensor t = zeros(Shape{n, n}, dtype, device);
  kernels::fill(t.as_strided(Shape{n}, Strides{n + 1}, 0), 1);  // the diagonal as a strided view
  return t;
}

static Generator& pick(Generator* generator) { return generator ? *generator : default_generator(); }

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Device device, Generator* generator) {
  Tensor t = empty(shape, dtype, device);
  Generator& g = pick(generator);
  kernels_for(device).uniform(t, g.seed, g.reserve(t.numel()), low, high);
  return t;
}

Tensor normal(const Shape& shape, double mean, double stddev, DType dtype, Device device, Generator* generator) {
  Tensor t = empty(shape, dtype, device);
  Generator& g = pick(generator);
  kernels_for(device).normal(t, g.seed, g.reserve(t.numel()), mean, stddev);
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Device device) { return uniform(shape, 0, 1, dtype, device); }
Tensor randn(const Shape& shape, DType dtype, Device device) { return normal(shape, 0, 1, dtype, device); }

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device, Generator* generator) {
  EMBER_CHECK(high > low,
              "randint: expected low < high, got [" + std::to_string(low) + ", " + std::to_string(high) + ")");
  Tensor t = empty(shape, dtype, device);
  Generator& g = pick(generator);
  kernels_for(device).randint(t, g.seed, g.reserve(t.numel()), low, high);
  return t;
}

template <typename T>
static Tensor from_values(const std::vector<T>& values, const Shape& shape) {
  EMBER_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
              "from_vector: " + std::to_string(values.size()) + " values do not fill shape " + shape.str() + " (" +
                  std::to_string(shape.numel()) + " elements)");
  Tensor t = empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

Tensor from_vector(const std::vector<float>& v, const Shape& s) { return from_values(v, s); }
Tensor from_vector(const std::vector<double>& v, const Shape& s) { return from_values(v, s); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s) { return from_values(v, s); }
Tensor from_vector(const std::vector<uint8_t>& v, const Shape& s) { return from_values(v, s); }

template <typename T>
std::vector<T> to_vector(const Tensor& t) {
  Tensor c = empty(t.shape(), dtype_of<T>());  // on the cpu: the copy also brings it from a GPU
  kernels::copy(c, t);
  return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
}
template std::vector<float> to_vector<float>(const Tensor&);
template std::vector<double> to_vector<double>(const Tensor&);
template std::vector<int64_t> to_vector<int64_t>(const Tensor&);
template std::vector<uint8_t> to_vector<uint8_t>(const Tensor&);
template std::vector<bool> to_vector<bool>(const Tensor&);

}  // namespace ember
