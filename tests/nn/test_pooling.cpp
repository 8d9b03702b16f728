// Pooling (nn/pooling.h): float64 gradchecks of every op (contiguous and not, 4-d and 3-d), the
// golden comparison with PyTorch (tests/data/golden_pooling.safetensors from
// tests/golden/make_pooling_fixtures.py), hand-computed cases for ties and padding, the errors, and
// module printing (strings copied from PyTorch 1.13). Expected values come from PyTorch or from
// hand computation, never from the code under test.
#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <set>

#include "../test_util.h"
#include "autograd/gradcheck.h"
#include "nn/pooling.h"
#include "tensor/io/safetensors.h"

using namespace ember;
using namespace ember::test;
namespace F = ember::nn::functional;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

void check_gradients(const std::string& what, const Fn& f, const Tensor& input) {
  CAPTURE(what);
  GradcheckResult result = gradcheck([&](const std::vector<Tensor>& x) { return f(x[0]); }, {input});
  CHECK_MESSAGE(result.ok, result.message);
}

Tensor doubles(const std::vector<double>& values, const Shape& shape) { return from_vector(values, shape); }

}  // namespace

// ==== gradcheck (float64) ============================================================================

TEST_CASE("gradcheck: max_pool2d and avg_pool2d, overlapping windows, padding, strided and 3-d inputs") {
  manual_seed(31);
  const std::map<std::string, Fn> ops = {
      {"max 3/2/1", [](const Tensor& x) { return F::max_pool2d(x, 3, 2, 1); }},
      {"max 2", [](const Tensor& x) { return F::max_pool2d(x, 2); }},
      {"max (2,3)/(1,2)/(1,0)",
       [](const Tensor& x) {
         return F::max_pool2d(x, {2, 3}, {1, 2}, {1, 0});
       }},
      {"avg 3/2/1", [](const Tensor& x) { return F::avg_pool2d(x, 3, 2, 1); }},
      {"avg 2", [](const Tensor& x) { return F::avg_pool2d(x, 2); }},
      {"avg (2,3)/(1,2)/(1,0)",
       [](const Tensor& x) {
         return F::avg_pool2d(x, {2, 3}, {1, 2}, {1, 0});
       }},
  };
  for (const auto& [name, f] : ops) {
    check_gradients(name + " nchw", f, leaf({2, 2, 7, 6}));
    check_gradients(name + " transposed", f, strided_leaf({2, 2, 6, 7}));
    check_gradients(name + " chw", f, leaf({2, 5, 6}));
  }
}

TEST_CASE("gradcheck: adaptive avg / max / concat pooling, including overlapping bins") {
  manual_seed(32);
  for (nn::PoolSize size : {nn::PoolSize(1), nn::PoolSize(3, 2), nn::PoolSize(5, 4), nn::PoolSize(7, 5)}) {
    const std::map<std::string, Fn> ops = {
        {"adaptive avg", [size](const Tensor& x) { return F::adaptive_avg_pool2d(x, size); }},
        {"adaptive max", [size](const Tensor& x) { return F::adaptive_max_pool2d(x, size); }},
        {"adaptive concat", [size](const Tensor& x) { return F::adaptive_concat_pool2d(x, size); }},
    };
    for (const auto& [name, f] : ops) {
      CAPTURE(size.str());
      check_gradients(name + " nchw", f, leaf({2, 3, 7, 5}));
      check_gradients(name + " transposed", f, strided_leaf({2, 3, 7, 5}));
      check_gradients(name + " chw", f, leaf({3, 7, 5}));
    }
  }
}

// ==== golden comparison with PyTorch =================================================================

namespace {

const SafetensorsFile& pooling_fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_pooling.safetensors");
  return file;
}

// One entry per case of make_pooling_fixtures.py: the same call with Ember's API.
const std::map<std::string, Fn>& golden_pooling() {
  static const std::map<std::string, Fn> cases = {
      {"max_3x3_s2_p1", [](const Tensor& x) { return nn::MaxPool2d(3, 2, 1)(x); }},
      {"max_3x3_s2_p1_f64", [](const Tensor& x) { return F::max_pool2d(x, 3, 2, 1); }},
      {"max_2x2", [](const Tensor& x) { return F::max_pool2d(x, 2); }},
      {"max_2x3_s1x2_p1x0",
       [](const Tensor& x) {
         return F::max_pool2d(x, {2, 3}, {1, 2}, {1, 0});
       }},
      {"max_chw", [](const Tensor& x) { return F::max_pool2d(x, 3, 2, 1); }},
      {"avg_3x3_s2_p1", [](const Tensor& x) { return nn::AvgPool2d(3, 2, 1)(x); }},
      {"avg_2x2", [](const Tensor& x) { return F::avg_pool2d(x, 2); }},
      {"avg_2x3_s1x2_p1x0_f64",
       [](const Tensor& x) {
         return F::avg_pool2d(x, {2, 3}, {1, 2}, {1, 0});
       }},
      {"adaptive_avg_1", [](const Tensor& x) { return nn::AdaptiveAvgPool2d(1)(x); }},
      {"adaptive_avg_3x2",
       [](const Tensor& x) {
         return F::adaptive_avg_pool2d(x, {3, 2});
       }},
      {"adaptive_avg_5x4_chw",
       [](const Tensor& x) {
         return F::adaptive_avg_pool2d(x, {5, 4});
       }},
      {"adaptive_max_1", [](const Tensor& x) { return nn::AdaptiveMaxPool2d(1)(x); }},
      {"adaptive_max_3x2",
       [](const Tensor& x) {
         return F::adaptive_max_pool2d(x, {3, 2});
       }},
      {"adaptive_max_5x4_f64",
       [](const Tensor& x) {
         return F::adaptive_max_pool2d(x, {5, 4});
       }},
      {"concat_1", [](const Tensor& x) { return nn::AdaptiveConcatPool2d()(x); }},
      {"concat_3x2",
       [](const Tensor& x) {
         return F::adaptive_concat_pool2d(x, {3, 2});
       }},
  };
  return cases;
}

std::set<std::string> split_commas(const std::string& text) {
  std::set<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.insert(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

TEST_CASE("golden: every pooling case of the fixture file is known and vice versa") {
  std::set<std::string> known;
  for (const auto& [name, fn] : golden_pooling()) known.insert(name);
  const std::set<std::string> in_file = split_commas(pooling_fixtures().metadata.at("cases"));
  CHECK(in_file == known);
  CHECK(in_file.size() == 16);
}

TEST_CASE("golden: pooling outputs and input gradients match PyTorch") {
  const auto& tensors = pooling_fixtures().tensors;
  for (const auto& [name, fn] : golden_pooling()) {
    CAPTURE(name);
    REQUIRE(tensors.count(name + "/in"));
    Tensor x = clone(tensors.at(name + "/in")).requires_grad_();
    const bool f64 = x.dtype() == DType::Float64;
    const double atol = f64 ? 1e-12 : 1e-6, rtol = f64 ? 1e-12 : 1e-5;
    Tensor out = fn(x);
    CHECK(out.dtype() == x.dtype());
    CHECK_CLOSE(out, tensors.at(name + "/out"), atol, rtol);
    backward(out, tensors.at(name + "/gout"));
    REQUIRE(x.grad().defined());
    CHECK_CLOSE(x.grad(), tensors.at(name + "/grad"), atol, rtol);
  }
}

// ==== hand-computed cases ============================================================================

TEST_CASE("max_pool2d: ties go to the first maximum; padding never wins; avg counts padding as zeros") {
  // One 2x2 window of equal values: all of the gradient goes to the first (top-left) one.
  Tensor x = doubles({5, 5, 5, 5}, Shape{1, 1, 2, 2}).requires_grad_();
  Tensor y = F::max_pool2d(x, 2);
  CHECK_CLOSE(y, doubles({5}, Shape{1, 1, 1, 1}), 0, 0);
  backward(sum(y));
  CHECK_CLOSE(x.grad(), doubles({1, 0, 0, 0}, Shape{1, 1, 2, 2}), 0, 0);

  // All negative with padding 1: the padding (-inf) never wins, so the corners see the image.
  //   x = [[-1, -2], [-3, -4]], kernel 3, stride 1, padding 1: every window covers the whole image
  Tensor neg = doubles({-1, -2, -3, -4}, Shape{1, 1, 2, 2});
  CHECK_CLOSE(F::max_pool2d(neg, 3, 1, 1), doubles({-1, -1, -1, -1}, Shape{1, 1, 2, 2}), 0, 0);

  // avg with padding: window at the corner sees 4 of its 9 cells, divided by 9 all the same.
  //   x = 1..9 (3x3), kernel 3, stride 2, padding 1 -> 2x2 windows centred on (0,0),(0,2),(2,0),(2,2)
  Tensor nine = doubles({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{1, 3, 3});
  CHECK_CLOSE(F::avg_pool2d(nine, 3, 2, 1),
              doubles({(1 + 2 + 4 + 5) / 9.0, (2 + 3 + 5 + 6) / 9.0, (4 + 5 + 7 + 8) / 9.0, (5 + 6 + 8 + 9) / 9.0},
                      Shape{1, 2, 2}),
              1e-15, 1e-15);

  // adaptive bins of 5 -> 3: rows [0,2), [1,4), [3,5) (floor(i*5/3) .. ceil((i+1)*5/3))
  Tensor row = doubles({1, 2, 3, 4, 5}, Shape{1, 1, 5});
  CHECK_CLOSE(F::adaptive_avg_pool2d(row, {1, 3}), doubles({1.5, 3, 4.5}, Shape{1, 1, 3}), 1e-15, 1e-15);
  CHECK_CLOSE(F::adaptive_max_pool2d(row, {1, 3}), doubles({2, 4, 5}, Shape{1, 1, 3}), 0, 0);
  // concat: max first, then avg, along the channels (dim 0 for a 3-d input)
  CHECK_CLOSE(F::adaptive_concat_pool2d(row), doubles({5, 3}, Shape{2, 1, 1}), 1e-15, 1e-15);
}

TEST_CASE("pooling keeps float32 and gives the expected shapes") {
  Tensor x = randn({2, 64, 112, 112});
  Tensor y = F::max_pool2d(x, 3, 2, 1);
  CHECK(y.shape() == Shape{2, 64, 56, 56});
  CHECK(y.dtype() == DType::Float32);
  CHECK(F::adaptive_concat_pool2d(y).shape() == Shape{2, 128, 1, 1});
  CHECK(F::avg_pool2d(randn({3, 10, 9}), {3, 2}).shape() == Shape{3, 3, 4});
}

// ==== errors =========================================================================================

TEST_CASE("pooling: errors name the bad argument or shape") {
  Tensor x = randn({1, 2, 5, 5});
  check_throws([&] { F::max_pool2d(x, 0); }, {"max_pool2d", "kernel_size should be greater than zero", "0"});
  check_throws([&] { F::max_pool2d(x, {2, 0}); }, {"kernel_size=(2, 0)"});
  check_throws([&] { F::avg_pool2d(x, 2, 0); }, {"avg_pool2d", "stride should be greater than zero", "stride=0"});
  check_throws([&] { F::max_pool2d(x, 2, 2, 2); },
               {"pad should be at most half of kernel size", "pad=2", "kernel_size=2"});
  check_throws([&] { F::avg_pool2d(x, 3, 1, -1); }, {"padding must be non-negative"});
  check_throws([&] { F::max_pool2d(x, 7); }, {"max_pool2d", "smaller than the kernel", "[1, 2, 5, 5]"});
  check_throws(
      [&] {
        F::max_pool2d(randn({2, 5, 5, 1, 1}), 2);
      },
      {"max_pool2d", "expected a 3-d (C,H,W) or 4-d (N,C,H,W) input", "5-d", "[2, 5, 5, 1, 1]"});
  check_throws([&] { F::adaptive_avg_pool2d(randn({5, 5}), 1); }, {"adaptive_avg_pool2d", "2-d", "[5, 5]"});
  check_throws(
      [&] {
        F::adaptive_max_pool2d(x, {0, 1});
      },
      {"adaptive_max_pool2d", "output_size should be greater than zero", "(0, 1)"});
  check_throws(
      [&] {
        F::adaptive_avg_pool2d(from_vector(std::vector<int64_t>{1, 2, 3, 4}, Shape{1, 1, 2, 2}), 1);
      },
      {"adaptive_avg_pool2d", "float32 or float64", "int64"});
  check_throws([&] { nn::MaxPool2d(3, 2, 2); }, {"MaxPool2d", "pad should be at most half of kernel size"});
}

// ==== printing =======================================================================================

TEST_CASE("pooling modules print as PyTorch 1.13 prints them") {
  CHECK(nn::MaxPool2d(3, 2, 1).str() == "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
  CHECK(nn::MaxPool2d(2).str() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(nn::MaxPool2d(nn::PoolSize(2, 3)).str() ==
        "MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)");
  CHECK(nn::MaxPool2d({2, 3}, {1, 2}, {1, 0}).str() ==
        "MaxPool2d(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=1, ceil_mode=False)");
  CHECK(nn::AvgPool2d(3, 2, 1).str() == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  CHECK(nn::AvgPool2d(2).str() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(nn::AvgPool2d({2, 3}, {1, 2}, {1, 0}).str() == "AvgPool2d(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0))");
  CHECK(nn::AdaptiveAvgPool2d(1).str() == "AdaptiveAvgPool2d(output_size=1)");
  CHECK(nn::AdaptiveAvgPool2d({3, 2}).str() == "AdaptiveAvgPool2d(output_size=(3, 2))");
  CHECK(nn::AdaptiveMaxPool2d(1).str() == "AdaptiveMaxPool2d(output_size=1)");
  CHECK(nn::AdaptiveMaxPool2d({3, 2}).str() == "AdaptiveMaxPool2d(output_size=(3, 2))");
  // fastai prints this layer with children ap/mp; Ember's has none (see nn/pooling.h)
  CHECK(nn::AdaptiveConcatPool2d().str() == "AdaptiveConcatPool2d(size=1)");
}
