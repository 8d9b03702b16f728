// BatchNorm1d / BatchNorm2d: PyTorch's outputs, gradients and running statistics in train and eval
// mode (tests/golden/make_batch_norm_fixtures.py), float64 gradchecks, printing and errors.
#include <doctest/doctest.h>

#include <sstream>

#include "autograd/gradcheck.h"
#include "nn/batch_norm.h"
#include "nn/nn.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;

namespace {

const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_batch_norm.safetensors");
  return file;
}

nn::StateDict state_with_prefix(const std::string& prefix) {
  nn::StateDict state;
  for (const auto& [key, value] : fixtures().tensors)
    if (key.rfind(prefix, 0) == 0) state.emplace_back(key.substr(prefix.size()), value);
  return state;
}

}  // namespace

TEST_CASE("batch norm: outputs, gradients and running statistics match PyTorch") {
  std::stringstream cases(fixtures().metadata.at("cases"));
  int count = 0;
  for (std::string name; std::getline(cases, name, ',');) {
    INFO("case ", name);
    ++count;
    const auto& t = fixtures().tensors;
    const Tensor x_value = t.at(name + "/x");
    const double momentum = std::stod(fixtures().metadata.at(name + "/momentum"));
    std::unique_ptr<nn::BatchNorm> m;
    const int64_t C = x_value.size(1);
    if (x_value.dim() == 4)
      m = std::make_unique<nn::BatchNorm2d>(C, 1e-5, momentum);
    else
      m = std::make_unique<nn::BatchNorm1d>(C, 1e-5, momentum);
    m->load_state_dict(state_with_prefix(name + "/before/"));  // cast to the module's float32
    m->train(fixtures().metadata.at(name + "/train") == "1");
    Tensor x = to_dtype(x_value, DType::Float32).detach().requires_grad_();
    Tensor out = (*m)(x);
    CHECK_CLOSE(out, t.at(name + "/out"), 1e-4, 1e-4);
    backward(out, to_dtype(t.at(name + "/gout"), DType::Float32));
    CHECK_CLOSE(x.grad(), t.at(name + "/gx"), 1e-4, 1e-3);
    CHECK_CLOSE(m->weight.grad(), t.at(name + "/gweight"), 1e-4, 1e-4);
    CHECK_CLOSE(m->bias.grad(), t.at(name + "/gbias"), 1e-4, 1e-4);
    for (const auto& [key, value] : m->state_dict()) {
      INFO("after: ", key);
      CHECK_CLOSE(value, t.at(name + "/after/" + key), 1e-5, 1e-5);
    }
  }
  CHECK(count == 5);
}

TEST_CASE("batch norm: float64 gradcheck in training and eval mode") {
  for (bool training : {true, false}) {
    INFO("training ", training);
    Tensor running_mean = randn({3}, DType::Float64),
           running_var = add(rand({3}, DType::Float64), scalar_tensor(0.5, DType::Float64));
    auto f = [&](const std::vector<Tensor>& v) {
      // running statistics are copied per call so the update of one call does not move the next
      return nn::batch_norm(v[0], clone(running_mean), clone(running_var), v[1], v[2], training);
    };
    auto check = gradcheck(f, {leaf({4, 3, 2, 3}), leaf({3}, 1.0), leaf({3})});
    CHECK_MESSAGE(check.ok, check.message);
    auto check1d = gradcheck(f, {strided_leaf({5, 3}), leaf({3}, 1.0), leaf({3})});
    CHECK_MESSAGE(check1d.ok, check1d.message);
  }
}

TEST_CASE("batch norm: printing, state_dict names, num_batches_tracked and errors") {
  nn::BatchNorm2d bn(64);
  CHECK(bn.str() == "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(nn::BatchNorm1d(512, 1e-5, 0.1, false).str() ==
        "BatchNorm1d(512, eps=1e-05, momentum=0.1, affine=False, track_running_stats=True)");
  std::vector<std::string> keys;
  for (const auto& [key, value] : bn.state_dict()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
  bn(randn({2, 64, 3, 3}));
  bn(randn({2, 64, 3, 3}));
  CHECK(bn.num_batches_tracked.item() == 2);
  CHECK(bn.num_batches_tracked.dtype() == DType::Int64);
  bn.eval();
  bn(randn({1, 64, 1, 1}));  // eval: one value per channel is fine
  CHECK(bn.num_batches_tracked.item() == 2);
  bn.train();
  check_throws([&] { bn(randn({1, 64, 1, 1})); }, {"more than 1 value per channel"});
  check_throws([&] { bn(randn({2, 32, 3, 3})); }, {"expected 64 channels", "[2, 32, 3, 3]"});
  check_throws([&] { bn(randn({2, 64})); }, {"BatchNorm2d: expected a 4-d input"});
  nn::BatchNorm1d bn1(5);
  check_throws([&] { bn1(randn({2, 5, 3, 3})); }, {"BatchNorm1d: expected a 2-d or 3-d input"});
}
