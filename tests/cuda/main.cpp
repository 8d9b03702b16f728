// main() of the GPU tests: without a usable GPU the whole executable reports itself as skipped
// (exit code 77, which CTest shows as "Skipped"); with one, every case must pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "cuda/cuda_api.h"
#include "cuda_test_util.h"

int main(int argc, char** argv) {
  if (ember::test::dry_run_on_cpu()) {  // the tables on the cpu (see cuda_test_util.h)
    std::printf("dry run: the GPU tests' tables on the cpu (EMBER_CUDA_TESTS_ON_CPU=1)\n");
    doctest::Context context(argc, argv);
    return context.run();
  }
  if (!ember::cuda_is_available()) {
    std::printf("skipped: no usable CUDA GPU (%s)\n", ember::cuda::unavailable_reason().c_str());
    return 77;
  }
  std::printf("GPU tests on cuda:0, %s\n", ember::cuda::device_name(0).c_str());
  // Every GPU block starts as 0xFF bytes (NaN / -1 / invalid bool): an element a kernel forgot to
  // write makes the comparison with the CPU fail instead of passing by luck.
  ember::cuda::set_poison_allocations(true);
  doctest::Context context(argc, argv);
  return context.run();
}
