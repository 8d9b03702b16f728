// The launch framework every CUDA elementwise kernel runs on (copy, casts, fill, unary, binary,
// where, ...): the GPU twin of tensor/cpu/strided_loop.h.
//
//   launch_elementwise<Out, In...>(out, {in...}, f)   computes  out[i] = f(in0[i], in1[i], ...)
//
// for every element i, where every operand may be any strided view (inputs arrive already
// broadcast, stride 0) and f is a __device__ functor or an extended __device__ lambda.
//
// Two paths:
//  * all operands contiguous: a flat grid-stride loop; when every pointer is 16-byte aligned each
//    thread moves 4 elements with one vector load/store per operand (float4 for float32), which is
//    what it takes to reach the memory bandwidth;
//  * otherwise: each thread turns its linear index i into one element offset per operand with an
//    OffsetCalculator (a divmod per dim), after merging dims that are contiguous for all operands.
#pragma once
#include <cuda/std/tuple>

#include <array>
#include <cstdint>
#include <utility>

#include "cuda/check.h"
#include "cuda/context.h"
#include "tensor/shape.h"
#include "tensor/tensor.h"

namespace ember::cuda {

// ---- strided indexing --------------------------------------------------------------------------
// Maps a linear index over `sizes` (row-major) to one element offset per operand.
template <int N>
struct OffsetCalculator {
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t strides[kMaxDims][N];  // strides[d][k]: operand k's element stride along dim d

  __device__ void offsets(int64_t linear, int64_t (&out)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t i = linear % sizes[d];
      linear /= sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) out[k] += i * strides[d][k];
    }
  }
};

// Builds the calculator on the host: drops size-1 dims, merges dims contiguous for all operands.
template <int N>
OffsetCalculator<N> make_offset_calculator(const Shape& shape, const std::array<const Strides*, N>& strides) {
  OffsetCalculator<N> c;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool mergeable = c.ndim > 0;
    for (int k = 0; k < N && mergeable; ++k) mergeable = c.strides[c.ndim - 1][k] == (*strides[k])[d] * shape[d];
    if (mergeable) {
      c.sizes[c.ndim - 1] *= shape[d];
      for (int k = 0; k < N; ++k) c.strides[c.ndim - 1][k] = (*strides[k])[d];
    } else {
      c.sizes[c.ndim] = shape[d];
      for (int k = 0; k < N; ++k) c.strides[c.ndim][k] = (*strides[k])[d];
      ++c.ndim;
    }
  }
  return c;  // ndim 0: one element, every offset 0
}

// ---- kernels -------------------------------------------------------------------------------------
template <typename T, int kVec>
struct alignas(sizeof(T) * kVec) VectorOf {
  T v[kVec];
};

constexpr int kVectorWidth = 4;  // elements per thread on the vectorised path

// Contiguous operands: out[i] = f(in[i]...), 4 elements per thread with vector loads when aligned.
// No __restrict__: in-place ops (add_, gradient accumulation) pass the output as an input too; each
// element is read and then written by the same thread, which is safe without it.
template <bool kVectorised, typename Out, typename F, typename... In>
__global__ void elementwise_contiguous_kernel(int64_t n, F f, Out* out, const In*... in) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if constexpr (kVectorised) {
    const int64_t n_vectors = n / kVectorWidth;
    for (int64_t v = tid; v < n_vectors; v += stride) {
      VectorOf<Out, kVectorWidth> o;
      // one 16-byte load per operand, then the math on registers
      ::cuda::std::tuple<VectorOf<In, kVectorWidth>...> loaded{
          reinterpret_cast<const VectorOf<In, kVectorWidth>*>(in)[v]...};
#pragma unroll
      for (int j = 0; j < kVectorWidth; ++j)
        o.v[j] = ::cuda::std::apply([&](const auto&... x) { return f(x.v[j]...); }, loaded);
      reinterpret_cast<VectorOf<Out, kVectorWidth>*>(out)[v] = o;
    }
    for (int64_t i = n_vectors * kVectorWidth + tid; i < n; i += stride) out[i] = f(in[i]...);  // the tail
  } else {
    for (int64_t i = tid; i < n; i += stride) out[i] = f(in[i]...);
  }
}

// Any strides: one OffsetCalculator lookup per element (operand 0 is the output).
template <typename Out, typename F, int N, typename... In>
__global__ void elementwise_strided_kernel(int64_t n, F f, OffsetCalculator<N> calc, Out* out, const In*... in) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t off[N];
    calc.offsets(i, off);
    out[off[0]] = [&]<size_t... I>(std::index_sequence<I...>) { return f(in[off[I + 1]]...); }
    (std::index_sequence_for<In...>{});
  }
}

inline bool aligned_for_vectors(const void* p, size_t element_size) {
  return reinterpret_cast<uintptr_t>(p) % (element_size * kVectorWidth) == 0;
}

// out[i] = f(in[i]...) over out's shape. Out and In... are the C++ element types of the tensors.
template <typename Out, typename... In, typename F>
void launch_elementwise(const Tensor& out, F f, const std::array<Tensor, sizeof...(In)>& inputs) {
  const int64_t n = out.numel();
  if (n == 0) return;
  cudaStream_t s = prepare(out);
  const int device = out.device().index;
  constexpr int kInputs = sizeof...(In);
  bool contiguous = out.is_contiguous();
  for (const Tensor& t : inputs) contiguous = contiguous && t.is_contiguous();
  auto launch = [&]<size_t... I>(std::index_sequence<I...>) {
    Out* o = static_cast<Out*>(out.raw_data());
    if (contiguous) {
      bool vectorised = n >= kVectorWidth && aligned_for_vectors(o, sizeof(Out));
      ((vectorised = vectorised && aligned_for_vectors(inputs[I].raw_data(), sizeof(In))), ...);
      if (vectorised) {
        elementwise_contiguous_kernel<true, Out, F, In...>
            <<<blocks_for(n / kVectorWidth, device), kThreadsPerBlock, 0, s>>>(
                n, f, o, static_cast<const In*>(inputs[I].raw_data())...);
      } else {
        elementwise_contiguous_kernel<false, Out, F, In...><<<blocks_for(n, device), kThreadsPerBlock, 0, s>>>(
            n, f, o, static_cast<const In*>(inputs[I].raw_data())...);
      }
      EMBER_CUDA_KERNEL_CHECK("elementwise_contiguous_kernel");
    } else {
      std::array<const Strides*, kInputs + 1> strides{&out.strides(), &inputs[I].strides()...};
      auto calc = make_offset_calculator<kInputs + 1>(out.shape(), strides);
      elementwise_strided_kernel<Out, F, kInputs + 1, In...><<<blocks_for(n, device), kThreadsPerBlock, 0, s>>>(
          n, f, calc, o, static_cast<const In*>(inputs[I].raw_data())...);
      EMBER_CUDA_KERNEL_CHECK("elementwise_strided_kernel");
    }
  };
  launch(std::index_sequence_for<In...>{});
}

}  // namespace ember::cuda
