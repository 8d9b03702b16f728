// The CPU kernels against naive reference loops, on contiguous, permuted, sliced and broadcast
// (stride-0) operands, large enough to take the parallel path.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <tuple>

#include "tensor/creation.h"
#include "tensor/kernels.h"

using namespace ember;

// Element at a multi-index through the tensor's own strides (the definition of a view).
static double at(const Tensor& t, const std::vector<int64_t>& index) {
  int64_t offset = t.offset();
  for (size_t d = 0; d < index.size(); ++d) offset += index[d] * t.strides()[static_cast<int>(d)];
  return visit_dtype(
      t.dtype(), [&]<typename T>() { return static_cast<double>(static_cast<const T*>(t.storage()->data)[offset]); });
}

// Calls fn(index) for every multi-index of `shape` in row-major order.
static void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& fn) {
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t i = 0, n = shape.numel(); i < n; ++i) {
    fn(index);
    for (int d = shape.size() - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

TEST_CASE("binary kernels on permuted, sliced and broadcast views match a naive loop") {
  manual_seed(11);
  Tensor base_a = randn({64, 3, 129});
  Tensor a = base_a.as_strided({129, 64, 3}, {1, 3 * 129, 129}, 0);  // permuted (2,0,1)
  Tensor base_b = randn({64, 200});
  Tensor b = base_b.as_strided({129, 64, 3}, {0, 200, 7}, 5);  // broadcast dim 0, strided dim 2
  Tensor out = empty({129, 64, 3});
  kernels::binary(BinaryOp::Mul, out, a, b);
  int mismatches = 0;
  for_each_index(out.shape(), [&](const std::vector<int64_t>& i) {
    if (at(out, i) != static_cast<double>(static_cast<float>(at(a, i)) * static_cast<float>(at(b, i)))) ++mismatches;
  });
  CHECK(mismatches == 0);

  Tensor big_a = randn({300000}), big_b = randn({300000}), big = empty({300000});  // parallel path
  kernels::binary(BinaryOp::Sub, big, big_a, big_b);
  auto va = to_vector<float>(big_a), vb = to_vector<float>(big_b), vo = to_vector<float>(big);
  for (size_t i = 0; i < vo.size(); ++i) mismatches += vo[i] != va[i] - vb[i];
  CHECK(mismatches == 0);
}

TEST_CASE("copy casts between dtypes through any strides") {
  Tensor src = arange(0, 12, 1, DType::Float64).as_strided({3, 4}, {1, 3}, 0);
  Tensor dst = empty({3, 4}, DType::Int64);
  kernels::copy(dst, src);
  CHECK(to_vector<int64_t>(dst) == std::vector<int64_t>{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  Tensor flags = empty({3}, DType::Bool);
  kernels::copy(flags, from_vector(std::vector<float>{0, 2, -1}));
  CHECK(to_vector<bool>(flags) == std::vector<bool>{false, true, true});
}

TEST_CASE("unary kernels and their edge values") {
  Tensor x = from_vector(std::vector<float>{-1000, -1, 0, 1, 1000});
  Tensor y = empty_like(x);
  kernels::unary(UnaryOp::Sigmoid, y, x);
  auto s = to_vector<float>(y);
  CHECK(s[0] == 0.0f);
  CHECK(s[2] == 0.5f);
  CHECK(s[4] == 1.0f);
  CHECK(s[3] == doctest::Approx(1 / (1 + std::exp(-1.0))));
  kernels::unary(UnaryOp::Clamp, y, x, -1, 1);
  CHECK(to_vector<float>(y) == std::vector<float>{-1, -1, 0, 1, 1});
  Tensor i = from_vector(std::vector<int64_t>{-3, 4});
  Tensor io = empty_like(i);
  kernels::unary(UnaryOp::Abs, io, i);
  CHECK(to_vector<int64_t>(io) == std::vector<int64_t>{3, 4});
}

TEST_CASE("reductions over any dims match naive sums") {
  manual_seed(12);
  Tensor x = randn({5, 6, 7}, DType::Float64);
  Tensor xt = x.as_strided({7, 6, 5}, {1, 7, 42}, 0);  // fully transposed view
  Tensor out = empty({7, 1, 5}, DType::Float64);
  kernels::reduce(ReduceOp::Sum, out, xt);  // sum over dim 1
  for (int64_t i = 0; i < 7; ++i)
    for (int64_t k = 0; k < 5; ++k) {
      double expected = 0;
      for (int64_t j = 0; j < 6; ++j) expected += at(xt, {i, j, k});
      CHECK(at(out, {i, 0, k}) == doctest::Approx(expected).epsilon(1e-12));
    }
  Tensor big = rand({1 << 20}, DType::Float64);  // a full sum split across threads
  Tensor total = empty({1}, DType::Float64);
  kernels::reduce(ReduceOp::Sum, total, big);
  auto v = to_vector<double>(big);
  double expected = 0, best = -1;
  for (double e : v) expected += e, best = std::max(best, e);
  CHECK(total.item() == doctest::Approx(expected).epsilon(1e-10));
  kernels::reduce(ReduceOp::Max, total, big);
  CHECK(total.item() == best);
  CHECK_THROWS_WITH_AS(kernels::reduce(ReduceOp::Max, empty({1}), empty({0})),
                       doctest::Contains("cannot reduce over an empty dimension"), Error);
}

TEST_CASE("max with indices takes the first of ties and propagates NaN") {
  Tensor x = from_vector(std::vector<float>{1, 5, 5, 2, NAN, 3}, {2, 3});
  Tensor values = empty({2, 1}), indices = empty({2, 1}, DType::Int64);
  kernels::reduce_with_index(ReduceOp::Max, values, indices, x, 1);
  CHECK(to_vector<int64_t>(indices) == std::vector<int64_t>{1, 1});
  CHECK(std::isnan(to_vector<float>(values)[1]));
}

TEST_CASE("softmax rows sum to one, stay finite for large inputs, and handle -inf") {
  Tensor x = from_vector(std::vector<float>{1000, 1001, 1002, -INFINITY, 0, 0}, {2, 3});
  Tensor y = empty_like(x);
  kernels::softmax(y, x, 1, false);
  auto v = to_vector<float>(y);
  CHECK(v[0] + v[1] + v[2] == doctest::Approx(1));
  CHECK(v[2] == doctest::Approx(std::exp(2.0) / (1 + std::exp(1.0) + std::exp(2.0))));
  CHECK(v[3] == 0);
  CHECK(v[4] == doctest::Approx(0.5));
}

TEST_CASE("matmul kernel: every layout of both operands against a naive triple loop") {
  manual_seed(13);
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> sizes = {
      {1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 64, 64}, {130, 7, 129}};
  for (auto [M, N, K] : sizes) {
    for (int layout = 0; layout < 4; ++layout) {
      bool a_t = layout & 1, b_t = layout & 2;
      Tensor a_base = randn(a_t ? Shape{K, M} : Shape{M, K}, DType::Float64);
      Tensor b_base = randn(b_t ? Shape{N, K} : Shape{K, N}, DType::Float64);
      Tensor a = a_t ? a_base.as_strided({1, M, K}, {0, 1, M}, 0) : a_base.as_strided({1, M, K}, {0, K, 1}, 0);
      Tensor b = b_t ? b_base.as_strided({1, K, N}, {0, 1, K}, 0) : b_base.as_strided({1, K, N}, {0, N, 1}, 0);
      Tensor out = empty({1, M, N}, DType::Float64);
      kernels::matmul(out, a, b);
      double worst = 0;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double expected = 0;
          for (int64_t k = 0; k < K; ++k) expected += at(a, {0, i, k}) * at(b, {0, k, j});
          worst = std::max(worst, std::fabs(at(out, {0, i, j}) - expected));
        }
      CAPTURE(M);
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(layout);
      CHECK(worst < 1e-10);
    }
  }
}

TEST_CASE("index kernels and their bounds errors") {
  Tensor x = arange(0, 6, 1, DType::Float32).as_strided({3, 2}, {2, 1}, 0);
  Tensor idx = from_vector(std::vector<int64_t>{2, 0, 2});
  Tensor out = empty({3, 2});
  kernels::index_select(out, x, 0, idx);
  CHECK(to_vector<float>(out) == std::vector<float>{4, 5, 0, 1, 4, 5});
  Tensor acc = zeros({3, 2});
  kernels::index_add(acc, 0, idx, out);
  CHECK(to_vector<float>(acc) == std::vector<float>{0, 1, 0, 0, 8, 10});
  Tensor bad = from_vector(std::vector<int64_t>{3});
  CHECK_THROWS_WITH_AS(kernels::index_select(empty({1, 2}), x, 0, bad),
                       doctest::Contains("index 3 is out of bounds for dim 0 with size 3"), Error);
  Tensor g_idx = from_vector(std::vector<int64_t>{1, 0, 0, 0, 1, 1}, {3, 2});
  Tensor g = empty({3, 2});
  kernels::gather(g, x, 1, g_idx);
  CHECK(to_vector<float>(g) == std::vector<float>{1, 0, 2, 2, 5, 5});
  Tensor s = zeros({3, 2});
  kernels::scatter_add(s, 1, g_idx, ones({3, 2}));
  CHECK(to_vector<float>(s) == std::vector<float>{1, 1, 2, 0, 0, 2});
}
