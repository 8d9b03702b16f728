// TEMPORARY stub: unary, binary, where.
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

[[noreturn]] static void not_yet(const char* what) { throw Error(std::string("CUDA kernel not written yet: ") + what); }

void unary(UnaryOp, const Tensor&, const Tensor&, double, double) { not_yet("unary"); }
void binary(BinaryOp, const Tensor&, const Tensor&, const Tensor&) { not_yet("binary"); }
void where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { not_yet("where"); }

}  // namespace ember::cuda
