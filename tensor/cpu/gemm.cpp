#include "tensor/cpu/gemm.h"

#include <Eigen/Core>
#include <algorithm>
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

// Products this small (exercise 2's (1000,1) @ (1,1), exercise 3's (150,4) @ (4,2) and their
// backward products) cost less than setting up any blocked route: packing panels and starting
// threads would take longer than the arithmetic. They run as the textbook triple loop,
//   C[i][j] = sum_k A[i][k] B[k][j],
// ordered so that the innermost loop runs over the longest of M, N, K. Vectorising loops of 1 to 4
// iterations costs more than it saves (GCC's vector versions carry long set-up code), so these
// loops stay scalar: about 4 instructions per multiply-add.
#if defined(__GNUC__) && !defined(__clang__)
#define EMBER_SCALAR_LOOPS __attribute__((optimize("no-tree-vectorize")))
#else
#define EMBER_SCALAR_LOOPS
#endif

template <typename T>
EMBER_SCALAR_LOOPS static void gemm_small(int64_t M, int64_t N, int64_t K, GemmOperand<T> A, GemmOperand<T> B, T* C) {
  const int64_t a_rs = A.row_stride, a_cs = A.col_stride, b_rs = B.row_stride, b_cs = B.col_stride;
  if (K == 0) return std::fill(C, C + M * N, T(0));  // an empty sum
  if (K >= M && K >= N) {                            // long sums: each C[i][j] is one dot product over k
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        const T* a = A.data + i * a_rs;
        const T* b = B.data + j * b_cs;
        // Four partial sums: one running sum would wait for each add to finish (a chain of K
        // dependent adds); four independent chains keep the FMA units busy.
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t k = 0;
        for (; k + 4 <= K; k += 4) {
          s0 += a[k * a_cs] * b[k * b_rs];
          s1 += a[(k + 1) * a_cs] * b[(k + 1) * b_rs];
          s2 += a[(k + 2) * a_cs] * b[(k + 2) * b_rs];
          s3 += a[(k + 3) * a_cs] * b[(k + 3) * b_rs];
        }
        for (; k < K; ++k) s0 += a[k * a_cs] * b[k * b_rs];
        C[i * N + j] = (s0 + s1) + (s2 + s3);
      }
    return;
  }
  // The k = 0 term is stored, the others added (no separate pass to zero C).
  if (M >= N) {  // long columns: C[:, j] = sum over k of A[:, k] * B[k][j]
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) {
        const T b = B.data[k * b_rs + j * b_cs];
        const T* a = A.data + k * a_cs;
        T* c = C + j;
        if (k == 0)
          for (int64_t i = 0; i < M; ++i) c[i * N] = a[i * a_rs] * b;
        else
          for (int64_t i = 0; i < M; ++i) c[i * N] += a[i * a_rs] * b;
      }
  } else {  // long rows: C[i, :] = sum over k of A[i][k] * B[k, :]
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        const T a = A.data[i * a_rs + k * a_cs];
        const T* b = B.data + k * b_rs;
        T* c = C + i * N;
        if (k == 0)
          for (int64_t j = 0; j < N; ++j) c[j] = a * b[j * b_cs];
        else
          for (int64_t j = 0; j < N; ++j) c[j] += a * b[j * b_cs];
      }
  }
}

bool gemm_is_small(int64_t M, int64_t N, int64_t K) { return M * N * K <= kSmallGemmWork; }

void gemm(int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
  if (gemm_is_small(M, N, K)) return gemm_small(M, N, K, A, B, C);
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
  if (gemm_is_small(M, N, K)) return gemm_small(M, N, K, A, B, C);
    // The packed route is float32 only: for double it uses OpenBLAS's dgemm, or Eigen's GEMM in a
    // build without OpenBLAS.
#ifdef EMBER_HAVE_BLAS
  if (gemm_backend() != GemmBackend::Eigen) return gemm_routes::blas_f64(M, N, K, A, B, C);
#endif
  gemm_routes::eigen_f64(M, N, K, A, B, C);
}

}  // namespace ember
