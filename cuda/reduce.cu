// TEMPORARY stub: reduce, reduce_with_index.
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

[[noreturn]] static void not_yet(const char* what) { throw Error(std::string("CUDA kernel not written yet: ") + what); }

void reduce(ReduceOp, const Tensor&, const Tensor&) { not_yet("reduce"); }
void reduce_with_index(ReduceOp, const Tensor&, const Tensor&, const Tensor&, int) { not_yet("reduce_with_index"); }

}  // namespace ember::cuda
