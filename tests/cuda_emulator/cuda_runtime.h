// A host stand-in for the CUDA runtime, so Ember's real kernel source (cuda/*.cu, rewritten by
// rewrite.py) compiles with g++ and runs on the CPU, with no GPU. Device memory is host memory.
//
// Two ways to run a launch `kernel<<<grid, block>>>(args)` (rewrite.py turns it into
// ::emu::launch or ::emu::launch_threaded):
//   serial   - every CUDA thread of every block runs in turn on the calling thread. Fast; right for
//              kernels with no __syncthreads, no warp shuffles and no shared memory.
//   threaded - one OS thread per CUDA thread of a block (the block's threads really run at the same
//              time); __syncthreads is a barrier, a warp shuffle is a barrier of the warp's threads
//              plus a mailbox. Blocks run one after another.
// rewrite.py picks threaded for a file that uses __syncthreads or __shfl_*; a harness can set
// emu::force_threaded to run every launch threaded (e.g. to race the atomics for real).
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct CUstream_st;
typedef CUstream_st* cudaStream_t;
typedef int cudaError_t;
constexpr int cudaSuccess = 0;

#define __device__
#define __global__
#define __host__
#define __forceinline__ inline
#define __shared__ static  // one copy shared by the block's threads (blocks run one at a time)
// What the hand GEMM (gemm_hand.cu, run by the conv harness) and conv.cu use beyond the above:
// launch bounds are a hint to ptxas, __align__ an alignment, float4 a 16-byte aligned vector.
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

namespace emu {
// What the threads of the running block share: the barriers and the warps' shuffle mailboxes.
struct Block {
  int threads;
  std::barrier<> sync;  // __syncthreads
  std::barrier<> done;  // end of a block: the next one starts when every thread has finished
  std::vector<std::unique_ptr<std::barrier<>>> warp;
  std::vector<std::array<std::array<unsigned char, 16>, 32>> slots;  // [warp][lane] shuffle values
  explicit Block(int n) : threads(n), sync(n), done(n), slots((n + 31) / 32) {
    for (int w = 0; w < (n + 31) / 32; ++w) warp.emplace_back(new std::barrier<>(std::min(32, n - 32 * w)));
  }
};
inline thread_local dim3 tl_thread, tl_block;
inline thread_local int tl_linear = 0;                // threadIdx as one number
inline thread_local Block* tl_block_state = nullptr;  // null in serial mode
inline dim3 g_grid, g_block;
inline int sm_count = 1;  // multiprocessor_count(): blocks_for caps grids at 32 blocks per SM
inline bool force_threaded = false;
inline std::atomic<long> launches{0};

// The launch limits of a real GPU: a launch outside them fails there, so it aborts here.
inline void check_config(dim3 grid, dim3 block) {
  const long n = long(block.x) * block.y * block.z;
  if (n < 1 || n > 1024 || block.z > 64 || grid.x < 1 || grid.y < 1 || grid.z < 1 || grid.y > 65535 || grid.z > 65535) {
    std::fprintf(stderr, "bad launch: grid (%u,%u,%u) block (%u,%u,%u)\n", grid.x, grid.y, grid.z, block.x, block.y,
                 block.z);
    std::abort();
  }
}

inline void set_thread(int t, dim3 block) {
  tl_linear = t;
  tl_thread = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
}

template <typename F>
void launch_threaded(dim3 grid, dim3 block, F f) {
  check_config(grid, block);
  ++launches;
  g_grid = grid, g_block = block;
  const int n = int(block.x * block.y * block.z);
  Block state{n};
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      tl_block_state = &state;
      set_thread(t, block);
      for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
          for (unsigned bx = 0; bx < grid.x; ++bx) {
            tl_block = dim3(bx, by, bz);
            f();
            state.done.arrive_and_wait();
          }
    });
  }
  for (auto& th : threads) th.join();
}

template <typename F>
void launch(dim3 grid, dim3 block, F f) {
  if (force_threaded) return launch_threaded(grid, block, f);
  check_config(grid, block);
  ++launches;
  g_grid = grid, g_block = block;
  tl_block_state = nullptr;
  const int n = int(block.x * block.y * block.z);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        for (int t = 0; t < n; ++t) {
          tl_block = dim3(bx, by, bz);
          set_thread(t, block);
          f();
        }
}

inline Block& block_state(const char* what) {
  if (!tl_block_state) {
    std::fprintf(stderr, "%s in a serial launch: rewrite.py should have picked launch_threaded\n", what);
    std::abort();
  }
  return *tl_block_state;
}

// A warp shuffle: every lane posts its value, waits for the warp, reads lane src_lane's value (its
// own when src_lane is outside the warp, as on the GPU), and waits again before the mailbox is reused.
template <typename T>
T exchange(T v, int src_lane) {
  static_assert(sizeof(T) <= 16);
  Block& b = block_state("warp shuffle");
  const int warp = tl_linear / 32, lane = tl_linear % 32;
  const int lanes = std::min(32, b.threads - 32 * warp);
  std::memcpy(b.slots[warp][lane].data(), &v, sizeof(T));
  b.warp[warp]->arrive_and_wait();
  T r = v;
  if (src_lane >= 0 && src_lane < lanes) std::memcpy(&r, b.slots[warp][src_lane].data(), sizeof(T));
  b.warp[warp]->arrive_and_wait();
  return r;
}
}  // namespace emu

#define threadIdx (::emu::tl_thread)
#define blockIdx (::emu::tl_block)
#define blockDim (::emu::g_block)
#define gridDim (::emu::g_grid)

inline void __syncthreads() { emu::block_state("__syncthreads").sync.arrive_and_wait(); }
template <typename T>
T __shfl_down_sync(unsigned mask, T v, int delta) {
  if (mask != 0xffffffffu) std::abort();  // the kernels only use full warps
  return emu::exchange(v, emu::tl_linear % 32 + delta);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
  if (mask != 0xffffffffu) std::abort();
  return emu::exchange(v, (emu::tl_linear % 32) ^ lane_mask);
}

// ---- atomics: real host atomics (in threaded mode the threads of a block run concurrently) ----
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
  std::atomic_ref<unsigned long long> a(*p);
  unsigned long long old = a.load();
  while (v < old && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}
inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline double atomicAdd(double* p, double v) { return std::atomic_ref<double>(*p).fetch_add(v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return std::atomic_ref<unsigned long long>(*p).fetch_add(v);
}
inline unsigned atomicCAS(unsigned* p, unsigned compare, unsigned value) {
  std::atomic_ref<unsigned>(*p).compare_exchange_strong(compare, value);
  return compare;  // the old value either way
}

// ---- runtime calls: device memory is host memory, streams do not exist ----
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
constexpr unsigned cudaHostAllocDefault = 0;
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) {
  std::memset(p, v, n);
  return 0;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(d, s, n);
  return 0;
}
inline cudaError_t cudaMemcpyPeerAsync(void* d, int, const void* s, int, size_t n, cudaStream_t) {
  std::memcpy(d, s, n);
  return 0;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return 0; }
inline cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) {
  *p = std::malloc(n);
  return 0;
}
inline cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return 0;
}
