// See allocator.h. One mutex guards the free lists: uncontended it costs a few tens of
// instructions, and a tensor may be freed on another thread than the one that made it.
#include "tensor/cpu/allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace ember::cpu {

namespace {

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

struct BlockCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_lists;  // size class -> free blocks
  size_t cached_bytes = 0;
  // Large blocks (above kMaxCachedBlock) are whole pages of their own (mmap), kept by exact size:
  // a training step asks for the same large sizes every step, so they come back without page
  // faults, and a block leaving the cache is unmapped, which returns its memory to the system at
  // once (malloc would keep freed large blocks in its heap: ~150 MiB more RSS in a ResNet34 step).
  std::unordered_map<size_t, std::vector<void*>> large_free_lists;
  size_t large_cached_bytes = 0;
};

// Never destroyed: tensors held by other static objects may be freed after main returns.
BlockCache& cache() {
  static BlockCache* instance = new BlockCache;
  return *instance;
}

void* system_allocate(size_t bytes) {
  void* p = std::aligned_alloc(64, round_up(bytes, 64));  // 64: a cache line, and what AVX-512 likes
  if (!p) throw std::bad_alloc();
  return p;
}

constexpr size_t kPage = 4096;

void* map_large(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

}  // namespace

size_t cpu_size_class(size_t nbytes) {
  if (nbytes <= 4096) return round_up(std::max<size_t>(nbytes, 1), 64);
  if (nbytes <= 65536) return round_up(nbytes, 512);
  if (nbytes <= kMaxCachedBlock) return round_up(nbytes, 8192);
  return nbytes;
}

void* allocate(size_t nbytes, int /*device_index*/) {
  const size_t bytes = cpu_size_class(nbytes);
  if (bytes <= kMaxCachedBlock) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_lists.find(bytes);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= bytes;
      return p;
    }
    return system_allocate(bytes);
  }
  const size_t pages = round_up(bytes, kPage);
  {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.large_free_lists.find(pages);
    if (it != c.large_free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.large_cached_bytes -= pages;
      return p;
    }
    // A miss: the cached blocks are of sizes this phase of the step does not ask for now; keep at
    // most kLargeCacheAfterMiss of them (unmapping the largest first) rather than let them all
    // sit in memory next to the new block.
    while (c.large_cached_bytes > kLargeCacheAfterMiss) {  // the largest first
      auto largest = c.large_free_lists.end();
      for (auto it = c.large_free_lists.begin(); it != c.large_free_lists.end(); ++it)
        if (!it->second.empty() && (largest == c.large_free_lists.end() || it->first > largest->first)) largest = it;
      munmap(largest->second.back(), largest->first);
      largest->second.pop_back();
      c.large_cached_bytes -= largest->first;
    }
  }
  return map_large(pages);
}

void deallocate(void* data, size_t nbytes) {
  const size_t bytes = cpu_size_class(nbytes);
  if (bytes <= kMaxCachedBlock) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.cached_bytes + bytes <= kMaxCachedBytes) {
      c.free_lists[bytes].push_back(data);
      c.cached_bytes += bytes;
      return;
    }
    std::free(data);
    return;
  }
  const size_t pages = round_up(bytes, kPage);
  {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.large_cached_bytes + pages <= kMaxLargeCachedBytes) {
      c.large_free_lists[pages].push_back(data);
      c.large_cached_bytes += pages;
      return;
    }
  }
  munmap(data, pages);
}

size_t cpu_cached_bytes() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cached_bytes;
}

size_t cpu_cached_large_bytes() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.large_cached_bytes;
}

void cpu_empty_cache() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto& [bytes, blocks] : c.free_lists)
    for (void* p : blocks) std::free(p);
  c.free_lists.clear();
  c.cached_bytes = 0;
  for (auto& [pages, blocks] : c.large_free_lists)
    for (void* p : blocks) munmap(p, pages);
  c.large_free_lists.clear();
  c.large_cached_bytes = 0;
}

}  // namespace ember::cpu
