// GEMM routes (blas, eigen, packed) against a double-precision triple loop, on shapes that hit
// every edge of the packed route: partial MR x NR tiles, every cache block boundary (MC, KC, NC),
// both layouts of A and B, sub-matrices whose row stride exceeds their width, and the thread split.
//
// Error bound: a float32 dot product of length K computed in any order (blocked, FMA) is within
// about sqrt(K) * eps * sum_k |A[i,k]| |B[k,j]| of the exact value for random data (K * eps in
// the worst case), so each C[i,j] must be within 4 * sqrt(K) * eps * (|A| |B|)[i,j] of the
// reference. A wrong, missing or doubled term is off by about |A[i,k] B[k,j]|, far above that.
#include <doctest/doctest.h>
#include <omp.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_packed.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

using namespace ember;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A (rows, cols) float matrix, row- or column-major, whose outer stride is `pad` elements longer
// than needed (a sub-matrix of a wider one). Padding holds NaN: a route that reads it fails.
struct Matrix {
  int64_t rows, cols;
  bool row_major;
  int64_t pad;
  std::vector<float> storage;

  Matrix(int64_t rows_, int64_t cols_, bool row_major_, int64_t pad_, std::mt19937& rng)
      : rows(rows_), cols(cols_), row_major(row_major_), pad(pad_) {
    storage.assign(std::max<int64_t>(1, row_major ? rows * (cols + pad) : cols * (rows + pad)), kNaN);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) storage[index(i, j)] = uniform(rng);
  }
  int64_t row_stride() const { return row_major ? cols + pad : 1; }
  int64_t col_stride() const { return row_major ? 1 : rows + pad; }
  int64_t index(int64_t i, int64_t j) const { return i * row_stride() + j * col_stride(); }
  float at(int64_t i, int64_t j) const { return storage[index(i, j)]; }
  GemmOperand<float> operand() const { return {storage.data(), row_stride(), col_stride()}; }
};

std::string layout_name(const Matrix& m) {
  return std::string(m.row_major ? "row-major" : "col-major") + (m.pad ? "+pad" : "");
}

using Route = void (*)(int64_t, int64_t, int64_t, GemmOperand<float>, GemmOperand<float>, float*);

struct NamedRoute {
  const char* name;
  Route run;
};

// Every route, each through the gemm() dispatcher, plus the packed route and the reference directly.
const std::vector<NamedRoute>& routes() {
  static const std::vector<NamedRoute> all = {
#ifdef EMBER_HAVE_BLAS  // a build without OpenBLAS has no blas route (see the last test case)
      {"blas",
       [](int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
         set_gemm_backend(GemmBackend::Blas);
         gemm(M, N, K, A, B, C);
       }},
#endif
      {"eigen",
       [](int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
         set_gemm_backend(GemmBackend::Eigen);
         gemm(M, N, K, A, B, C);
       }},
      {"packed",
       [](int64_t M, int64_t N, int64_t K, GemmOperand<float> A, GemmOperand<float> B, float* C) {
         set_gemm_backend(GemmBackend::Packed);
         gemm(M, N, K, A, B, C);
       }},
      {"gemm_packed_f32", gemm_packed_f32},
      {"gemm_reference_f32", gemm_reference_f32},
  };
  return all;
}

// Restores the process-wide GEMM route when a test case ends.
struct KeepBackend {
  GemmBackend saved = gemm_backend();
  ~KeepBackend() { set_gemm_backend(saved); }
};

// The exact product in double, exact[i*N+j] = sum_k A[i,k] B[k,j], and the error bound of each
// element, 4 sqrt(K) eps sum_k |A[i,k] B[k,j]|.
struct Reference {
  std::vector<double> exact, tolerance;
  Reference(const Matrix& a, const Matrix& b) {
    const int64_t M = a.rows, K = a.cols, N = b.cols;
    const double eps = std::numeric_limits<float>::epsilon();
    exact.assign(M * N, 0.0);
    tolerance.assign(M * N, 0.0);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < N; ++j) {
          const double term = double(a.at(i, k)) * double(b.at(k, j));
          exact[i * N + j] += term;
          tolerance[i * N + j] += std::abs(term);
        }
    for (double& t : tolerance) t *= 4 * std::sqrt(double(K)) * eps;
  }
};

// Runs one route on C (M,N) = A @ B and counts the elements outside the error bound; describes
// the first in *first. (No doctest assertions here, so threads may call it.)
int64_t count_bad(const NamedRoute& route, const Matrix& a, const Matrix& b, const Reference& ref, std::string* first) {
  const int64_t M = a.rows, K = a.cols, N = b.cols;
  std::vector<float> c(std::max<int64_t>(1, M * N), kNaN);  // NaN: every element must be written
  route.run(M, N, K, a.operand(), b.operand(), c.data());
  int64_t bad = 0;
  for (int64_t i = 0; i < M * N; ++i) {
    const double got = c[i], expected = ref.exact[i], tolerance = ref.tolerance[i];
    if (!(std::abs(got - expected) <= tolerance) && bad++ == 0)  // (the negation also catches NaN)
      *first = std::string(route.name) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
               " K=" + std::to_string(K) + " A " + layout_name(a) + ", B " + layout_name(b) + ": C[" +
               std::to_string(i / N) + "," + std::to_string(i % N) + "] = " + std::to_string(got) + ", expected " +
               std::to_string(expected) + " +- " + std::to_string(tolerance);
  }
  return bad;
}

// Checks every route on C = A @ B.
void check_routes(const Matrix& a, const Matrix& b) {
  const Reference ref(a, b);
  for (const NamedRoute& route : routes()) {
    std::string first;
    const int64_t bad = count_bad(route, a, b, ref, &first);
    CHECK_MESSAGE(bad == 0, bad << " bad elements, first: " << first);
  }
}

// All routes on one shape, for all four layout combinations of A and B (padded or not).
void check_shape(int64_t M, int64_t N, int64_t K, int64_t pad = 0) {
  std::mt19937 rng(static_cast<uint32_t>(M * 1000003 + N * 1009 + K + pad));
  for (bool a_rows : {true, false})
    for (bool b_rows : {true, false}) {
      const Matrix a(M, K, a_rows, pad, rng), b(K, N, b_rows, pad, rng);
      check_routes(a, b);
    }
}

}  // namespace

TEST_CASE("gemm: route names and selection") {
  KeepBackend keep;
  CHECK(std::string(gemm_backend_name(GemmBackend::Blas)) == "blas");
  CHECK(std::string(gemm_backend_name(GemmBackend::Eigen)) == "eigen");
  CHECK(std::string(gemm_backend_name(GemmBackend::Packed)) == "packed");
  set_gemm_backend(GemmBackend::Packed);
  CHECK(gemm_backend() == GemmBackend::Packed);
}

TEST_CASE("gemm: reference triple loop on a hand-computed product") {
  // [1 2 3; 4 5 6] @ [7 8; 9 10; 11 12] = [58 64; 139 154]
  const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {7, 8, 9, 10, 11, 12};
  float c[4] = {};
  gemm_reference_f32(2, 2, 3, {a, 3, 1}, {b, 2, 1}, c);
  CHECK(c[0] == 58);
  CHECK(c[1] == 64);
  CHECK(c[2] == 139);
  CHECK(c[3] == 154);
  // The same with A given column-major (its transpose's storage) and B column-major.
  const float at[] = {1, 4, 2, 5, 3, 6}, bt[] = {7, 9, 11, 8, 10, 12};
  float d[4] = {};
  gemm_packed_f32(2, 2, 3, {at, 1, 2}, {bt, 1, 3}, d);
  CHECK(d[0] == 58);
  CHECK(d[1] == 64);
  CHECK(d[2] == 139);
  CHECK(d[3] == 154);
}

TEST_CASE("gemm: tiny and odd shapes, all layouts") {
  KeepBackend keep;
  check_shape(1, 1, 1);
  for (int64_t M : {1, 5, 6, 7, 13, 33, 129})
    for (int64_t N : {1, 15, 16, 17, 33, 65})
      for (int64_t K : {1, 7, 17, 65, 129}) check_shape(M, N, K);
}

TEST_CASE("gemm: every edge tile shape") {
  KeepBackend keep;
  // The packed route's tiles are MR x NR = 6 x 16: these cover every remainder of M mod 6 and
  // of N mod 16, on one and on two tiles.
  for (int64_t M = 1; M <= 12; ++M)
    for (int64_t N = 1; N <= 32; ++N) check_shape(M, N, 9);
}

TEST_CASE("gemm: sub-matrices (row stride larger than the width)") {
  KeepBackend keep;
  for (int64_t pad : {1, 3, 16}) {
    check_shape(7, 13, 17, pad);
    check_shape(13, 17, 33, pad);
    check_shape(65, 33, 129, pad);
    check_shape(150, 40, 260, pad);
  }
}

TEST_CASE("gemm: shapes crossing the cache blocks") {
  KeepBackend keep;
  // The packed route cuts K into blocks of at most KC = 384, N of at most NC = 4080, and M of at
  // most MC = 120 rows (evened out, so e.g. M = 241 runs as 4 blocks of 66 rows on 2 threads).
  for (int64_t M : {119, 120, 121, 240, 241, 300}) check_shape(M, 33, 70);
  for (int64_t K : {383, 384, 385, 769}) check_shape(37, 35, K);
  for (int64_t N : {4079, 4080, 4081}) check_shape(7, N, 20);
  check_shape(50, 4097, 400);  // several column and depth blocks: both B buffers in turn
  check_shape(130, 150, 800);  // three depth blocks, many row blocks
}

TEST_CASE("gemm: packed route on 1, 2 and 3 threads") {
  // Rows shared out (M >= 4 * MR * threads) or, with too few rows, columns; the work is above the
  // size at which the route goes multi-threaded.
  const int saved = num_threads();
  const NamedRoute packed{"gemm_packed_f32", gemm_packed_f32};
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::mt19937 rng(threads);
    for (auto [M, N, K] : {std::array<int64_t, 3>{200, 70, 400}, {5, 300, 300}, {47, 100, 100}, {73, 129, 65}})
      for (bool a_rows : {true, false})
        for (bool b_rows : {true, false}) {
          const Matrix a(M, K, a_rows, 1, rng), b(K, N, b_rows, 0, rng);
          std::string first;
          const int64_t bad = count_bad(packed, a, b, Reference(a, b), &first);
          CHECK_MESSAGE(bad == 0, threads << " threads: " << bad << " bad elements, first: " << first);
        }
  }
  set_num_threads(saved);
}

TEST_CASE("gemm: K = 0 gives zeros; M = 0 or N = 0 does nothing") {
  KeepBackend keep;
  // matmul handles K = 0 itself, but every route supports it too: C = 0 (an empty sum).
  std::mt19937 rng(1);
  for (bool a_rows : {true, false})
    for (bool b_rows : {true, false}) {
      const Matrix a(5, 0, a_rows, 0, rng), b(0, 19, b_rows, 0, rng);
      check_routes(a, b);
    }
  float c = 42.0f, x = 1.0f;
  gemm_packed_f32(0, 1, 1, {&x, 1, 1}, {&x, 1, 1}, &c);
  gemm_packed_f32(1, 0, 1, {&x, 1, 1}, {&x, 1, 1}, &c);
  CHECK(c == 42.0f);
}

TEST_CASE("gemm: packed route called from inside a parallel region") {
  // Two threads each compute their own product at once: the route must run single-threaded there
  // and the two calls must not share scratch buffers.
  std::mt19937 rng(7);
  const Matrix a0(130, 140, true, 0, rng), b0(140, 150, false, 0, rng);
  const Matrix a1(90, 300, false, 2, rng), b1(300, 70, true, 1, rng);
  const NamedRoute packed{"gemm_packed_f32", gemm_packed_f32};
  int64_t bad[2] = {-1, -1};
  std::string first[2];
  const Reference ref0(a0, b0), ref1(a1, b1);
#pragma omp parallel for num_threads(2)
  for (int t = 0; t < 2; ++t) bad[t] = count_bad(packed, t ? a1 : a0, t ? b1 : b0, t ? ref1 : ref0, &first[t]);
  CHECK_MESSAGE(bad[0] == 0, first[0]);
  CHECK_MESSAGE(bad[1] == 0, first[1]);
}

TEST_CASE("gemm: float64 products on the packed route use the eigen route") {
  KeepBackend keep;
  set_gemm_backend(GemmBackend::Packed);
  const double a[] = {1, 2, 3, 4, 5, 6}, b[] = {7, 8, 9, 10, 11, 12};
  double c[4] = {};
  gemm(2, 2, 3, GemmOperand<double>{a, 3, 1}, GemmOperand<double>{b, 2, 1}, c);
  CHECK(c[0] == 58);
  CHECK(c[1] == 64);
  CHECK(c[2] == 139);
  CHECK(c[3] == 154);
}

#ifndef EMBER_HAVE_BLAS
TEST_CASE("gemm: a build without OpenBLAS refuses the blas route") {
  KeepBackend keep;
  CHECK_THROWS_WITH_AS(set_gemm_backend(GemmBackend::Blas), doctest::Contains("not in this build"), Error);
  CHECK(gemm_backend() != GemmBackend::Blas);
}
#endif
