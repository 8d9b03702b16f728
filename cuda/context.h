// Per-device state: which GPU is current, and the one stream per device that all of Ember's work
// is queued on. One stream keeps the order of ops the program's order: a block freed by one op and
// reused by the next is safe without events (see allocator.cpp).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "tensor/tensor.h"

namespace ember::cuda {

void set_current_device(int device_index);  // cudaSetDevice only when this thread's device changes
cudaStream_t stream(int device_index);      // created on first use, non-blocking
int multiprocessor_count(int device_index);

// The preamble of every kernel launcher: make t's device current and return its stream.
inline cudaStream_t prepare(const Tensor& t) {
  set_current_device(t.device().index);
  return stream(t.device().index);
}

// Launch geometry for grid-stride loops over n work items: enough blocks to fill every SM a few
// times over, never more than the work needs.
constexpr int kThreadsPerBlock = 256;
inline unsigned blocks_for(int64_t n, int device_index, int threads = kThreadsPerBlock) {
  int64_t wanted = (n + threads - 1) / threads;
  int64_t cap = static_cast<int64_t>(multiprocessor_count(device_index)) * 32;
  if (wanted < 1) wanted = 1;
  return static_cast<unsigned>(wanted < cap ? wanted : cap);
}

}  // namespace ember::cuda
