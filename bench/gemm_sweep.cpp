// GFLOP/s of each float32 GEMM route on square row-major products C (N,N) = A (N,N) @ B (N,N):
// 2*N^3 flops per product, median of `runs` timed runs after one warm-up.
//   usage: ember_gemm_sweep [threads=2] [runs=7] [N ...]   (default N: 256 512 1024 2048)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"

int main(int argc, char** argv) {
  using namespace ember;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2, runs = argc > 2 ? std::atoi(argv[2]) : 7;
  std::vector<int64_t> sizes;
  for (int i = 3; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
  if (sizes.empty()) sizes = {256, 512, 1024, 2048};
  set_num_threads(threads);
  std::printf("GFLOP/s, median of %d runs, %d threads\n%6s", runs, threads, "N");
  const GemmBackend routes[] = {GemmBackend::Blas, GemmBackend::Eigen, GemmBackend::Packed};
  for (GemmBackend r : routes) std::printf("%10s", gemm_backend_name(r));
  std::printf("\n");
  for (int64_t n : sizes) {
    std::vector<float> a(n * n), b(n * n), c(n * n);
    std::mt19937 rng(0);
    std::uniform_real_distribution<float> uniform(-1, 1);
    for (float& x : a) x = uniform(rng);
    for (float& x : b) x = uniform(rng);
    std::printf("%6lld", static_cast<long long>(n));
    for (GemmBackend r : routes) {
      set_gemm_backend(r);
      // Repeat small products so each timed run lasts at least ~20 ms.
      const int reps = static_cast<int>(std::max<int64_t>(1, 2'000'000'000LL / (2 * n * n * n) / 5));
      std::vector<double> gflops;
      for (int run = -1; run < runs; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < reps; ++i) gemm(n, n, n, {a.data(), n, 1}, {b.data(), n, 1}, c.data());
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (run >= 0) gflops.push_back(2.0 * n * n * n * reps / s / 1e9);
      }
      std::nth_element(gflops.begin(), gflops.begin() + runs / 2, gflops.end());
      std::printf("%10.1f", gflops[runs / 2]);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
}
