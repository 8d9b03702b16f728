// Module, Sequential, the basic layers, init and state_dict / safetensors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/gradcheck.h"
#include "nn/nn.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<nn::Sequential> autoencoder() {  // exercise 3's net: Linear(4,2) -> Linear(2,4), no biases
  return std::make_shared<nn::Sequential>(
      nn::Sequential::List{std::make_shared<nn::Linear>(4, 2, false), std::make_shared<nn::Linear>(2, 4, false)});
}

std::vector<std::string> names(const nn::NamedTensors& list) {
  std::vector<std::string> out;
  for (const auto& [name, t] : list) out.push_back(name);
  return out;
}

// A module with a buffer and a nested child, to check PyTorch's state_dict order.
struct WithBuffer : nn::Module {
  WithBuffer() : Module("WithBuffer") {
    scale = register_parameter("scale", ones({3}));
    count = register_buffer("count", zeros({1}, DType::Int64));
    inner = register_module("inner", std::make_shared<nn::Linear>(3, 2));
  }
  Tensor forward(const Tensor& x) override { return (*inner)(mul(x, scale)); }
  Tensor scale, count;
  std::shared_ptr<nn::Linear> inner;
};

}  // namespace

TEST_CASE("Module: parameters, buffers and children are named and ordered as in PyTorch") {
  auto net = autoencoder();
  CHECK(names(net->named_parameters()) == std::vector<std::string>{"0.weight", "1.weight"});
  CHECK(net->named_parameters(/*recurse=*/false).empty());
  CHECK(net->num_parameters() == 4 * 2 + 2 * 4);
  CHECK(net->parameters()[0].is_same(net->at<nn::Linear>(0).weight));
  for (const auto& p : net->parameters()) CHECK(p.requires_grad());

  WithBuffer m;
  CHECK(names(m.state_dict()) == std::vector<std::string>{"scale", "count", "inner.weight", "inner.bias"});
  CHECK(names(m.named_buffers()) == std::vector<std::string>{"count"});
  std::vector<std::string> module_names;
  for (auto& [name, module] : m.named_modules()) module_names.push_back(name + ":" + module->type_name());
  CHECK(module_names == std::vector<std::string>{":WithBuffer", "inner:Linear"});
}

TEST_CASE("Module: registration errors name the module and the name") {
  struct Bad : nn::Module {
    Bad(int which) : Module("Bad") {
      register_parameter("w", ones({1}));
      if (which == 0) register_parameter("w", ones({1}));
      if (which == 1) register_buffer("a.b", ones({1}));
      if (which == 2) register_parameter("i", zeros({1}, DType::Int64));
    }
    Tensor forward(const Tensor& x) override { return x; }
  };
  check_throws([] { Bad b(0); }, {"Bad", "'w' is already registered"});
  check_throws([] { Bad b(1); }, {"contain no '.'", "a.b"});
  check_throws([] { Bad b(2); }, {"parameter 'i' must be a float tensor", "int64"});
}

TEST_CASE("Module: printed as PyTorch prints it") {
  auto net = autoencoder();
  net->push_back(std::make_shared<nn::Softmax>(1));
  net->push_back(std::make_shared<nn::Dropout>(0.25));
  // print(torch.nn.Sequential(Linear(4,2,bias=False), Linear(2,4,bias=False), Softmax(dim=1), Dropout(0.25)))
  CHECK(net->str() ==
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=2, bias=False)\n"
        "  (1): Linear(in_features=2, out_features=4, bias=False)\n"
        "  (2): Softmax(dim=1)\n"
        "  (3): Dropout(p=0.25, inplace=False)\n"
        ")");
  CHECK(nn::Linear(1, 1).str() == "Linear(in_features=1, out_features=1, bias=True)");
}

TEST_CASE("Sequential: indexing, typed access and forward") {
  manual_seed(1);
  auto net = autoencoder();
  Tensor x = randn({5, 4});
  Tensor z = (*net)[0](x);
  CHECK(z.shape() == Shape{5, 2});
  CHECK_CLOSE((*net)(x), (*net)[-1](z));
  check_throws([&] { (*net)[2]; }, {"index 2 is out of range for 2 modules"});
  check_throws([&] { net->at<nn::ReLU>(0); }, {"module 0 is a Linear"});
}

TEST_CASE("Linear: y = x W^T + b, computed by hand") {
  nn::Linear layer(3, 2);
  {
    NoGradGuard no_grad;
    copy_(layer.weight, from_vector(std::vector<float>{1, 2, 3, -1, 0, 0.5f}, {2, 3}));
    copy_(layer.bias, from_vector(std::vector<float>{0.25f, -2}, {2}));
  }
  Tensor x = from_vector(std::vector<float>{1, 1, 1, 2, 0, -2}, {2, 3});
  // row 0: [1+2+3+0.25, -1+0+0.5-2] ; row 1: [2+0-6+0.25, -2+0-1-2]
  CHECK_CLOSE(layer(x), from_vector(std::vector<float>{6.25f, -2.5f, -3.75f, -5}, {2, 2}));
  check_throws([&] { layer(ones({2, 4})); }, {"input of shape [2, 4]", "weight of shape [2, 3]", "in_features = 3"});
  check_throws([] { nn::Linear(0, 2); }, {"must be positive"});
}

TEST_CASE("Linear: gradcheck of the functional form in float64") {
  Tensor x = strided_leaf({4, 3}), w = leaf({2, 3}), b = leaf({2});
  auto result =
      gradcheck([](const std::vector<Tensor>& v) { return nn::functional::linear(v[0], v[1], v[2]); }, {x, w, b});
  CHECK_MESSAGE(result.ok, result.message);
  Tensor x3 = leaf({2, 3, 3});  // batched input (*, in)
  result = gradcheck([](const std::vector<Tensor>& v) { return nn::functional::linear(v[0], v[1]); }, {x3, w});
  CHECK_MESSAGE(result.ok, result.message);
}

TEST_CASE("Linear: PyTorch's default init is U(-1/sqrt(in), 1/sqrt(in)) for weight and bias") {
  manual_seed(7);
  nn::Linear layer(100, 300);
  const double bound = 0.1;
  auto w = to_vector<float>(layer.weight);
  double sum = 0, sum_sq = 0;
  for (float v : w) {
    CHECK(std::fabs(v) <= bound);
    sum += v;
    sum_sq += v * v;
  }
  const double n = w.size(), mean = sum / n, var = sum_sq / n - mean * mean;
  CHECK(std::fabs(mean) < 0.003);                                  // 3 sigma of the mean: 3 * 0.0577/sqrt(30000)
  CHECK(var == doctest::Approx(bound * bound / 3).epsilon(0.03));  // variance of U(-b, b) is b^2/3
  for (float v : to_vector<float>(layer.bias)) CHECK(std::fabs(v) <= bound);
}

TEST_CASE("init: gains, fans and the spread of each initialiser") {
  CHECK(nn::init::calculate_gain("relu") == doctest::Approx(std::sqrt(2.0)));
  CHECK(nn::init::calculate_gain("leaky_relu", std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3)));
  CHECK(nn::init::calculate_gain("tanh") == doctest::Approx(5.0 / 3));
  check_throws([] { nn::init::calculate_gain("swish"); }, {"unknown nonlinearity 'swish'"});
  Tensor conv = empty({64, 3, 7, 7});
  CHECK(nn::init::fan_in(conv) == 3 * 49);
  CHECK(nn::init::fan_out(conv) == 64 * 49);
  Tensor vec = empty({5});
  check_throws([&] { nn::init::kaiming_normal_(vec); }, {"at least 2 dims", "[5]"});

  manual_seed(3);
  auto stddev_of = [](const Tensor& t) {
    auto v = to_vector<float>(t);
    double s = 0, s2 = 0;
    for (float x : v) s += x, s2 += x * x;
    return std::sqrt(s2 / v.size() - (s / v.size()) * (s / v.size()));
  };
  Tensor w = empty({256, 512});
  nn::init::kaiming_normal_(w, 0, nn::init::FanMode::FanIn, "relu");  // std = sqrt(2/512) = 0.0625
  CHECK(stddev_of(w) == doctest::Approx(0.0625).epsilon(0.02));
  nn::init::kaiming_normal_(w, 0, nn::init::FanMode::FanOut, "relu");  // std = sqrt(2/256)
  CHECK(stddev_of(w) == doctest::Approx(std::sqrt(2.0 / 256)).epsilon(0.02));
  nn::init::xavier_uniform_(w);  // bound sqrt(6/(512+256)), std = bound/sqrt(3)
  const double xavier_bound = std::sqrt(6.0 / 768);
  for (float v : to_vector<float>(w)) REQUIRE(std::fabs(v) <= xavier_bound);
  CHECK(stddev_of(w) == doctest::Approx(xavier_bound / std::sqrt(3.0)).epsilon(0.02));
  nn::init::constant_(w, 0.5);
  CHECK(to_vector<float>(w)[777] == 0.5f);
}

TEST_CASE("Dropout: zeroes about p of the elements in training, scales the rest, identity in eval") {
  manual_seed(11);
  nn::Dropout drop(0.25);
  Tensor x = ones({100000});
  auto y = to_vector<float>(drop(x));
  int64_t zeros_seen = 0;
  for (float v : y) {
    if (v == 0)
      ++zeros_seen;
    else
      REQUIRE(v == doctest::Approx(1 / 0.75));
  }
  CHECK(zeros_seen / 100000.0 == doctest::Approx(0.25).epsilon(0.03));
  drop.eval();
  CHECK(drop(x).is_same(x));
  check_throws([] { nn::Dropout(1.5); }, {"p must be in [0, 1]", "1.5"});
  // The gradient flows through the kept elements only, scaled like the forward.
  Tensor leaf_x = leaf({50});
  auto result = gradcheck(
      [](const std::vector<Tensor>& v) {
        manual_seed(5);  // the same mask on every call
        return nn::functional::dropout(v[0], 0.5, true);
      },
      {leaf_x});
  CHECK_MESSAGE(result.ok, result.message);
}

TEST_CASE("Module: train/eval reach every descendant; zero_grad to none or in place") {
  auto net = std::make_shared<nn::Sequential>(nn::Sequential::List{
      std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::Dropout>(0.5), std::make_shared<nn::ReLU>()});
  net->eval();
  for (auto& [name, m] : net->named_modules()) CHECK_FALSE(m->is_training());
  net->train();
  CHECK((*net)[1].is_training());

  Tensor loss = sum((*net)(ones({3, 2})));
  backward(loss);
  Tensor w = net->at<nn::Linear>(0).weight;
  REQUIRE(w.grad().defined());
  net->zero_grad(/*set_to_none=*/false);
  REQUIRE(w.grad().defined());
  for (float g : to_vector<float>(w.grad())) CHECK(g == 0);
  net->zero_grad();
  CHECK_FALSE(w.grad().defined());
  int visited = 0;
  net->apply([&](nn::Module&) { ++visited; });
  CHECK(visited == 4);
}

TEST_CASE("state_dict: load copies into the same tensors; strict errors list every bad key") {
  manual_seed(2);
  auto a = autoencoder(), b = autoencoder();
  Tensor b_weight = b->at<nn::Linear>(0).weight;  // a handle an optimiser would hold
  b->load_state_dict(a->state_dict());
  CHECK_CLOSE(b_weight, a->at<nn::Linear>(0).weight, 0, 0);
  CHECK(b_weight.requires_grad());

  nn::StateDict partial = {{"0.weight", zeros({2, 4})}, {"extra", zeros({1})}, {"1.weight", zeros({4, 3})}};
  check_throws([&] { b->load_state_dict(partial); },
               {"for Sequential", "unexpected keys (1): \"extra\"",
                "size mismatch for 1.weight: copying a tensor with shape [4, 3]", "current model is [4, 2]"});
  nn::StateDict missing = {{"0.weight", zeros({2, 4})}};
  check_throws([&] { b->load_state_dict(missing); }, {"missing keys (1): \"1.weight\""});
  CHECK(to_vector<float>(b_weight)[0] != 0);  // a failed load changes nothing
  b->load_state_dict(missing, /*strict=*/false);
  CHECK(to_vector<float>(b_weight)[0] == 0);
  // float64 values are cast to the parameter's dtype
  b->load_state_dict({{"0.weight", ones({2, 4}, DType::Float64)}, {"1.weight", ones({4, 2}, DType::Float64)}});
  CHECK(b_weight.dtype() == DType::Float32);
  CHECK(to_vector<float>(b_weight)[3] == 1);
}

TEST_CASE("safetensors: a module round-trips through a file with PyTorch's key names") {
  manual_seed(4);
  TempDir tmp("module_io");
  const fs::path dir = tmp.path;
  WithBuffer m, n;
  {
    NoGradGuard no_grad;
    fill_(m.count, 42);
  }
  nn::save_safetensors(m, (dir / "m.safetensors").string());
  SafetensorsFile file = load_safetensors((dir / "m.safetensors").string());
  CHECK(file.tensors.count("inner.weight") == 1);
  CHECK(file.tensors.count("count") == 1);
  CHECK(file.metadata.at("format") == "pt");
  nn::load_safetensors(n, (dir / "m.safetensors").string());
  CHECK_CLOSE(n.inner->weight, m.inner->weight, 0, 0);
  CHECK(n.count.item() == 42);

  auto other = autoencoder();
  check_throws([&] { nn::load_safetensors(*other, (dir / "m.safetensors").string()); },
               {"missing keys (2)", "unexpected keys (4)", "m.safetensors"});
  check_throws([&] { nn::load_safetensors(*other, (dir / "nope.safetensors").string()); },
               {"nope.safetensors", "No such file"});
}
