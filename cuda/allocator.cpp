#include "cuda/allocator.h"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_api.h"

namespace ember::cuda {

size_t size_class(size_t nbytes) {
  constexpr size_t kSmallStep = 512, kLargeFrom = size_t{1} << 20;
  if (nbytes == 0) nbytes = 1;
  if (nbytes < kLargeFrom) return (nbytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  size_t power = kLargeFrom;  // the largest power of two <= nbytes
  while (power * 2 <= nbytes) power *= 2;
  size_t step = power / 8;
  return (nbytes + step - 1) / step * step;
}

struct LiveBlock {
  int device_index;
  size_t class_bytes;
};

struct DeviceCache {
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // size class -> cached blocks
  AllocatorStats stats;
};

struct CachingAllocator {
  std::mutex mutex;  // tensors may be freed on any thread (the data loader's, for one)
  std::unordered_map<void*, LiveBlock> live;
  std::unordered_map<int, DeviceCache> devices;
  bool poison = false;

  // Frees every cached block of one device (the caller holds the lock).
  void release_cache(int device_index) {
    DeviceCache& cache = devices[device_index];
    set_current_device(device_index);
    for (auto& [bytes, blocks] : cache.free_blocks) {
      for (void* p : blocks) {
        cudaFree(p);
        cache.stats.cuda_free_calls++;
        cache.stats.bytes_cached -= static_cast<int64_t>(bytes);
      }
      blocks.clear();
    }
  }
};

static CachingAllocator& allocator() {
  static auto* a = new CachingAllocator;  // never destroyed: tensors may outlive static destructors
  return *a;
}

static std::string mib(int64_t bytes) { return std::to_string(bytes / (1 << 20)) + " MiB"; }

void* allocate(size_t nbytes, int device_index) {
  CachingAllocator& a = allocator();
  const size_t bytes = size_class(nbytes);
  std::lock_guard<std::mutex> lock(a.mutex);
  set_current_device(device_index);
  DeviceCache& cache = a.devices[device_index];
  void* p = nullptr;
  auto& cached = cache.free_blocks[bytes];
  if (!cached.empty()) {
    p = cached.back();
    cached.pop_back();
    cache.stats.bytes_cached -= static_cast<int64_t>(bytes);
    cache.stats.cache_hits++;
  } else {
    cudaError_t status = cudaMalloc(&p, bytes);
    if (status == cudaErrorMemoryAllocation) {  // give the cache back to the driver and try once more
      cudaGetLastError();
      cudaStreamSynchronize(stream(device_index));
      a.release_cache(device_index);
      status = cudaMalloc(&p, bytes);
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw Error("CUDA out of memory: tried to allocate " + std::to_string(bytes) +
                  " bytes on cuda:" + std::to_string(device_index) + " (" + cudaGetErrorString(status) +
                  "); Ember holds " + mib(cache.stats.bytes_in_use) + " in live tensors; the GPU has " +
                  mib(static_cast<int64_t>(free_bytes)) + " free of " + mib(static_cast<int64_t>(total_bytes)));
    }
    cache.stats.cuda_malloc_calls++;
  }
  cache.stats.bytes_in_use += static_cast<int64_t>(bytes);
  if (cache.stats.bytes_in_use > cache.stats.peak_bytes_in_use)
    cache.stats.peak_bytes_in_use = cache.stats.bytes_in_use;
  a.live[p] = LiveBlock{device_index, bytes};
  if (a.poison) EMBER_CUDA_CHECK(cudaMemsetAsync(p, 0xFF, bytes, stream(device_index)));
  return p;
}

void deallocate(void* data, size_t) {
  if (!data) return;
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  auto it = a.live.find(data);
  if (it == a.live.end()) return;  // not ours (cannot happen through Storage)
  LiveBlock block = it->second;
  a.live.erase(it);
  DeviceCache& cache = a.devices[block.device_index];
  cache.free_blocks[block.class_bytes].push_back(data);
  cache.stats.bytes_in_use -= static_cast<int64_t>(block.class_bytes);
  cache.stats.bytes_cached += static_cast<int64_t>(block.class_bytes);
}

AllocatorStats allocator_stats(int device_index) {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.devices[device_index].stats;
}

void reset_peak_stats(int device_index) {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  AllocatorStats& s = a.devices[device_index].stats;
  s.peak_bytes_in_use = s.bytes_in_use;
}

void empty_cache() {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  for (auto& [index, cache] : a.devices) {
    cudaStreamSynchronize(stream(index));
    a.release_cache(index);
  }
}

void set_poison_allocations(bool on) {
  CachingAllocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.poison = on;
}

}  // namespace ember::cuda
