// Stand-in for cuda/context.h: one emulated device, no streams; blocks_for is the real formula so
// grids have the same shape as on a GPU with emu::sm_count multiprocessors (keep it in step with
// cuda/context.h).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "tensor/tensor.h"
namespace ember::cuda {
inline void set_current_device(int) {}
inline cudaStream_t stream(int) { return nullptr; }
inline int multiprocessor_count(int) { return ::emu::sm_count; }
inline cudaStream_t prepare(const Tensor&) { return nullptr; }
constexpr int kThreadsPerBlock = 256;
inline unsigned blocks_for(int64_t n, int device_index, int threads = kThreadsPerBlock) {
  int64_t wanted = (n + threads - 1) / threads;
  int64_t cap = static_cast<int64_t>(multiprocessor_count(device_index)) * 32;
  if (wanted < 1) wanted = 1;
  return static_cast<unsigned>(wanted < cap ? wanted : cap);
}
}  // namespace ember::cuda
