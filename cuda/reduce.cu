// CUDA reductions: sum / max / min over any set of dims, and max / min along one dim with the index
// of the winner. The GPU twin of tensor/cpu/reduce.cpp, with the same dtype rules and errors.
//
//   reduce:            in (d0, .., dn) -> out (keepdim shape: reduced dims of size 1)
//                      out[o] = in[o, 0] (+ | max | min) in[o, 1] ... in[o, K-1]
//   reduce_with_index: in (.., K, ..) along `dim` -> values, indices (.., 1, ..) (or with `dim` dropped)
//                      values[o] = max_r in[o, r], indices[o] = the first r that holds it
//
// How the work is cut (rows / columns / split into two passes) is planned on the host in
// cuda/reduce_plan.h; this file has the kernels and what they combine:
//
//   reduce_rows_kernel     a group of G threads (a warp, or up to 8 warps) per output: thread t
//                          combines elements t, t+G, t+2G, ... in registers, then the warp combines
//                          its 32 values with __shfl_down_sync and the warps meet in shared memory.
//   reduce_columns_kernel  one thread per output, walking its row; neighbouring threads handle
//                          neighbouring outputs, hence read neighbouring addresses.
//
// Dtype rules (as the CPU): out has in's dtype and the accumulator is that dtype too: float32 sums
// add in float32 (the CPU's Eigen sum does too; the tree order here is, if anything, more
// accurate), uint8 sums wrap, and on bool "sum" and max are OR, min is AND. (autograd's sum() casts
// bool and uint8 to int64 before calling the kernel.) Max / min propagate NaN: a NaN anywhere in a
// row gives NaN, as torch.amax does. With index: NaN wins and the first NaN's index is reported,
// otherwise the first index holding the extreme value, exactly as the CPU loop.
// Empty rows: sum gives 0; max / min are errors (the CPU's message).
#include <limits>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "cuda/elementwise.cuh"
#include "cuda/reduce_plan.h"

namespace ember::cuda {

// ---- what is combined ----------------------------------------------------------------------------
// A reducer says what one element contributes (load), how two partial results merge (combine,
// associative and commutative, so any tree order gives the same answer up to float rounding), and
// where results go: to the outputs (store, at the kept calculator's offsets) or to the partial
// buffers of a split first pass (store_partial). The second pass reads those partials as its input.

template <typename T>
__device__ bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return x != x;  // only NaN differs from itself
  } else {
    return false;
  }
}

template <typename T>
struct SumReducer {
  using Acc = T;
  const T* in;
  T* out;
  T* partial;

  __device__ Acc identity() const { return T(0); }
  __device__ Acc load(int64_t offset, int64_t) const { return in[offset]; }
  // bool: true + true converts back to true, so "sum" is OR; uint8 wraps like the CPU's
  __device__ Acc combine(Acc a, Acc b) const { return static_cast<T>(a + b); }
  __device__ void store(Acc a, const int64_t (&offsets)[2]) const { out[offsets[1]] = a; }
  __device__ void store_partial(Acc a, int64_t i) const { partial[i] = a; }
};

template <typename T>
struct ExtremeReducer {  // max or min
  using Acc = T;
  const T* in;
  T* out;
  T* partial;
  bool is_max;
  T start;  // the identity: -inf / lowest for max, +inf / highest for min (set on the host)

  __device__ Acc identity() const { return start; }
  __device__ Acc load(int64_t offset, int64_t) const { return in[offset]; }
  __device__ Acc combine(Acc a, Acc b) const {
    if (is_nan(a)) return a;  // NaN propagates
    if (is_nan(b)) return b;
    return (is_max ? a > b : a < b) ? a : b;  // on bool: max is OR, min is AND
  }
  __device__ void store(Acc a, const int64_t (&offsets)[2]) const { out[offsets[1]] = a; }
  __device__ void store_partial(Acc a, int64_t i) const { partial[i] = a; }
};

template <typename T>
struct ValueIndex {
  T value;
  int64_t index;
};

template <typename T>
struct ExtremeWithIndexReducer {
  using Acc = ValueIndex<T>;
  const T* in;
  const int64_t* in_indices;  // second pass: the partials' indices; first pass: null (the index is r)
  T* values;
  int64_t* indices;
  T* partial_values;
  int64_t* partial_indices;
  bool is_max;
  T start;

  // index INT64_MAX: any real element beats it (ties go to the lower index)
  __device__ Acc identity() const { return {start, std::numeric_limits<int64_t>::max()}; }
  __device__ Acc load(int64_t offset, int64_t r) const {
    return {in[offset], in_indices != nullptr ? in_indices[offset] : r};
  }
  // The CPU scans left to right keeping the first NaN, else the first strictly better value. The
  // same winner as a total order, so a tree finds it too: NaN beats numbers, then the larger (or
  // smaller) value, and between equal values (or two NaNs) the lower index.
  __device__ Acc combine(Acc a, Acc b) const {
    const bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
    bool a_wins;
    if (a_nan || b_nan) {
      a_wins = a_nan && (!b_nan || a.index < b.index);
    } else if (a.value == b.value) {
      a_wins = a.index < b.index;
    } else {
      a_wins = is_max ? a.value > b.value : a.value < b.value;
    }
    return a_wins ? a : b;
  }
  __device__ void store(Acc a, const int64_t (&offsets)[3]) const {
    values[offsets[1]] = a.value;
    indices[offsets[2]] = a.index;
  }
  __device__ void store_partial(Acc a, int64_t i) const {
    partial_values[i] = a.value;
    partial_indices[i] = a.index;
  }
};

// ---- warp and group combining --------------------------------------------------------------------
constexpr unsigned kFullMask = 0xffffffffu;

// __shfl_down_sync moves 4- and 8-byte values; bool and uint8 travel as int.
template <typename T>
__device__ T shuffle_down(T v, int delta) {
  if constexpr (sizeof(T) < 4) {
    return static_cast<T>(__shfl_down_sync(kFullMask, static_cast<int>(v), delta));
  } else {
    return __shfl_down_sync(kFullMask, v, delta);
  }
}
template <typename T>
__device__ ValueIndex<T> shuffle_down(ValueIndex<T> v, int delta) {
  return {shuffle_down(v.value, delta), shuffle_down(v.index, delta)};
}

// Combines the 32 values of a warp; lane 0 ends up with the result.
template <typename Reducer, typename Acc>
__device__ Acc warp_reduce(const Reducer& red, Acc acc) {
#pragma unroll
  for (int delta = kWarpSize / 2; delta > 0; delta /= 2) acc = red.combine(acc, shuffle_down(acc, delta));
  return acc;
}

// Combines the values of one output's group (blockDim.x threads, whole warps); thread x == 0 of
// the group ends up with the result. Every thread of the block must call it: when a group spans
// several warps it synchronises the block (blockDim.x is the same for all threads, so either all
// threads take that branch or none).
template <typename Reducer, typename Acc>
__device__ Acc group_reduce(const Reducer& red, Acc acc, Acc* warp_results /* shared, one per warp */) {
  acc = warp_reduce(red, acc);
  if (blockDim.x > kWarpSize) {
    const int warps_per_group = blockDim.x / kWarpSize;
    const int lane = threadIdx.x % kWarpSize;
    const int warp_in_block = (threadIdx.y * blockDim.x + threadIdx.x) / kWarpSize;
    __syncthreads();  // the previous round's readers are done with warp_results
    if (lane == 0) warp_results[warp_in_block] = acc;
    __syncthreads();
    if (threadIdx.x < kWarpSize) {  // the group's first warp combines the group's warps
      acc = lane < warps_per_group ? warp_results[threadIdx.y * warps_per_group + lane] : red.identity();
      acc = warp_reduce(red, acc);
    }
  }
  return acc;
}

// Input offset of a row's element r. Most rows are one merged dim: a multiply, no divisions.
__device__ inline int64_t reduced_offset(const OffsetCalculator<1>& reduced, int64_t r) {
  if (reduced.ndim == 1) return r * reduced.strides[0][0];
  int64_t offset[1];
  reduced.offsets(r, offset);
  return offset[0];
}

// ---- kernels -------------------------------------------------------------------------------------
// Rows: block (G, 256 / G); thread (x, y) works on output o = row_block * blockDim.y + y, piece
// s = blockIdx.y, elements r = begin + x, begin + x + G, ... of that piece.
template <int N, typename Reducer>
__global__ void reduce_rows_kernel(ReducePlan<N> plan, Reducer red) {
  using Acc = typename Reducer::Acc;
  __shared__ Acc warp_results[kReduceBlockThreads / kWarpSize];
  const int64_t piece = blockIdx.y;
  const int64_t begin = piece * plan.chunk;
  const int64_t end = begin + plan.chunk < plan.length ? begin + plan.chunk : plan.length;
  const int64_t row_blocks = (plan.outputs + blockDim.y - 1) / blockDim.y;
  // The loop condition depends on blockIdx only: the whole block iterates together (group_reduce syncs).
  for (int64_t row_block = blockIdx.x; row_block < row_blocks; row_block += gridDim.x) {
    const int64_t o = row_block * blockDim.y + threadIdx.y;
    const bool valid = o < plan.outputs;
    int64_t offsets[N] = {};
    Acc acc = red.identity();
    if (valid) {
      plan.kept.offsets(o, offsets);
#pragma unroll 4
      for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x)
        acc = red.combine(acc, red.load(offsets[0] + reduced_offset(plan.reduced, r), r));
    }
    acc = group_reduce(red, acc, warp_results);
    if (valid && threadIdx.x == 0) {
      if (plan.splits > 1) {
        red.store_partial(acc, o * plan.partial_stride_output + piece * plan.partial_stride_split);
      } else {
        red.store(acc, offsets);
      }
    }
  }
}

// Columns: thread per output o (grid-stride over x), piece s = blockIdx.y.
template <int N, typename Reducer>
__global__ void reduce_columns_kernel(ReducePlan<N> plan, Reducer red) {
  using Acc = typename Reducer::Acc;
  const int64_t piece = blockIdx.y;
  const int64_t begin = piece * plan.chunk;
  const int64_t end = begin + plan.chunk < plan.length ? begin + plan.chunk : plan.length;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < plan.outputs; o += stride) {
    int64_t offsets[N];
    plan.kept.offsets(o, offsets);
    Acc acc = red.identity();
#pragma unroll 4
    for (int64_t r = begin; r < end; ++r)
      acc = red.combine(acc, red.load(offsets[0] + reduced_offset(plan.reduced, r), r));
    if (plan.splits > 1) {
      red.store_partial(acc, o * plan.partial_stride_output + piece * plan.partial_stride_split);
    } else {
      red.store(acc, offsets);
    }
  }
}

// ---- launching -----------------------------------------------------------------------------------
template <int N, typename Reducer>
static void launch_pass(const ReducePlan<N>& plan, const Reducer& red, int device, cudaStream_t s) {
  const int64_t block_cap = static_cast<int64_t>(std::max(multiprocessor_count(device), 1)) * 32;
  if (plan.columns) {
    const int64_t blocks = (plan.outputs + kReduceBlockThreads - 1) / kReduceBlockThreads;
    dim3 grid(static_cast<unsigned>(std::min(blocks, block_cap)), static_cast<unsigned>(plan.splits));
    reduce_columns_kernel<N, Reducer><<<grid, kReduceBlockThreads, 0, s>>>(plan, red);
    EMBER_CUDA_KERNEL_CHECK("reduce_columns_kernel");
  } else {
    const int rows_per_block = kReduceBlockThreads / plan.group;
    const int64_t blocks = (plan.outputs + rows_per_block - 1) / rows_per_block;
    dim3 grid(static_cast<unsigned>(std::min(blocks, block_cap)), static_cast<unsigned>(plan.splits));
    dim3 block(plan.group, rows_per_block);
    reduce_rows_kernel<N, Reducer><<<grid, block, 0, s>>>(plan, red);
    EMBER_CUDA_KERNEL_CHECK("reduce_rows_kernel");
  }
}

// Runs the plan: in one pass, or in two through partial buffers when choose_launch split the rows.
// `with_partials(first, second, values, indices)` points the first pass's partial outputs and the
// second pass's inputs at the temporaries.
template <typename T, int N, typename Reducer, typename WithPartials>
static void run_reduction(ReducePlan<N> plan, const Reducer& red, const Tensor& like, bool needs_indices,
                          WithPartials with_partials) {
  const int device = like.device().index;
  cudaStream_t s = prepare(like);
  const int multiprocessors = multiprocessor_count(device);
  choose_launch(plan, multiprocessors, /*allow_split=*/true);
  if (plan.splits == 1) return launch_pass(plan, red, device, s);
  // Two passes: (R, S) or (S, R) partial results, then each output reduces its S partials.
  const Shape partial_shape{plan.outputs * plan.splits};
  Tensor partial_values = empty(partial_shape, dtype_of<T>(), like.device());
  Tensor partial_indices = needs_indices ? empty(partial_shape, DType::Int64, like.device()) : Tensor();
  Reducer first = red, second = red;
  with_partials(first, second, static_cast<T*>(partial_values.raw_data()),
                needs_indices ? static_cast<int64_t*>(partial_indices.raw_data()) : nullptr);
  launch_pass(plan, first, device, s);
  launch_pass(second_pass_plan(plan, multiprocessors), second, device, s);
}

template <typename T>
static T extreme_start(bool is_max) {
  if constexpr (std::is_floating_point_v<T>) {
    return is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  } else {
    return is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
}

template <typename T>
static void reduce_typed(ReduceOp op, const Tensor& out, const Tensor& in, const ReducePlan<2>& plan) {
  const T* src = static_cast<const T*>(in.raw_data());
  T* dst = static_cast<T*>(out.raw_data());
  // first pass writes partials, second pass reads them as its input
  auto with_partials = [](auto& first, auto& second, T* partial, int64_t*) {
    first.partial = partial;
    second.in = partial;
  };
  if (op == ReduceOp::Sum) {
    run_reduction<T>(plan, SumReducer<T>{src, dst, nullptr}, out, false, with_partials);
  } else {
    const bool is_max = op == ReduceOp::Max;
    run_reduction<T>(plan, ExtremeReducer<T>{src, dst, nullptr, is_max, extreme_start<T>(is_max)}, out, false,
                     with_partials);
  }
}

static const char* op_name(ReduceOp op) {
  switch (op) {
  case ReduceOp::Sum: return "sum";
  case ReduceOp::Max: return "max";
  case ReduceOp::Min: return "min";
  }
  return "reduce";
}

void reduce(ReduceOp op, const Tensor& out, const Tensor& in) {
  const std::string name = op_name(op);
  EMBER_CHECK(out.dtype() == in.dtype(), name + ": output dtype " + dtype_name(out.dtype()) +
                                             " differs from input dtype " + dtype_name(in.dtype()) +
                                             " (expected the same dtype)");
  bool fits = out.dim() == in.dim();
  for (int d = 0; fits && d < in.dim(); ++d) fits = out.shape()[d] == in.shape()[d] || out.shape()[d] == 1;
  EMBER_CHECK(fits, name + ": output shape " + out.shape().str() + " does not fit input shape " + in.shape().str() +
                        " (expected the input's shape with the reduced dims of size 1)");
  // Reduced dims: where out has size 1 and in does not (as the CPU's as_rows).
  std::array<bool, kMaxDims> reduced{};
  int64_t length = 1;
  for (int d = 0; d < in.dim(); ++d) {
    reduced[d] = out.shape()[d] == 1 && in.shape()[d] != 1;
    if (reduced[d]) length *= in.shape()[d];
  }
  EMBER_CHECK(length > 0 || op == ReduceOp::Sum,
              name + ": cannot reduce over an empty dimension (input shape " + in.shape().str() + ")");
  if (out.numel() == 0) return;
  if (length == 0) return fill(out, 0.0);  // an empty sum is 0
  ReducePlan<2> plan = make_reduce_plan<2>(in, {&out}, reduced);
  visit_dtype(in.dtype(), [&]<typename T>() { reduce_typed<T>(op, out, in, plan); });
}

// ---- max / min with index ------------------------------------------------------------------------
template <typename T>
static void reduce_with_index_typed(bool is_max, const Tensor& values, const Tensor& indices, const Tensor& in,
                                    const ReducePlan<3>& plan) {
  ExtremeWithIndexReducer<T> red{static_cast<const T*>(in.raw_data()),
                                 nullptr,
                                 static_cast<T*>(values.raw_data()),
                                 static_cast<int64_t*>(indices.raw_data()),
                                 nullptr,
                                 nullptr,
                                 is_max,
                                 extreme_start<T>(is_max)};
  auto with_partials = [](auto& first, auto& second, T* partial_values, int64_t* partial_indices) {
    first.partial_values = partial_values, first.partial_indices = partial_indices;
    second.in = partial_values, second.in_indices = partial_indices;
  };
  run_reduction<T>(plan, red, values, true, with_partials);
}

// values / indices may have the keepdim shape (`dim` of size 1) or `dim` dropped; the latter is
// viewed as the former (a size-1 dim with any stride).
static Tensor with_dim_kept(const Tensor& t, const Shape& keep, int dim) {
  if (t.dim() != keep.size() - 1) return t;
  Shape shape = t.shape();
  Strides strides = t.strides();
  shape.insert(dim, 1);
  strides.insert(dim, 0);
  return t.as_strided(shape, strides, t.offset());
}

void reduce_with_index(ReduceOp op, const Tensor& values_in, const Tensor& indices_in, const Tensor& in_any, int dim) {
  const std::string name = op == ReduceOp::Max ? "max" : "min";
  EMBER_CHECK(op != ReduceOp::Sum, "max/min with index: expected ReduceOp::Max or ReduceOp::Min, got sum");
  const Tensor in = in_any.dim() == 0 ? in_any.as_strided(Shape{1}, Strides{1}, in_any.offset()) : in_any;
  EMBER_CHECK(dim >= 0 && dim < in.dim(),
              name + ": dim " + std::to_string(dim) + " is out of range for input shape " + in.shape().str());
  kernels::check_same_device(name.c_str(), indices_in, in);
  Shape keep = in.shape();
  keep[dim] = 1;
  const Tensor values = with_dim_kept(values_in, keep, dim), indices = with_dim_kept(indices_in, keep, dim);
  EMBER_CHECK(values.shape() == keep && indices.shape() == keep,
              name + ": values " + values_in.shape().str() + " and indices " + indices_in.shape().str() +
                  " must have shape " + keep.str() + " (input " + in.shape().str() + " reduced along dim " +
                  std::to_string(dim) + ", with or without keepdim)");
  EMBER_CHECK(values.dtype() == in.dtype() && indices.dtype() == DType::Int64,
              name + ": expected values of the input's dtype " + dtype_name(in.dtype()) + " and int64 indices, got " +
                  dtype_name(values.dtype()) + " and " + dtype_name(indices.dtype()));
  const int64_t k = in.shape()[dim];
  EMBER_CHECK(k > 0, name + ": cannot reduce over dim " + std::to_string(dim) + " of size 0 (input shape " +
                         in.shape().str() + ")");
  if (values.numel() == 0) return;
  std::array<bool, kMaxDims> reduced{};
  reduced[dim] = true;
  ReducePlan<3> plan = make_reduce_plan<3>(in, {&values, &indices}, reduced);
  const bool is_max = op == ReduceOp::Max;
  visit_dtype(in.dtype(), [&]<typename T>() { reduce_with_index_typed<T>(is_max, values, indices, in, plan); });
}

}  // namespace ember::cuda
