// The one loop every CPU elementwise kernel runs on.
//
// N operands (operand 0 is usually the output) share one shape but may have any strides,
// including 0 for broadcast dims. The loop first merges dims that are contiguous for every operand
// ("coalescing": a contiguous (2,3,4) tensor becomes one run of 24), then walks the linear index
// range in parallel chunks and hands the body runs of the innermost dim:
//
//   body(offsets[N], inner_strides[N], n)   // element offsets of the first element of the run,
//                                           // and each operand's stride along the run
//
// so the body's loop `for i < n: out[i*s0] = f(a[i*s1], ...)` is the only place doing math.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/parallel.h"
#include "tensor/shape.h"

namespace ember::cpu {

constexpr int64_t kElementwiseGrain = 32768;  // below this many elements one thread is faster

template <int N, typename Body>
void strided_loop(const Shape& full_shape, const std::array<Strides, N>& full_strides, Body&& body) {
  // 1. Drop size-1 dims and merge dims that are contiguous for all operands.
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];
  int nd = 0;
  for (int d = 0; d < full_shape.size(); ++d) {
    if (full_shape[d] == 1) continue;
    bool mergeable = nd > 0;
    for (int k = 0; k < N && mergeable; ++k) mergeable = strides[k][nd - 1] == full_strides[k][d] * full_shape[d];
    if (mergeable) {
      shape[nd - 1] *= full_shape[d];
      for (int k = 0; k < N; ++k) strides[k][nd - 1] = full_strides[k][d];
    } else {
      shape[nd] = full_shape[d];
      for (int k = 0; k < N; ++k) strides[k][nd] = full_strides[k][d];
      ++nd;
    }
  }
  if (nd == 0) {  // a scalar, or all dims of size 1
    shape[0] = 1;
    for (int k = 0; k < N; ++k) strides[k][0] = 0;
    nd = 1;
  }
  int64_t numel = full_shape.numel();
  if (numel == 0) return;
  const int last = nd - 1;
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = strides[k][last];

  // 2. Walk [begin, end) of the linear index: find the multi-index of `begin`, then hand out runs
  //    along the last dim and carry into the outer dims like an odometer.
  auto run_range = [&](int64_t begin, int64_t end) {
    int64_t index[kMaxDims];
    std::array<int64_t, N> offsets{};
    int64_t rest = begin;
    for (int d = last; d >= 0; --d) {
      index[d] = rest % shape[d];
      rest /= shape[d];
      for (int k = 0; k < N; ++k) offsets[k] += index[d] * strides[k][d];
    }
    for (int64_t position = begin; position < end;) {
      int64_t n = std::min(end - position, shape[last] - index[last]);
      body(offsets.data(), inner_strides.data(), n);
      position += n;
      index[last] += n;
      for (int k = 0; k < N; ++k) offsets[k] += n * strides[k][last];
      for (int d = last; d > 0 && index[d] == shape[d]; --d) {
        for (int k = 0; k < N; ++k) offsets[k] += strides[k][d - 1] - index[d] * strides[k][d];
        index[d] = 0;
        ++index[d - 1];
      }
    }
  };
  parallel_for(0, numel, kElementwiseGrain, run_range);
}

}  // namespace ember::cpu
