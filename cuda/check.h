// Error checks for CUDA calls. Every failure becomes an ember::Error naming the file, the line, the
// call (or kernel) and CUDA's own error string, e.g.
//   cuda/reduce.cu:87: kernel reduce_rows_kernel failed: an illegal memory access was encountered
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "tensor/error.h"

namespace ember::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* what, const char* file, int line);

}  // namespace ember::cuda

// EMBER_CUDA_CHECK(cudaMemcpy(...)): throws when the call returns an error.
#define EMBER_CUDA_CHECK(call)                                                        \
  do {                                                                                \
    cudaError_t ember_cuda_status_ = (call);                                          \
    if (ember_cuda_status_ != cudaSuccess)                                            \
      ::ember::cuda::throw_cuda_error(ember_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a launch: kernel<<<grid, block, 0, stream>>>(...); EMBER_CUDA_KERNEL_CHECK("kernel");
// catches bad launch configurations at once (errors inside the kernel surface at the next sync,
// which reports them the same way).
#define EMBER_CUDA_KERNEL_CHECK(kernel_name)                                                          \
  do {                                                                                                \
    cudaError_t ember_cuda_status_ = cudaGetLastError();                                              \
    if (ember_cuda_status_ != cudaSuccess)                                                            \
      ::ember::cuda::throw_cuda_error(ember_cuda_status_, "kernel " kernel_name, __FILE__, __LINE__); \
  } while (0)
