// Tensor basics: shapes, dtypes, creation, random numbers, element access.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <tuple>

#include "../test_util.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"
#include "tensor/parallel.h"
#include "tensor/philox.h"

using namespace ember;
using ember::test::error_of;

TEST_CASE("Dims, strides and broadcasting rules") {
  CHECK(contiguous_strides({2, 3, 4}) == Strides{12, 4, 1});
  CHECK(contiguous_strides({}) == Strides{});
  CHECK(Shape{2, 3}.numel() == 6);
  CHECK(Shape{}.numel() == 1);
  CHECK(broadcast_shapes({3, 1, 5}, {4, 1}, "t") == Shape{3, 4, 5});
  CHECK(broadcast_shapes({}, {2}, "t") == Shape{2});
  CHECK(error_of([] { broadcast_shapes({3}, {4}, "add"); }).find("add: shapes [3] and [4] cannot be broadcast") == 0);
  CHECK(wrap_dim(-1, 3, "t") == 2);
  CHECK(error_of([] { wrap_dim(3, 3, "sum"); }).find("sum: dim 3 is out of range for a 3-d tensor") == 0);
  CHECK(error_of([] { Shape s{1, 2, 3, 4, 5, 6, 7, 8, 9}; }).find("at most 8 dims") != std::string::npos);
  // contiguity: size-1 dims and empty tensors do not care about strides (PyTorch's rule)
  CHECK(empty({3, 0}).is_contiguous());
  CHECK(empty({0, 3}).as_strided({0, 3}, {1, 7}, 0).is_contiguous());
  CHECK(empty({4, 1}).as_strided({4, 1}, {1, 99}, 0).is_contiguous());
  CHECK(!empty({2, 3}).as_strided({2, 3}, {1, 2}, 0).is_contiguous());
}

TEST_CASE("dtypes: sizes, names, promotion") {
  CHECK(dtype_size(DType::Float32) == 4);
  CHECK(dtype_size(DType::Int64) == 8);
  CHECK(dtype_size(DType::Bool) == 1);
  CHECK(std::string(dtype_name(DType::UInt8)) == "uint8");
  CHECK(promote_types(DType::Int64, DType::Float32) == DType::Float32);
  CHECK(promote_types(DType::Bool, DType::UInt8) == DType::UInt8);
  CHECK(promote_types(DType::Float64, DType::Float32) == DType::Float64);
}

TEST_CASE("creation functions fill what they say") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.is_contiguous());
  CHECK(to_vector<float>(z) == std::vector<float>(6, 0.0f));
  CHECK(to_vector<double>(full({2}, 2.5, DType::Float64)) == std::vector<double>{2.5, 2.5});
  CHECK(to_vector<int64_t>(arange(5)) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(to_vector<float>(arange(1, 2, 0.25, DType::Float32)) == std::vector<float>{1, 1.25, 1.5, 1.75});
  CHECK(to_vector<float>(linspace(0, 1, 5)) == std::vector<float>{0, 0.25, 0.5, 0.75, 1});
  CHECK(to_vector<float>(eye(3)) == std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(scalar_tensor(3).dim() == 0);
  CHECK(scalar_tensor(3).item() == 3);
  CHECK(error_of([] { arange(0, 5, 0); }).find("step must be non-zero") != std::string::npos);
  CHECK(error_of([] {
          from_vector(std::vector<float>{1, 2, 3}, {2, 2});
        }).find("3 values do not fill shape [2, 2]") != std::string::npos);
  CHECK(error_of([] { zeros({2, 3}).item(); }).find("a tensor with 6 elements") != std::string::npos);
  CHECK(error_of([] { zeros({2}).data<double>(); }).find("holds float32, but float64 was asked for") !=
        std::string::npos);
  CHECK(error_of([] { empty({-1, 2}); }).find("negative size") != std::string::npos);
}

TEST_CASE("random tensors: seeded, reproducible, independent of threads, right distribution") {
  manual_seed(42);
  Tensor a = randn({100000});
  manual_seed(42);
  set_num_threads(1);
  Tensor b = randn({100000});
  set_num_threads(2);
  CHECK(to_vector<float>(a) == to_vector<float>(b));
  Tensor c = randn({100000});  // the generator moved on
  CHECK(to_vector<float>(a) != to_vector<float>(c));

  auto stats = [](const Tensor& t) {
    auto v = to_vector<double>(t);
    double m = std::accumulate(v.begin(), v.end(), 0.0) / v.size(), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::pair{m, std::sqrt(s / v.size())};
  };
  auto [mean_n, std_n] = stats(a);  // N(0,1): sample mean within ~4 standard errors of 0
  CHECK(std::fabs(mean_n) < 4 / std::sqrt(1e5));
  CHECK(std::fabs(std_n - 1) < 0.02);
  auto [mean_u, std_u] = stats(uniform({100000}, -1, 1));  // U(-1,1): mean 0, std 1/sqrt(3)
  CHECK(std::fabs(mean_u) < 0.02);
  CHECK(std::fabs(std_u - 1 / std::sqrt(3.0)) < 0.01);
  auto r = to_vector<int64_t>(randint(3, 7, {10000}));
  CHECK(*std::min_element(r.begin(), r.end()) == 3);
  CHECK(*std::max_element(r.begin(), r.end()) == 6);
}

TEST_CASE("Philox matches the published known-answer test") {
  // Random123's kat_vectors: philox4x32_10 with counter {0,0,0,0} and key {0,0}.
  PhiloxOutput out = philox4x32(0, 0);
  CHECK(out.word[0] == 0x6627e8d5u);
  CHECK(out.word[1] == 0xe169c58du);
  CHECK(out.word[2] == 0xbc57ac4cu);
  CHECK(out.word[3] == 0x9b00dbd8u);
}

TEST_CASE("views share storage; detach keeps it") {
  Tensor t = arange(0, 6, 1, DType::Float32);
  Tensor v = t.as_strided({2, 3}, {1, 2}, 0);  // a column-major view
  CHECK_FALSE(v.is_contiguous());
  CHECK(to_vector<float>(v) == std::vector<float>{0, 2, 4, 1, 3, 5});
  kernels::fill(v, 7);
  CHECK(to_vector<float>(t) == std::vector<float>(6, 7.0f));
  Tensor e = expand_view(scalar_tensor(2), {2, 2});
  CHECK(e.strides() == Strides{0, 0});
  CHECK(error_of([&] { expand_view(zeros({3}), {2, 2}); }).find("cannot be expanded") != std::string::npos);
}

TEST_CASE("parse_device") {
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("cuda:1") == Device::cuda(1));
  CHECK(error_of([] { parse_device("gpu"); }).find("unknown device 'gpu'") == 0);
}

TEST_CASE("EMBER_NUM_THREADS-style thread settings are validated") {
  CHECK(error_of([] { set_num_threads(0); }).find("at least 1 thread") != std::string::npos);
  set_num_threads(2);
  CHECK(num_threads() == 2);
}
