// Shape ops: which ones are views (shared storage), what they contain, and their errors.
#include <doctest/doctest.h>

#include "../test_util.h"

using namespace ember;
using namespace ember::test;

static Tensor range(const Shape& shape) {
  return reshape(arange(0, static_cast<double>(shape.numel()), 1, DType::Float32), shape);
}
static std::vector<float> values(const Tensor& t) { return to_vector<float>(t); }

TEST_CASE("reshape is a view when strides allow, a copy otherwise") {
  Tensor x = range({2, 3, 4});
  Tensor v = reshape(x, {6, -1});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.storage() == x.storage());
  Tensor t = transpose(x, 1, 2);  // (2,4,3), not contiguous
  Tensor merged = reshape(t, {2, 12});
  CHECK(merged.storage() != x.storage());  // needs a copy
  CHECK(values(select(merged, 0, 0)) == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  Tensor split = reshape(t, {2, 2, 2, 3});  // splitting a dim of a permuted view is still a view
  CHECK(split.storage() == x.storage());
  CHECK_THROWS_WITH_AS(view(t, {2, 12}), doctest::Contains("cannot be viewed as [2, 12]; use reshape()"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {5, -1}), doctest::Contains("shape [5, -1] is invalid for input of size 24"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {-1, -1}), doctest::Contains("only one dim can be -1"), Error);
}

TEST_CASE("slice, select, narrow follow Python's indexing") {
  Tensor x = range({3, 7});
  CHECK(values(slice(x, 1, 1, 6, 2)) == std::vector<float>{1, 3, 5, 8, 10, 12, 15, 17, 19});
  CHECK(values(slice(x, 0, -1, 100)) == std::vector<float>{14, 15, 16, 17, 18, 19, 20});
  CHECK(slice(x, 0, 5, 10).shape() == Shape{0, 7});
  CHECK(values(select(x, 1, -1)) == std::vector<float>{6, 13, 20});
  CHECK(values(narrow(x, 0, 1, 1)) == std::vector<float>{7, 8, 9, 10, 11, 12, 13});
  CHECK(slice(x, 1, 0, 3).storage() == x.storage());
  CHECK_THROWS_WITH_AS(select(x, 0, 3), doctest::Contains("index 3 is out of range for dim 0 of size 3"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 0, 0, 2, 0), doctest::Contains("step must be positive"), Error);
  CHECK_THROWS_WITH_AS(narrow(x, 1, 5, 3), doctest::Contains("outside dim 1 of size 7"), Error);
}

TEST_CASE("permute, transpose, squeeze, unsqueeze, flatten, expand") {
  Tensor x = range({2, 3, 4});
  Tensor p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  CHECK(values(contiguous(p))[1] == 4);
  CHECK_THROWS_WITH_AS(permute(x, {0, 0, 1}), doctest::Contains("dim 0 repeats"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 1}), doctest::Contains("names 2 dims"), Error);
  CHECK(squeeze(range({1, 3, 1})).shape() == Shape{3});
  CHECK(squeeze(range({1, 3, 1}), 0).shape() == Shape{3, 1});
  CHECK(unsqueeze(range({3}), -1).shape() == Shape{3, 1});
  CHECK(flatten(x, 1).shape() == Shape{2, 12});
  Tensor e = expand(range({3, 1}), {2, -1, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Strides{0, 1, 0});
  CHECK_THROWS_WITH_AS(expand(range({3}), {4}), doctest::Contains("cannot be expanded"), Error);
}

TEST_CASE("cat and stack") {
  Tensor a = range({2, 2}), b = range({2, 3});
  CHECK(values(cat({a, b}, 1)) == std::vector<float>{0, 1, 0, 1, 2, 2, 3, 3, 4, 5});
  CHECK(stack({a, a}, 0).shape() == Shape{2, 2, 2});
  CHECK(stack({a, a}, 2).shape() == Shape{2, 2, 2});
  CHECK(values(stack({a, a * 2.0}, 2)) == std::vector<float>{0, 0, 1, 2, 2, 4, 3, 6});
  CHECK_THROWS_WITH_AS(cat({a, b}, 0), doctest::Contains("sizes must match except in dim 0"), Error);
  CHECK_THROWS_WITH_AS(stack({a, b}), doctest::Contains("tensor 1 has shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(cat({}, 0), doctest::Contains("non-empty list"), Error);
}

TEST_CASE("reductions: values, indices and shapes") {
  Tensor x = from_vector(std::vector<float>{3, 1, 4, 1, 5, 9, 2, 6}, {2, 4});
  CHECK(values(sum(x, {1})) == std::vector<float>{9, 22});
  CHECK(sum(x, {0}, true).shape() == Shape{1, 4});
  CHECK(mean(x).item() == doctest::Approx(31.0 / 8));
  auto [v, i] = max(x, 1);
  CHECK(values(v) == std::vector<float>{4, 9});
  CHECK(to_vector<int64_t>(i) == std::vector<int64_t>{2, 1});
  CHECK(argmax(x).item() == 5);
  CHECK(to_vector<int64_t>(argmin(x, 0)) == std::vector<int64_t>{0, 0, 1, 0});
  CHECK(var(x).item() == doctest::Approx(7.553571).epsilon(1e-5));             // numpy.var(ddof=1)
  CHECK(var(x, {0, 1}, 0).item() == doctest::Approx(6.609375).epsilon(1e-5));  // numpy.var(ddof=0)
  CHECK(sum(from_vector(std::vector<uint8_t>{200, 100})).dtype() == DType::Int64);
  CHECK(sum(from_vector(std::vector<uint8_t>{200, 100})).item() == 300);
  CHECK_THROWS_WITH_AS(sum(x, {1, 1}), doctest::Contains("dim 1 appears twice"), Error);
  CHECK_THROWS_WITH_AS(max(zeros({0, 3}), 0), doctest::Contains("cannot reduce over dim 0 of size 0"), Error);
}

TEST_CASE("matmul and einsum shape errors name the shapes") {
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4, 5})),
                       doctest::Contains("[2, 3] and [4, 5] cannot be multiplied"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), doctest::Contains("cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({3, 4}, DType::Float64)), doctest::Contains("float32 and float64"),
                       Error);
  CHECK_THROWS_WITH_AS(einsum("ii->i", {zeros({2, 2})}), doctest::Contains("repeats within operand"), Error);
  CHECK_THROWS_WITH_AS(einsum("ij,jk->ik", {zeros({2, 3})}), doctest::Contains("names 2 operands but 1 were given"),
                       Error);
  CHECK_THROWS_WITH_AS(einsum("ij,jk->ik", {zeros({2, 3}), zeros({4, 2})}),
                       doctest::Contains("letter 'j' has size 3 and 4"), Error);
  CHECK_THROWS_WITH_AS(einsum("ij->z", {zeros({2, 3})}), doctest::Contains("output letter 'z'"), Error);
  CHECK(einsum("ij->", {ones({2, 3})}).item() == 6);
  CHECK(einsum("ij,ij", {ones({2, 3}), ones({2, 3})}).item() == 6);  // implicit output: a full contraction
}

TEST_CASE("in-place arithmetic broadcasts the other operand, never self") {
  Tensor x = zeros({2, 3});
  add_(x, from_vector(std::vector<float>{1, 2, 3}));
  CHECK(values(x) == std::vector<float>{1, 2, 3, 1, 2, 3});
  CHECK_THROWS_WITH_AS(add_(x, zeros({3, 3})), doctest::Contains("cannot be broadcast"), Error);
  Tensor row = zeros({3});
  CHECK_THROWS_WITH_AS(add_(row, zeros({2, 3})), doctest::Contains("differs from the tensor's shape [3]"), Error);
  Tensor ints = from_vector(std::vector<int64_t>{4, 6});
  CHECK_THROWS_WITH_AS(div_(ints, from_vector(std::vector<int64_t>{2, 4})),
                       doctest::Contains("cannot be stored in a int64"), Error);
  Tensor c = zeros({2, 2});
  copy_(c, from_vector(std::vector<double>{1.5, 2.5}));
  CHECK(values(c) == std::vector<float>{1.5, 2.5, 1.5, 2.5});
}
