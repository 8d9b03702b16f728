// CUDA optimiser steps: one kernel launch updates every parameter of a param group, PyTorch's
// "multi-tensor apply". The GPU twin of tensor/cpu/optim.cpp (same formulas, listed next to the
// table entries in tensor/kernels.h); nn/sgd.h and nn/adam.h call them once per group and step.
//
// Why one launch: a ResNet34 has ~110 parameter tensors, many of them tiny (a BatchNorm's 64
// weights). One launch per tensor and elementwise op would be ~110 x 6 launches of a few
// microseconds each, far longer than the arithmetic.
//
// How the work is cut. The list travels to the GPU as the kernel's argument, a struct passed by
// value (kernel parameters may be up to 32 KB since CUDA 12.1, on sm_70 and newer): for each
// tensor its pointers, size, dtype and per-tensor hyper-parameters. Each tensor is cut into chunks
// of kChunk elements, and the chunks of all tensors are numbered one after another:
//
//   tensor     0          1    2 (tiny)     3
//   chunks   [0 1 2 3] [4 5]   [6]       [7 8 9 ...]      first_chunk = {0, 4, 6, 7, ...}
//
// Block b takes chunk b: it finds its tensor by binary search in first_chunk (all of its threads
// agree, so the dtype branch below never diverges inside a block), then its 256 threads stride
// over the chunk's elements, neighbouring threads on neighbouring addresses (coalesced). A list
// longer than kMaxTensors is sent as several launches of kMaxTensors tensors each.
#include <algorithm>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

constexpr int kMaxTensors = 128;   // per launch: a whole ResNet34 (110 tensors) fits in one
constexpr int64_t kChunk = 4096;   // elements per block
constexpr int kStepThreads = 256;  // threads per block: 16 elements each per chunk

// The part of a launch's argument that says which block works on which elements.
struct ChunkTable {
  int count = 0;                         // tensors in this launch
  int64_t numel[kMaxTensors];            // elements of tensor t
  int64_t first_chunk[kMaxTensors + 1];  // tensor t owns chunks first_chunk[t] .. first_chunk[t+1]-1
  uint8_t is_double[kMaxTensors];        // dtype: 1 float64, 0 float32
  uint8_t do_weight_decay[kMaxTensors];  // 0: skip weight decay for tensor t
};

// Makes `param` entry t of the table (entries 0..t-1 are already there).
static void add_to_table(ChunkTable& table, int t, const Tensor& param, uint8_t do_weight_decay) {
  table.numel[t] = param.numel();
  table.first_chunk[t + 1] = table.first_chunk[t] + (param.numel() + kChunk - 1) / kChunk;
  table.is_double[t] = param.dtype() == DType::Float64;
  table.do_weight_decay[t] = do_weight_decay;
}

// The tensor whose chunks contain chunk `block`: the last t with first_chunk[t] <= block. Empty
// tensors own no chunk (first_chunk[t] == first_chunk[t+1]), and the search skips them.
__device__ __forceinline__ int tensor_of_chunk(const ChunkTable& table, int64_t block) {
  int lo = 0, hi = table.count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (table.first_chunk[mid] <= block)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

// The elements [begin, end) of the tensor this block works on.
struct ChunkRange {
  int tensor;
  int64_t begin, end;
};

__device__ __forceinline__ ChunkRange chunk_of_this_block(const ChunkTable& table) {
  const int64_t block = blockIdx.x;
  const int t = tensor_of_chunk(table, block);
  const int64_t begin = (block - table.first_chunk[t]) * kChunk;
  const int64_t end = begin + kChunk < table.numel[t] ? begin + kChunk : table.numel[t];
  return {t, begin, end};
}

__device__ __forceinline__ float square_root(float x) { return ::sqrtf(x); }
__device__ __forceinline__ double square_root(double x) { return ::sqrt(x); }

// The number of blocks of a launch: all chunks of its tensors (0 when all are empty).
static unsigned chunks_of(const ChunkTable& table, const char* name) {
  const int64_t chunks = table.first_chunk[table.count];
  EMBER_CHECK(chunks < (int64_t{1} << 31), std::string(name) + ": too many elements for one launch");
  return static_cast<unsigned>(chunks);
}

// ---- SGD -----------------------------------------------------------------------------------------

struct SgdLaunch {
  ChunkTable table;
  void* param[kMaxTensors];
  const void* grad[kMaxTensors];
  void* momentum_buffer[kMaxTensors];
  uint8_t first_step[kMaxTensors];
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
};

template <typename T>
__device__ __forceinline__ void sgd_chunk(const SgdLaunch& launch, const ChunkRange& range) {
  const int t = range.tensor;
  T* p = static_cast<T*>(launch.param[t]);
  const T* grad = static_cast<const T*>(launch.grad[t]);
  T* buf = static_cast<T*>(launch.momentum_buffer[t]);
  const bool use_momentum = launch.momentum != 0;
  const bool first_step = launch.first_step[t];
  const bool use_weight_decay = launch.weight_decay != 0 && launch.table.do_weight_decay[t];
  const T weight_decay = T(launch.weight_decay), lr = T(launch.lr), momentum = T(launch.momentum);
  const T keep = T(1 - launch.dampening);
  for (int64_t e = range.begin + threadIdx.x; e < range.end; e += blockDim.x) {
    T g = grad[e];
    if (use_weight_decay) g += weight_decay * p[e];  // g = grad + wd p
    T d = g;
    if (use_momentum) {
      const T b = first_step ? g : momentum * buf[e] + keep * g;  // b = mu b + (1 - dampening) g
      buf[e] = b;
      d = launch.nesterov ? g + momentum * b : b;
    }
    p[e] -= lr * d;
  }
}

__global__ void sgd_step_kernel(const SgdLaunch launch) {
  const ChunkRange range = chunk_of_this_block(launch.table);
  if (launch.table.is_double[range.tensor])
    sgd_chunk<double>(launch, range);
  else
    sgd_chunk<float>(launch, range);
}

void sgd_step(const DeviceKernels::SgdStepArgs& args) {
  if (args.count == 0) return;
  cudaStream_t stream = prepare(*args.params[0]);
  for (int64_t start = 0; start < args.count; start += kMaxTensors) {
    SgdLaunch launch{};
    launch.table.count = static_cast<int>(std::min<int64_t>(kMaxTensors, args.count - start));
    for (int t = 0; t < launch.table.count; ++t) {
      const int64_t i = start + t;
      add_to_table(launch.table, t, *args.params[i], args.do_weight_decay[i]);
      launch.param[t] = args.params[i]->raw_data();
      launch.grad[t] = args.grads[i]->raw_data();
      launch.momentum_buffer[t] = args.momentum != 0 ? args.momentum_buffers[i]->raw_data() : nullptr;
      launch.first_step[t] = args.momentum != 0 && args.first_step[i];
    }
    launch.lr = args.lr;
    launch.momentum = args.momentum;
    launch.dampening = args.dampening;
    launch.weight_decay = args.weight_decay;
    launch.nesterov = args.nesterov;
    const unsigned blocks = chunks_of(launch.table, "sgd_step");
    if (blocks == 0) continue;
    sgd_step_kernel<<<blocks, kStepThreads, 0, stream>>>(launch);
    EMBER_CUDA_KERNEL_CHECK("sgd_step_kernel");
  }
}

// ---- Adam, AdamW, fastai's Adam ------------------------------------------------------------------

struct AdamLaunch {
  ChunkTable table;
  void* param[kMaxTensors];
  const void* grad[kMaxTensors];
  void* exp_avg[kMaxTensors];
  void* exp_avg_sq[kMaxTensors];
  double step_size[kMaxTensors];         // lr / (1 - beta1^t)
  double bias_correction2[kMaxTensors];  // 1 - beta2^t
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled_weight_decay, debias_inside_sqrt;
};

template <typename T>
__device__ __forceinline__ void adam_chunk(const AdamLaunch& launch, const ChunkRange& range) {
  const int t = range.tensor;
  T* p = static_cast<T*>(launch.param[t]);
  const T* grad = static_cast<const T*>(launch.grad[t]);
  T* m = static_cast<T*>(launch.exp_avg[t]);
  T* v = static_cast<T*>(launch.exp_avg_sq[t]);
  const bool use_weight_decay = launch.weight_decay != 0 && launch.table.do_weight_decay[t];
  const bool decay_param = use_weight_decay && launch.decoupled_weight_decay;  // p *= 1 - lr wd
  const bool decay_grad = use_weight_decay && !launch.decoupled_weight_decay;  // g += wd p
  const T param_scale = T(1 - launch.lr * launch.weight_decay), weight_decay = T(launch.weight_decay);
  const T beta1 = T(launch.beta1), one_minus_beta1 = T(1 - launch.beta1);
  const T beta2 = T(launch.beta2), one_minus_beta2 = T(1 - launch.beta2);
  const T eps = T(launch.eps), step_size = T(launch.step_size[t]);
  const T bias_correction2 = T(launch.bias_correction2[t]);
  const T bias_correction2_sqrt = T(::sqrt(launch.bias_correction2[t]));
  for (int64_t e = range.begin + threadIdx.x; e < range.end; e += blockDim.x) {
    T pe = p[e], g = grad[e];
    if (decay_param) pe *= param_scale;
    if (decay_grad) g += weight_decay * pe;
    const T me = beta1 * m[e] + one_minus_beta1 * g;                                      // m = b1 m + (1 - b1) g
    const T ve = beta2 * v[e] + one_minus_beta2 * g * g;                                  // v = b2 v + (1 - b2) g^2
    const T denom = launch.debias_inside_sqrt ? square_root(ve / bias_correction2) + eps  // fastai
                                              : square_root(ve) / bias_correction2_sqrt + eps;  // PyTorch
    p[e] = pe - step_size * (me / denom);
    m[e] = me;
    v[e] = ve;
  }
}

__global__ void adam_step_kernel(const AdamLaunch launch) {
  const ChunkRange range = chunk_of_this_block(launch.table);
  if (launch.table.is_double[range.tensor])
    adam_chunk<double>(launch, range);
  else
    adam_chunk<float>(launch, range);
}

void adam_step(const DeviceKernels::AdamStepArgs& args) {
  if (args.count == 0) return;
  cudaStream_t stream = prepare(*args.params[0]);
  for (int64_t start = 0; start < args.count; start += kMaxTensors) {
    AdamLaunch launch{};
    launch.table.count = static_cast<int>(std::min<int64_t>(kMaxTensors, args.count - start));
    for (int t = 0; t < launch.table.count; ++t) {
      const int64_t i = start + t;
      add_to_table(launch.table, t, *args.params[i], args.do_weight_decay[i]);
      launch.param[t] = args.params[i]->raw_data();
      launch.grad[t] = args.grads[i]->raw_data();
      launch.exp_avg[t] = args.exp_avgs[i]->raw_data();
      launch.exp_avg_sq[t] = args.exp_avg_sqs[i]->raw_data();
      launch.step_size[t] = args.step_sizes[i];
      launch.bias_correction2[t] = args.bias_corrections2[i];
    }
    launch.lr = args.lr;
    launch.beta1 = args.beta1;
    launch.beta2 = args.beta2;
    launch.eps = args.eps;
    launch.weight_decay = args.weight_decay;
    launch.decoupled_weight_decay = args.decoupled_weight_decay;
    launch.debias_inside_sqrt = args.debias_inside_sqrt;
    const unsigned blocks = chunks_of(launch.table, "adam_step");
    if (blocks == 0) continue;
    adam_step_kernel<<<blocks, kStepThreads, 0, stream>>>(launch);
    EMBER_CUDA_KERNEL_CHECK("adam_step_kernel");
  }
}

}  // namespace ember::cuda
