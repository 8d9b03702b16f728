// Host-side planning for the CUDA reductions in reduce.cu: which elements make up each result, and
// how the GPU's threads share the work. No kernels here; included only by reduce.cu.
//
// Any reduction is seen as R results ("outputs") of K elements each ("the row"):
//
//   in (d0, d1, d2, d3), reduce over {1, 3}  ->  out (d0, 1, d2, 1)
//   R = d0 * d2 (the kept dims),  K = d1 * d3 (the reduced dims)
//
// Two OffsetCalculators (cuda/elementwise.cuh) turn indices into element offsets for any strides:
//   kept:    output index o in [0, R) -> { input offset of the row's first element, output offsets }
//   reduced: r in [0, K)              -> input offset of the row's r-th element, from that first one
// so element r of row o is in[kept(o)[0] + reduced(r)], and the result goes to out[kept(o)[1]].
//
// Then the shape of the work decides the kernel:
//   rows    (the reduced dims hold the input's stride-1 dim, e.g. (B, C) -> (B, 1)): a group of
//           32..256 threads per output reads the row side by side (coalesced) and combines its
//           values with warp shuffles and shared memory;
//   columns (the kept dims hold the stride-1 dim, e.g. (B, C) -> (1, C), or rows shorter than a
//           warp): one thread per output walks the row, so neighbouring threads read neighbouring
//           addresses;
//   split   (too few outputs to fill the GPU, e.g. a full sum of 16M elements -> 1 output): each
//           row is cut into S pieces handled by different blocks (grid.y), which write partial
//           results (R, S) [rows] or (S, R) [columns] to a temporary; a second pass reduces those
//           S partials per output with the same kernels.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "cuda/elementwise.cuh"
#include "tensor/tensor.h"

namespace ember::cuda {

constexpr int kReduceBlockThreads = 256;  // every reduction kernel runs 256-thread blocks
constexpr int kWarpSize = 32;
constexpr int64_t kMaxGridY = 65535;      // CUDA's limit on gridDim.y (the split index)
constexpr int64_t kShortRow = 32;         // rows shorter than a warp go to the column kernel
constexpr int64_t kColumnMinPiece = 64;   // a split gives each column thread at least this many elements
constexpr int64_t kRowMinPerThread = 16;  // ... and each row thread at least this many

// N operands: operand 0 is the input, 1..N-1 the outputs (values, and indices for max/min with index).
template <int N>
struct ReducePlan {
  int64_t outputs = 1;  // R
  int64_t length = 1;   // K
  OffsetCalculator<N> kept;
  OffsetCalculator<1> reduced;

  // how the work is launched (choose_launch)
  bool columns = false;   // column kernel (one thread per output) instead of the row kernel
  int group = kWarpSize;  // row kernel: threads per output, a power of two in [32, 256]
  int64_t splits = 1;     // pieces per row; > 1: this pass writes partials and a second pass follows
  int64_t chunk = 1;      // elements per piece: piece s covers r in [s * chunk, min(K, (s + 1) * chunk))
  int64_t partial_stride_output = 0, partial_stride_split = 0;  // piece s of output o -> partial[o*so + s*ss]
};

// Splits in's dims into kept and reduced (reduced[d]) and builds both calculators. `outputs` must
// have in's rank, with size 1 (any stride) in every reduced dim and in's size elsewhere.
template <int N>
ReducePlan<N> make_reduce_plan(const Tensor& in, const std::array<const Tensor*, N - 1>& outputs,
                               const std::array<bool, kMaxDims>& reduced) {
  Shape kept_shape, reduced_shape;
  std::array<Strides, N> kept_strides;
  Strides reduced_strides;
  for (int d = 0; d < in.dim(); ++d) {
    if (reduced[d]) {
      reduced_shape.push_back(in.shape()[d]);
      reduced_strides.push_back(in.strides()[d]);
    } else {
      kept_shape.push_back(in.shape()[d]);
      kept_strides[0].push_back(in.strides()[d]);
      for (int k = 1; k < N; ++k) kept_strides[k].push_back(outputs[k - 1]->strides()[d]);
    }
  }
  std::array<const Strides*, N> kept_pointers;
  for (int k = 0; k < N; ++k) kept_pointers[k] = &kept_strides[k];
  ReducePlan<N> plan;
  plan.outputs = kept_shape.numel();
  plan.length = reduced_shape.numel();
  plan.kept = make_offset_calculator<N>(kept_shape, kept_pointers);
  plan.reduced = make_offset_calculator<1>(reduced_shape, {&reduced_strides});
  return plan;
}

// Picks the kernel, the row kernel's group size and the number of pieces per row. `allow_split`
// is false for a second pass (its rows are the S partials: short by construction).
template <int N>
void choose_launch(ReducePlan<N>& plan, int multiprocessors, bool allow_split) {
  const int64_t R = plan.outputs, K = plan.length;
  // After merging, the innermost dim of each calculator is its smallest stride.
  const bool row_is_dense = plan.reduced.ndim > 0 && plan.reduced.strides[plan.reduced.ndim - 1][0] == 1;
  const bool outputs_are_dense = plan.kept.ndim > 0 && plan.kept.strides[plan.kept.ndim - 1][0] == 1;
  plan.columns = K < kShortRow || (outputs_are_dense && !row_is_dense && R >= kWarpSize);

  // Row kernel: enough threads per output that each reads about 8 elements or more (32 .. 256).
  plan.group = kWarpSize;
  while (plan.group < kReduceBlockThreads && plan.group * 8 < K) plan.group *= 2;

  // Split when the outputs alone cannot keep the GPU busy (2048 resident threads per SM).
  const int64_t wanted_threads = static_cast<int64_t>(std::max(multiprocessors, 1)) * 2048;
  const int64_t busy_threads = plan.columns ? R : R * plan.group;
  const int64_t min_piece = plan.columns ? kColumnMinPiece : plan.group * kRowMinPerThread;
  plan.splits = 1;
  if (allow_split && busy_threads < wanted_threads && K >= 2 * min_piece) {
    const int64_t by_threads = (wanted_threads + busy_threads - 1) / busy_threads;
    plan.splits = std::min({by_threads, K / min_piece, kMaxGridY});
  }
  plan.chunk = (K + plan.splits - 1) / plan.splits;
  if (plan.chunk < 1) plan.chunk = 1;               // K == 0 never gets here; stay safe
  plan.splits = (K + plan.chunk - 1) / plan.chunk;  // no empty pieces
  if (plan.splits < 1) plan.splits = 1;
  // Partials laid out so that the first pass writes and the second pass reads them well:
  // rows -> (R, S) (a row's pieces side by side), columns -> (S, R) (neighbouring outputs side by side).
  plan.partial_stride_output = plan.columns ? 1 : plan.splits;
  plan.partial_stride_split = plan.columns ? R : 1;
}

// The second pass: the same outputs, each now reducing its S partials from the dense buffer
// written by `first` (output o's piece s at o * partial_stride_output + s * partial_stride_split).
template <int N>
ReducePlan<N> second_pass_plan(const ReducePlan<N>& first, int multiprocessors) {
  ReducePlan<N> plan;
  plan.outputs = first.outputs;
  plan.length = first.splits;
  plan.kept = first.kept;  // output offsets unchanged; input offsets become o * partial_stride_output
  int64_t stride = first.partial_stride_output;
  for (int d = plan.kept.ndim - 1; d >= 0; --d) {
    plan.kept.strides[d][0] = stride;
    stride *= plan.kept.sizes[d];
  }
  plan.reduced.ndim = 1;
  plan.reduced.sizes[0] = first.splits;
  plan.reduced.strides[0][0] = first.partial_stride_split;
  choose_launch(plan, multiprocessors, /*allow_split=*/false);
  return plan;
}

}  // namespace ember::cuda
