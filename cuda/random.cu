// CUDA creation kernels: arange and the random fills; the GPU twin of tensor/cpu/random.cpp.
//
//   arange:   out[i] = start + i * step
//   uniform:  out[i] = low + (high - low) * u,           u in [0, 1) from Philox(seed, offset + i)
//   normal:   out[i] = mean + stddev * z,                z = sqrt(-2 ln u1) cos(2 pi u2)  (Box-Muller)
//   randint:  out[i] = low + bits % (high - low),        bits: 64 random bits from Philox(seed, offset + i)
//
// Shapes: out is any shape, contiguous (creation.cpp makes it fresh), seen as a flat run of n
// elements; one thread computes element i, in a grid-stride loop.
//
// Why the GPU gives the CPU's numbers: Philox is counter-based (tensor/philox.h, host and device
// code), so element i is a pure function of (seed, offset + i) whatever thread computes it. Every
// transform below is the CPU's, written the same way: float32 uniform uses 24 random bits
// (philox_uniform_float) and float arithmetic; float64 uniform uses 53 bits; normal computes in
// double and casts at the end.
//
// Where the bits may still differ (nothing else does):
//  * normal: CUDA's double log (documented <= 1 ulp) and cos (<= 2 ulp) can round differently from
//    glibc's (under 1 ulp), so z can differ in the last bit of a double. float64 randn may then
//    differ in its last bit; float32 randn only when that bit changes the rounding to float, about
//    once in 2^29 draws.
//  * `a + b * c` (arange, uniform, normal's mean + stddev * z) is fused into one FMA by nvcc, and
//    by GCC with -march=native on FMA hardware (EMBER_NATIVE=ON, the default); a CPU build without
//    FMA rounds the product separately and can differ in the last bit.
//  * arange into an integer dtype with a value out of that dtype's range: the conversion is
//    undefined in C++; the GPU saturates, the CPU's x86 instructions do not.
#include <numbers>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "tensor/philox.h"

namespace ember::cuda {

namespace {

// out[i] = f(i) for i < n.
template <typename T, typename F>
__global__ void fill_by_index_kernel(T* __restrict__ out, int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = f(i);
}

template <typename T, typename F>
void fill_by_index(const char* op, const Tensor& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  EMBER_CHECK(out.is_contiguous(),
              std::string(op) + ": the output must be contiguous, got strides " + out.strides().str());
  cudaStream_t s = prepare(out);
  fill_by_index_kernel<T, F>
      <<<blocks_for(n, out.device().index), kThreadsPerBlock, 0, s>>>(static_cast<T*>(out.raw_data()), n, f);
  EMBER_CUDA_KERNEL_CHECK("fill_by_index_kernel");
}

}  // namespace

// ---- arange ---------------------------------------------------------------------------------------
namespace {

template <typename T>
struct ArangeFunctor {
  double start, step;
  __device__ T operator()(int64_t i) const { return static_cast<T>(start + static_cast<double>(i) * step); }
};

}  // namespace

void arange(const Tensor& out, double start, double step) {
  visit_dtype(out.dtype(), [&]<typename T>() { fill_by_index<T>("arange", out, ArangeFunctor<T>{start, step}); });
}

// ---- uniform ----------------------------------------------------------------------------------------
namespace {

template <typename T>
__device__ __forceinline__ T uniform01(uint64_t seed, uint64_t counter) {
  PhiloxOutput r = philox4x32(seed, counter);
  if constexpr (std::is_same_v<T, float>)
    return philox_uniform_float(r.word[0]);
  else
    return static_cast<T>(philox_uniform_double(r.word[0], r.word[1]));
}

template <typename T>
struct UniformFunctor {
  uint64_t seed, offset;
  T low, width;  // cast to T on the host, as the CPU does
  __device__ T operator()(int64_t i) const { return low + width * uniform01<T>(seed, offset + i); }
};

}  // namespace

void uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high) {
  visit_floating("rand", out.dtype(), [&]<typename T>() {
    fill_by_index<T>("rand", out, UniformFunctor<T>{seed, offset, static_cast<T>(low), static_cast<T>(high - low)});
  });
}

// ---- normal ------------------------------------------------------------------------------------------
namespace {

// Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), with u1 in (0, 1] so the log stays finite.
template <typename T>
struct NormalFunctor {
  uint64_t seed, offset;
  double mean, stddev;
  __device__ T operator()(int64_t i) const {
    PhiloxOutput r = philox4x32(seed, offset + i);
    double u1 = 1.0 - philox_uniform_double(r.word[0], r.word[1]);
    double u2 = philox_uniform_double(r.word[2], r.word[3]);
    double z = ::sqrt(-2.0 * ::log(u1)) * ::cos(2.0 * std::numbers::pi * u2);
    return static_cast<T>(mean + stddev * z);
  }
};

}  // namespace

void normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double stddev) {
  visit_floating("randn", out.dtype(), [&]<typename T>() {
    fill_by_index<T>("randn", out, NormalFunctor<T>{seed, offset, mean, stddev});
  });
}

// ---- randint -----------------------------------------------------------------------------------------
namespace {

// 64 random bits modulo the range: the bias is at most range / 2^64, invisible for any real range.
template <typename T>
struct RandintFunctor {
  uint64_t seed, offset;
  int64_t low;
  uint64_t range;  // high - low > 0 (creation.cpp checks low < high)
  __device__ T operator()(int64_t i) const {
    PhiloxOutput r = philox4x32(seed, offset + i);
    uint64_t bits = (static_cast<uint64_t>(r.word[0]) << 32) | r.word[1];
    return static_cast<T>(low + static_cast<int64_t>(bits % range));
  }
};

}  // namespace

void randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  const uint64_t range = static_cast<uint64_t>(high - low);
  visit_dtype(out.dtype(), [&]<typename T>() {
    fill_by_index<T>("randint", out, RandintFunctor<T>{seed, offset, low, range});
  });
}

}  // namespace ember::cuda
