// Conv2d: float64 gradchecks over the geometries ResNet uses (and a few it does not), PyTorch's
// outputs and gradients (tests/golden/make_conv_fixtures.py), the module's printing and init,
// and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "autograd/gradcheck.h"
#include "nn/conv.h"
#include "nn/nn.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;
using nn::Size2;

namespace {

const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_conv.safetensors");
  return file;
}

struct Geometry {
  Size2 stride, padding, dilation;
  int64_t groups;
};

Geometry parse_geometry(const std::string& text) {
  std::vector<int64_t> v;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) v.push_back(std::stoll(part));
  REQUIRE(v.size() == 7);
  return {{v[0], v[1]}, {v[2], v[3]}, {v[4], v[5]}, v[6]};
}

}  // namespace

TEST_CASE("conv2d: outputs and gradients match PyTorch in float64 and float32") {
  const auto& t = fixtures().tensors;
  std::stringstream cases(fixtures().metadata.at("cases"));
  int count = 0;
  for (std::string name; std::getline(cases, name, ',');) {
    INFO("case ", name);
    ++count;
    const Geometry g = parse_geometry(fixtures().metadata.at(name + "/geometry"));
    const bool has_bias = t.count(name + "/b") == 1;
    for (DType dtype : {DType::Float64, DType::Float32}) {
      INFO("dtype ", dtype_name(dtype));
      const double tol = dtype == DType::Float64 ? 1e-10 : 1e-4;
      Tensor x = to_dtype(t.at(name + "/x"), dtype).detach().requires_grad_();
      Tensor w = to_dtype(t.at(name + "/w"), dtype).detach().requires_grad_();
      Tensor b = has_bias ? to_dtype(t.at(name + "/b"), dtype).detach().requires_grad_() : Tensor();
      Tensor out = nn::conv2d(x, w, b, g.stride, g.padding, g.dilation, g.groups);
      CHECK_CLOSE(out, t.at(name + "/out"), tol, tol);
      backward(out, to_dtype(t.at(name + "/gout"), dtype));
      CHECK_CLOSE(x.grad(), t.at(name + "/gx"), tol, tol);
      CHECK_CLOSE(w.grad(), t.at(name + "/gw"), tol, tol);
      if (has_bias) CHECK_CLOSE(b.grad(), t.at(name + "/gb"), tol, tol);
    }
  }
  CHECK(count == 8);
}

TEST_CASE("conv2d: float64 gradcheck, including non-contiguous inputs") {
  struct Case {
    Shape x, w;
    bool bias;
    Geometry g;
  };
  const std::vector<Case> table = {
      {{2, 3, 5, 6}, {4, 3, 3, 3}, true, {{1, 1}, {1, 1}, {1, 1}, 1}},
      {{1, 2, 7, 7}, {3, 2, 3, 3}, false, {{2, 2}, {1, 1}, {1, 1}, 1}},
      {{1, 4, 6, 6}, {4, 2, 3, 3}, true, {{1, 2}, {2, 1}, {2, 1}, 2}},
      {{2, 3, 4, 4}, {2, 3, 1, 1}, true, {{1, 1}, {0, 0}, {1, 1}, 1}},   // 1x1: no im2col
      {{1, 3, 6, 6}, {2, 3, 1, 1}, false, {{2, 2}, {0, 0}, {1, 1}, 1}},  // 1x1 stride 2
  };
  for (const auto& c : table) {
    INFO("x ", c.x.str(), " w ", c.w.str());
    std::vector<Tensor> inputs = {leaf(c.x), leaf(c.w)};
    if (c.bias) inputs.push_back(leaf({c.w[0]}));
    auto result = gradcheck(
        [&](const std::vector<Tensor>& v) {
          return nn::conv2d(v[0], v[1], c.bias ? v[2] : Tensor(), c.g.stride, c.g.padding, c.g.dilation, c.g.groups);
        },
        inputs);
    CHECK_MESSAGE(result.ok, result.message);
  }
  // A transposed (non-contiguous) input gives the same result as its contiguous copy.
  Tensor x = strided_leaf({1, 2, 5, 5});
  Tensor w = leaf({3, 2, 3, 3});
  auto result = gradcheck(
      [](const std::vector<Tensor>& v) {
        return nn::conv2d(v[0], v[1], Tensor(), {1, 1}, {1, 1});
      },
      {x, w});
  CHECK_MESSAGE(result.ok, result.message);
}

TEST_CASE("Conv2d: printed as PyTorch prints it, PyTorch's default init, clear errors") {
  CHECK(nn::Conv2d(3, 64, 7, 2, 3, false).str() == fixtures().metadata.at("print/stem"));
  CHECK(nn::Conv2d(64, 64, 3, 1, 1, false).str() == fixtures().metadata.at("print/block"));
  CHECK(nn::Conv2d(4, 6, {3, 3}, {1, 1}, {0, 0}, {2, 2}, 2).str() == fixtures().metadata.at("print/fancy"));

  manual_seed(5);
  nn::Conv2d conv(16, 32, 3);  // fan_in = 16 * 9 = 144: bound 1/12
  for (float v : to_vector<float>(conv.weight)) REQUIRE(std::fabs(v) <= 1.0f / 12);
  for (float v : to_vector<float>(conv.bias)) REQUIRE(std::fabs(v) <= 1.0f / 12);
  CHECK(conv.named_parameters().size() == 2);

  Tensor x = zeros({1, 3, 8, 8});
  check_throws([&] { conv(x); }, {"input [1, 3, 8, 8] has 3 channels", "expects 16"});
  check_throws([&] { nn::conv2d(zeros({3, 8, 8}), conv.weight); }, {"4-d input", "[3, 8, 8]"});
  check_throws(
      [&] {
        nn::conv2d(zeros({1, 16, 2, 2}), conv.weight, Tensor(), {1, 1}, {0, 0});
      },
      {"smaller than the kernel"});
  check_throws([] { nn::Conv2d(3, 8, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 2); }, {"divisible by groups (2)"});
  check_throws(
      [&] {
        nn::conv2d(zeros({1, 16, 8, 8}), conv.weight, Tensor(), {0, 1});
      },
      {"stride and dilation must be >= 1"});
}
