// CPU memory for tensor data: 64-byte aligned blocks, and a cache of freed blocks up to 1 MiB.
//
// A training step makes and drops dozens of tensors of the same few sizes. Handing those blocks
// straight back to malloc costs more than the arithmetic on them at exercise sizes (a 4 KB free
// also makes glibc consolidate its small-object bins), so freed blocks wait in a free list per
// size class and the next request of that class takes one back. Classes: multiples of 64 bytes up
// to 4 KiB, of 512 bytes up to 64 KiB, of 8 KiB up to 1 MiB. The cache holds at most
// kMaxCachedBytes; beyond that, freed blocks go back to the system.
//
// Larger blocks are pages of their own (mmap) and wait in a second cache keyed by their exact
// page-rounded size, up to kMaxLargeCachedBytes: a step's activations and gradients have the same
// sizes every step, so they are reused without page faults. A request the cache cannot serve
// first trims it to kLargeCacheAfterMiss (unmapping the largest blocks), and a block that does
// not fit the cache is unmapped at once, so the process holds little more than its live tensors
// (glibc's free keeps freed large blocks in its heap: in a ResNet34 training step that was 150
// MiB above the live peak; with this cache the step's peak RSS went from 820 to 700 MiB).
#pragma once
#include <cstddef>

namespace ember::cpu {

constexpr size_t kMaxCachedBlock = size_t(1) << 20;
constexpr size_t kMaxCachedBytes = size_t(256) << 20;
constexpr size_t kMaxLargeCachedBytes = size_t(128) << 20;
constexpr size_t kLargeCacheAfterMiss = size_t(32) << 20;

size_t cpu_size_class(size_t nbytes);  // the size a request is served with (nbytes itself above 1 MiB)
void* allocate(size_t nbytes, int device_index);
void deallocate(void* data, size_t nbytes);
size_t cpu_cached_bytes();        // bytes held in the small-block free lists now
size_t cpu_cached_large_bytes();  // bytes held in the large-block cache now
void cpu_empty_cache();           // gives every cached block back to the system

}  // namespace ember::cpu
