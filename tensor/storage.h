// Storage: one block of device memory that many tensors (views) can share.
//
// The version counter lives here, not in the tensor, because an in-place write through any view
// changes what every other view of the same memory sees; autograd compares it with the version it
// recorded when it saved a tensor for backward.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace ember {

struct Storage {
  // Tiny CPU tensors (scalars, a few elements) keep their bytes inside the Storage object itself:
  // one allocation fewer per op, which is most of the cost of an op on a 1-element tensor.
  static constexpr size_t kInlineBytes = 32;
  alignas(16) unsigned char inline_bytes[kInlineBytes];

  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  uint64_t version = 0;
  bool pinned = false;  // page-locked host memory (cuda::pin_memory): host->GPU copies from it are asynchronous
  void (*free_fn)(void* data, size_t nbytes) = nullptr;  // device-specific release

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (data && free_fn) free_fn(data, nbytes);
  }
};

// Allocates nbytes on `device` through that device's allocator (see kernels.h's dispatch table).
std::shared_ptr<Storage> allocate_storage(size_t nbytes, Device device);

}  // namespace ember
