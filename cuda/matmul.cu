// TEMPORARY stub: matmul and the GEMM backend switch.
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

[[noreturn]] static void not_yet(const char* what) { throw Error(std::string("CUDA kernel not written yet: ") + what); }

void matmul(const Tensor&, const Tensor&, const Tensor&) { not_yet("matmul"); }
void set_gemm_backend(GemmBackend) { not_yet("gemm"); }
GemmBackend gemm_backend() { return GemmBackend::Hand; }
GemmBackend parse_gemm_backend(const std::string&) { not_yet("gemm"); }
const char* gemm_backend_name(GemmBackend) { return "hand"; }

}  // namespace ember::cuda
