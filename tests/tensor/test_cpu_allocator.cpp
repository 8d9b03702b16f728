// The CPU block caches (tensor/cpu/allocator.h): freed blocks come back for the next request of
// their size class, large blocks come back for the next request of their exact page-rounded size
// (up to a cap), and empty_cache gives everything back.
#include <doctest/doctest.h>

#include <cstdint>

#include "tensor/cpu/allocator.h"
#include "tensor/creation.h"

using namespace ember;

TEST_CASE("cpu allocator: size classes") {
  CHECK(cpu::cpu_size_class(1) == 64);
  CHECK(cpu::cpu_size_class(4000) == 4032);
  CHECK(cpu::cpu_size_class(4097) == 4608);
  CHECK(cpu::cpu_size_class(65537) == 73728);
  CHECK(cpu::cpu_size_class(cpu::kMaxCachedBlock + 1) == cpu::kMaxCachedBlock + 1);
}

TEST_CASE("cpu allocator: a freed block is reused by the next request of its class, aligned") {
  cpu::cpu_empty_cache();
  void* a = cpu::allocate(4000, 0);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  cpu::deallocate(a, 4000);
  CHECK(cpu::cpu_cached_bytes() == 4032);
  void* b = cpu::allocate(3990, 0);  // same class (4032 bytes)
  CHECK(b == a);
  CHECK(cpu::cpu_cached_bytes() == 0);
  cpu::deallocate(b, 3990);

  void* big = cpu::allocate(cpu::kMaxCachedBlock * 2, 0);
  cpu::deallocate(big, cpu::kMaxCachedBlock * 2);
  CHECK(cpu::cpu_cached_bytes() == 4032);  // the big block is not in the small-block lists
  cpu::cpu_empty_cache();
  CHECK(cpu::cpu_cached_bytes() == 0);
}

TEST_CASE("cpu allocator: large blocks are reused by exact size; a miss trims the cache") {
  cpu::cpu_empty_cache();
  const size_t size = cpu::kMaxCachedBlock * 3 + 100;  // rounded up to whole 4 KiB pages
  const size_t pages = (size + 4095) / 4096 * 4096;
  void* a = cpu::allocate(size, 0);
  CHECK(reinterpret_cast<uintptr_t>(a) % 4096 == 0);
  static_cast<char*>(a)[size - 1] = 7;  // the whole block is writable
  cpu::deallocate(a, size);
  CHECK(cpu::cpu_cached_large_bytes() == pages);
  void* b = cpu::allocate(size, 0);  // the same size: the cached block
  CHECK(b == a);
  CHECK(cpu::cpu_cached_large_bytes() == 0);
  cpu::deallocate(b, size);

  // 3 x 16 MiB cached, then a request of another size: the cache is trimmed (largest first) to
  // kLargeCacheAfterMiss before the new block is mapped.
  const size_t block = size_t(16) << 20;
  void* blocks[3] = {cpu::allocate(block, 0), cpu::allocate(block, 0), cpu::allocate(block, 0)};
  for (void* p : blocks) cpu::deallocate(p, block);
  CHECK(cpu::cpu_cached_large_bytes() == pages + 3 * block);
  void* other = cpu::allocate(size + 8192, 0);
  CHECK(cpu::cpu_cached_large_bytes() <= cpu::kLargeCacheAfterMiss);
  CHECK(cpu::cpu_cached_large_bytes() >= cpu::kLargeCacheAfterMiss - block);
  cpu::deallocate(other, size + 8192);
  // a block larger than the whole cap is unmapped at once
  const size_t before = cpu::cpu_cached_large_bytes();
  void* huge = cpu::allocate(cpu::kMaxLargeCachedBytes + 4096, 0);
  static_cast<char*>(huge)[cpu::kMaxLargeCachedBytes] = 1;
  cpu::deallocate(huge, cpu::kMaxLargeCachedBytes + 4096);
  CHECK(cpu::cpu_cached_large_bytes() <= before);
  cpu::cpu_empty_cache();
  CHECK(cpu::cpu_cached_large_bytes() == 0);
}
