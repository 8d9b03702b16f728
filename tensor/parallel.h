// Parallel CPU loops. The thread count comes from EMBER_NUM_THREADS (default: all cores) and is
// shared by Ember's own loops, Eigen's GEMM and OpenBLAS.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace ember {

int num_threads();
void set_num_threads(int threads);

// Splits [begin, end) into at most num_threads() contiguous chunks of at least `grain` items and
// calls fn(chunk_begin, chunk_end) on each, in parallel. Small ranges run inline on the caller.
template <typename Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int64_t chunks = std::min<int64_t>(num_threads(), (n + grain - 1) / std::max<int64_t>(grain, 1));
  if (chunks <= 1 || omp_in_parallel()) {
    fn(begin, end);
    return;
  }
#pragma omp parallel for num_threads(static_cast <int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) fn(begin + n * c / chunks, begin + n * (c + 1) / chunks);
}

}  // namespace ember
