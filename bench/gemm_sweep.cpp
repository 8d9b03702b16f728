// GFLOP/s of each float32 GEMM route on square row-major products C (N,N) = A (N,N) @ B (N,N),
// 2*N^3 flops each: the median of `runs` timed runs per route. The routes take turns, run by run,
// so that a slow spell of the machine falls on all of them; each run follows 0.15 s of warm-up
// on its route, which also lets the previous route's idle threads stop spinning (OpenBLAS's
// spin for up to ~0.1 s and would steal the cores).
// The last column calls OpenBLAS's cblas_sgemm directly, as a yardstick for the blas route.
//   usage: ember_gemm_sweep [threads=2] [runs=7] [N ...]   (default N: 256 512 1024 2048)
#include <cblas.h>

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
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2, runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  std::vector<int64_t> sizes;
  for (int i = 3; i < argc; ++i) sizes.push_back(std::atoll(argv[i]));
  if (sizes.empty()) sizes = {256, 512, 1024, 2048};
  set_num_threads(threads);

  const GemmBackend routes[] = {GemmBackend::Blas, GemmBackend::Eigen, GemmBackend::Packed};
  const int columns = 4;  // the three routes, then cblas_sgemm
  std::printf("GFLOP/s, median of %d runs, %d threads\n%6s", runs, threads, "N");
  for (GemmBackend r : routes) std::printf("%10s", gemm_backend_name(r));
  std::printf("%12s\n", "cblas_sgemm");
  for (int64_t n : sizes) {
    std::vector<float> a(n * n), b(n * n), c(n * n);
    std::mt19937 rng(0);
    std::uniform_real_distribution<float> uniform(-1, 1);
    for (float& x : a) x = uniform(rng);
    for (float& x : b) x = uniform(rng);
    auto product = [&](int column) {
      if (column == 3)
        return cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a.data(), n, b.data(), n, 0, c.data(),
                           n);
      set_gemm_backend(routes[column]);
      gemm(n, n, n, {a.data(), n, 1}, {b.data(), n, 1}, c.data());
    };
    // Repeat small products so that each timed run does at least ~0.4 GFLOP.
    const int64_t reps = std::max<int64_t>(1, 400'000'000 / (2 * n * n * n));
    using Clock = std::chrono::steady_clock;
    auto seconds_since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    std::vector<std::vector<double>> gflops(columns);
    for (int run = 0; run < runs; ++run)
      for (int column = 0; column < columns; ++column) {
        for (const auto t0 = Clock::now(); seconds_since(t0) < 0.15;) product(column);  // warm-up
        const auto t0 = Clock::now();
        for (int64_t i = 0; i < reps; ++i) product(column);
        gflops[column].push_back(2.0 * n * n * n * reps / seconds_since(t0) / 1e9);
      }
    std::printf("%6lld", static_cast<long long>(n));
    for (int column = 0; column < columns; ++column) {
      std::vector<double>& g = gflops[column];
      std::nth_element(g.begin(), g.begin() + runs / 2, g.end());
      std::printf(column == 3 ? "%12.1f" : "%10.1f", g[runs / 2]);
    }
    std::printf("\n");
  }
}
