#include "tensor/cpu/gemm.h"

#include <Eigen/Core>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tensor/cpu/gemm_packed.h"
#include "tensor/error.h"

namespace ember {

void set_eigen_threads(int threads) { Eigen::setNbThreads(threads); }

static GemmBackend backend_from_environment() {
  const char* text = std::getenv("EMBER_GEMM");
  if (!text || !*text || std::strcmp(text, "packed") == 0) return GemmBackend::Packed;
  if (std::strcmp(text, "blas") == 0) return GemmBackend::Blas;
  if (std::strcmp(text, "eigen") == 0) return GemmBackend::Eigen;
  if (std::strcmp(text, "packed") == 0) return GemmBackend::Packed;
  throw Error(std::string("EMBER_GEMM must be 'blas', 'eigen' or 'packed', got '") + text + "'");
}

static GemmBackend& current_backend() {
  static GemmBackend backend = backend_from_environment();
  return backend;
}

void set_gemm_backend(GemmBackend backend) { current_backend() = backend; }
GemmBackend gemm_backend() { return current_backend(); }
const char* gemm_backend_name(GemmBackend backend) {
  switch (backend) {
  case GemmBackend::Blas: return "blas";
  case GemmBackend::Eigen: return "eigen";
  case GemmBackend::Packed: return "packed";
  }
  return "?";
}

void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
  switch (gemm_backend()) {
  case GemmBackend::Blas: return gemm_routes::blas_f32(M, N, K, A, B, C);
  case GemmBackend::Eigen: return gemm_routes::eigen_f32(M, N, K, A, B, C);
  case GemmBackend::Packed: return gemm_packed_f32(M, N, K, A, B, C);
  }
}

void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C) {
  // The packed route is float32 only: for double it uses OpenBLAS's dgemm.
  if (gemm_backend() == GemmBackend::Eigen) return gemm_routes::eigen_f64(M, N, K, A, B, C);
  gemm_routes::blas_f64(M, N, K, A, B, C);
}

}  // namespace ember
