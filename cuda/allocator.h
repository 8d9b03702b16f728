// The caching allocator behind every CUDA tensor's storage (the `allocate`/`deallocate` of the
// CUDA row of the kernel table).
//
// cudaMalloc and cudaFree are slow (tens of microseconds, and cudaFree synchronises the device), so
// a freed block is kept in a free list of its size class and handed to the next request of that
// class. After the first training step, a training loop asks the driver for nothing.
//
// Size classes: requests round up to a multiple of 512 bytes below 1 MiB, and above it to one of 8
// classes per power of two (so at most 12.5% is wasted). Blocks are reused in stream order: all of
// a device's work runs on one stream, so a kernel that reuses a block runs after every kernel that
// used it before.
#pragma once
#include <cstddef>

namespace ember::cuda {

void* allocate(size_t nbytes, int device_index);
void deallocate(void* data, size_t nbytes);
size_t size_class(size_t nbytes);  // the rounded size a request of nbytes is served with

}  // namespace ember::cuda
