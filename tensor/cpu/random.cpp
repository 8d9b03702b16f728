// CPU creation kernels: arange and the random fills. Element i of a random fill uses Philox
// counter offset + i (see tensor/philox.h), so results do not depend on threads.
#include <cmath>
#include <numbers>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/parallel.h"
#include "tensor/philox.h"

namespace ember::cpu {

// out[i] = f(i) for a contiguous out.
template <typename T, typename F>
static void fill_by_index(const Tensor& out, F f) {
  T* o = static_cast<T*>(out.raw_data());
  parallel_for(0, out.numel(), 16384, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) o[i] = f(i);
  });
}

void arange(const Tensor& out, double start, double step) {
  visit_dtype(out.dtype(), [&]<typename T>() {
    fill_by_index<T>(out, [&](int64_t i) { return static_cast<T>(start + static_cast<double>(i) * step); });
  });
}

template <typename T>
static T uniform01(uint64_t seed, uint64_t counter) {
  PhiloxOutput r = philox4x32(seed, counter);
  if constexpr (std::is_same_v<T, float>)
    return philox_uniform_float(r.word[0]);
  else
    return static_cast<T>(philox_uniform_double(r.word[0], r.word[1]));
}

void uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high) {
  visit_floating("rand", out.dtype(), [&]<typename T>() {
    const T lo = static_cast<T>(low), width = static_cast<T>(high - low);
    fill_by_index<T>(out, [&](int64_t i) { return lo + width * uniform01<T>(seed, offset + i); });
  });
}

// Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), with u1 in (0, 1] so the log stays finite.
void normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double stddev) {
  visit_floating("randn", out.dtype(), [&]<typename T>() {
    fill_by_index<T>(out, [&](int64_t i) {
      PhiloxOutput r = philox4x32(seed, offset + i);
      double u1 = 1.0 - philox_uniform_double(r.word[0], r.word[1]);
      double u2 = philox_uniform_double(r.word[2], r.word[3]);
      double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      return static_cast<T>(mean + stddev * z);
    });
  });
}

void randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  const uint64_t range = static_cast<uint64_t>(high - low);
  visit_dtype(out.dtype(), [&]<typename T>() {
    fill_by_index<T>(out, [&](int64_t i) {
      PhiloxOutput r = philox4x32(seed, offset + i);
      uint64_t bits = (static_cast<uint64_t>(r.word[0]) << 32) | r.word[1];
      return static_cast<T>(low + static_cast<int64_t>(bits % range));
    });
  });
}

}  // namespace ember::cpu
