// TEMPORARY stub: arange and the random fills.
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

[[noreturn]] static void not_yet(const char* what) { throw Error(std::string("CUDA kernel not written yet: ") + what); }

void arange(const Tensor&, double, double) { not_yet("arange"); }
void uniform(const Tensor&, uint64_t, uint64_t, double, double) { not_yet("uniform"); }
void normal(const Tensor&, uint64_t, uint64_t, double, double) { not_yet("normal"); }
void randint(const Tensor&, uint64_t, uint64_t, int64_t, int64_t) { not_yet("randint"); }

}  // namespace ember::cuda
