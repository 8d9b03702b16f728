// TEMPORARY stub: index_select, index_add, gather, scatter_add.
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

[[noreturn]] static void not_yet(const char* what) { throw Error(std::string("CUDA kernel not written yet: ") + what); }

void index_select(const Tensor&, const Tensor&, int, const Tensor&) { not_yet("index_select"); }
void index_add(const Tensor&, int, const Tensor&, const Tensor&) { not_yet("index_add"); }
void gather(const Tensor&, const Tensor&, int, const Tensor&) { not_yet("gather"); }
void scatter_add(const Tensor&, int, const Tensor&, const Tensor&) { not_yet("scatter_add"); }

}  // namespace ember::cuda
