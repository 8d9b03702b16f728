#include "tensor/parallel.h"

#include <cstdlib>
#include <string>

#include "tensor/error.h"

namespace ember {

#ifdef EMBER_HAVE_BLAS                          // OpenBLAS is optional (see tensor/CMakeLists.txt)
extern "C" void openblas_set_num_threads(int);  // from libopenblas
#endif
void set_eigen_threads(int threads);  // tensor/cpu/gemm.cpp

static int threads_from_environment() {
  const char* text = std::getenv("EMBER_NUM_THREADS");
  if (!text || !*text) return omp_get_num_procs();
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  EMBER_CHECK(*end == '\0' && value >= 1 && value <= 4096,
              std::string("EMBER_NUM_THREADS must be a positive integer, got '") + text + "'");
  return static_cast<int>(value);
}

static int g_num_threads = 0;  // 0: not read yet

int num_threads() {
  if (g_num_threads == 0) set_num_threads(threads_from_environment());
  return g_num_threads;
}

void set_num_threads(int threads) {
  EMBER_CHECK(threads >= 1, "set_num_threads: expected at least 1 thread, got " + std::to_string(threads));
  g_num_threads = threads;
  omp_set_num_threads(threads);
#ifdef EMBER_HAVE_BLAS
  openblas_set_num_threads(threads);
#endif
  set_eigen_threads(threads);
}

}  // namespace ember
