#include "tensor/cpu/gemm.h"

#include <Eigen/Core>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tensor/cpu/gemm_packed.h"
#include "tensor/error.h"

namespace ember {

void set_eigen_threads(int threads) { Eigen::setNbThreads(threads); }

// The blas route exists only when CMake found OpenBLAS (EMBER_HAVE_BLAS); without it, asking for
// that route is an error that says so, and float64 products use the eigen route.
#ifdef EMBER_HAVE_BLAS
constexpr bool kHaveBlas = true;
#else
constexpr bool kHaveBlas = false;
#endif

static void check_route_built(GemmBackend backend, const std::string& asked_by) {
  if (backend == GemmBackend::Blas && !kHaveBlas)
    throw Error(asked_by +
                ": the blas GEMM route is not in this build (OpenBLAS was not found when it was configured); "
                "use 'packed' or 'eigen'");
}

static GemmBackend backend_from_environment() {
  const char* text = std::getenv("EMBER_GEMM");
  if (!text || !*text || std::strcmp(text, "packed") == 0) return GemmBackend::Packed;
  if (std::strcmp(text, "eigen") == 0) return GemmBackend::Eigen;
  if (std::strcmp(text, "blas") == 0) {
    check_route_built(GemmBackend::Blas, "EMBER_GEMM=blas");
    return GemmBackend::Blas;
  }
  throw Error(std::string("EMBER_GEMM must be 'blas', 'eigen' or 'packed', got '") + text + "'");
}

static GemmBackend& current_backend() {
  static GemmBackend backend = backend_from_environment();
  return backend;
}

void set_gemm_backend(GemmBackend backend) {
  check_route_built(backend, "set_gemm_backend(GemmBackend::Blas)");
  current_backend() = backend;
}
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
#ifdef EMBER_HAVE_BLAS
  case GemmBackend::Blas: return gemm_routes::blas_f32(M, N, K, A, B, C);
#else
  case GemmBackend::Blas: return check_route_built(GemmBackend::Blas, "gemm");  // (never chosen: it throws)
#endif
  case GemmBackend::Eigen: return gemm_routes::eigen_f32(M, N, K, A, B, C);
  case GemmBackend::Packed: return gemm_packed_f32(M, N, K, A, B, C);
  }
}

void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<double> A, GemmOperand<double> B, double* C) {
  // The packed route is float32 only: for double it uses OpenBLAS's dgemm, or Eigen's GEMM in a
  // build without OpenBLAS.
#ifdef EMBER_HAVE_BLAS
  if (gemm_backend() != GemmBackend::Eigen) return gemm_routes::blas_f64(M, N, K, A, B, C);
#endif
  gemm_routes::eigen_f64(M, N, K, A, B, C);
}

}  // namespace ember
