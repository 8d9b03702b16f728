// Inputs for the CPU-versus-GPU tests: the same random values on both devices, in the same memory
// layout (contiguous, transposed, strided, broadcast), so a GPU result can be compared with the
// CPU kernel's, element by element.
#pragma once
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../test_util.h"

namespace ember::test {

// The device the GPU tests put their tensors on: cuda:0. With EMBER_CUDA_TESTS_ON_CPU=1 it is the
// cpu instead, a dry run that checks the test tables themselves on a machine without a GPU
// (tests/README.md); the comparisons are then trivially equal, so that mode proves nothing about
// the kernels.
inline bool dry_run_on_cpu() {
  const char* v = std::getenv("EMBER_CUDA_TESTS_ON_CPU");
  return v && std::string(v) == "1";
}
inline Device test_device() { return dry_run_on_cpu() ? Device::cpu() : Device::cuda(); }

enum class Layout { Contiguous, Transposed, Strided, Broadcast };

struct InputSpec {
  Shape shape;
  DType dtype = DType::Float32;
  Layout layout = Layout::Contiguous;
  enum Values { Normal, Positive, Small } values = Normal;  // Positive: in [0.5, 2.5) (log, sqrt, pow)
};

inline InputSpec f32(Shape s, Layout l = Layout::Contiguous) { return {s, DType::Float32, l}; }
inline InputSpec f64(Shape s, Layout l = Layout::Contiguous) { return {s, DType::Float64, l}; }
inline InputSpec positive(Shape s, DType d = DType::Float32, Layout l = Layout::Contiguous) {
  return {s, d, l, InputSpec::Positive};
}
inline InputSpec of(DType d, Shape s, Layout l = Layout::Contiguous) { return {s, d, l, InputSpec::Small}; }

// The memory the view is cut from: for Transposed the last two dims are swapped, for Strided the
// last dim is twice as long (the view takes every other element), for Broadcast dim 0 is 1.
inline Shape base_shape(const InputSpec& spec) {
  Shape s = spec.shape;
  if (s.size() == 0) return s;
  if (spec.layout == Layout::Transposed && s.size() >= 2) std::swap(s[s.size() - 1], s[s.size() - 2]);
  if (spec.layout == Layout::Strided) s[s.size() - 1] *= 2;
  if (spec.layout == Layout::Broadcast) s[0] = 1;
  return s;
}

inline Tensor random_values(const InputSpec& spec, Generator& g) {
  Shape s = base_shape(spec);
  switch (spec.dtype) {
  case DType::Float32:
  case DType::Float64:
    if (spec.values == InputSpec::Positive) return uniform(s, 0.5, 2.5, spec.dtype, Device::cpu(), &g);
    return normal(s, 0, 1, spec.dtype, Device::cpu(), &g);
  case DType::Int64: return randint(-6, 7, s, DType::Int64, Device::cpu(), &g);
  case DType::UInt8: return randint(0, 256, s, DType::UInt8, Device::cpu(), &g);
  case DType::Bool: return to_dtype(randint(0, 2, s, DType::Int64, Device::cpu(), &g), DType::Bool);
  }
  return Tensor();
}

// The view of `base` described by spec.layout (no copy).
inline Tensor apply_layout(const Tensor& base, const InputSpec& spec) {
  const int n = spec.shape.size();
  switch (spec.layout) {
  case Layout::Contiguous: return base;
  case Layout::Transposed: return n >= 2 ? transpose(base, -1, -2) : base;
  case Layout::Strided: return n >= 1 ? slice(base, -1, 0, base.size(-1), 2) : base;
  case Layout::Broadcast: return n >= 1 ? expand(base, spec.shape) : base;
  }
  return base;
}

// The same inputs on the cpu and on `device`; float inputs require grad on both.
struct InputPair {
  std::vector<Tensor> cpu, device;
};

inline InputPair make_inputs(const std::vector<InputSpec>& specs, Device device, uint64_t seed) {
  Generator g{seed, 0};
  InputPair pair;
  for (const InputSpec& spec : specs) {
    Tensor base = random_values(spec, g);
    Tensor on_cpu = apply_layout(base, spec).detach();
    Tensor on_device = apply_layout(to(base, device), spec).detach();
    if (is_floating(spec.dtype)) on_cpu.requires_grad_(), on_device.requires_grad_();
    pair.cpu.push_back(on_cpu);
    pair.device.push_back(on_device);
  }
  return pair;
}

}  // namespace ember::test
