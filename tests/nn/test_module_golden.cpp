// PyTorch modules, exported with their own state_dict key names (tests/golden/make_module_fixtures.py),
// loaded into the same Ember modules: outputs, parameter gradients and printed forms must match.
#include <doctest/doctest.h>

#include "nn/nn.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;

namespace {

const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_modules.safetensors");
  return file;
}

std::shared_ptr<nn::Sequential> make(const std::string& name) {
  using nn::Sequential;
  auto f64 = DType::Float64;
  if (name == "autoencoder")
    return std::make_shared<Sequential>(Sequential::List{std::make_shared<nn::Linear>(4, 2, false, f64),
                                                         std::make_shared<nn::Linear>(2, 4, false, f64)});
  if (name == "classifier")
    return std::make_shared<Sequential>(Sequential::List{std::make_shared<nn::Linear>(2, 16, true, f64),
                                                         std::make_shared<nn::ReLU>(),
                                                         std::make_shared<nn::Linear>(16, 3, true, f64)});
  return std::make_shared<Sequential>(
      Sequential::List{std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(12, 8, true, f64),
                       std::make_shared<nn::Tanh>(), std::make_shared<nn::Dropout>(0.5),
                       std::make_shared<nn::Linear>(8, 5, true, f64), std::make_shared<nn::Sigmoid>(),
                       std::make_shared<nn::Linear>(5, 3, true, f64), std::make_shared<nn::LogSoftmax>(1)});
}

}  // namespace

TEST_CASE("golden modules: PyTorch's state_dict loads by key, and outputs and gradients match") {
  for (const std::string name : {"autoencoder", "classifier", "mlp"}) {
    INFO("model ", name);
    const auto& t = fixtures().tensors;
    auto model = make(name);
    model->eval();
    nn::StateDict state;
    const std::string prefix = name + "/state/";
    for (const auto& [key, value] : t)
      if (key.rfind(prefix, 0) == 0) state.emplace_back(key.substr(prefix.size()), value);
    REQUIRE(!state.empty());
    model->load_state_dict(state);  // strict: every PyTorch key must be an Ember key and back

    Tensor out = (*model)(t.at(name + "/x"));
    CHECK_CLOSE(out, t.at(name + "/out"), 1e-12, 1e-10);
    backward(out, t.at(name + "/gout"));
    for (const auto& [key, p] : model->named_parameters()) {
      INFO("parameter ", key);
      REQUIRE(p.grad().defined());
      CHECK_CLOSE(p.grad(), t.at(name + "/grad/" + key), 1e-12, 1e-10);
    }
    CHECK(model->str() == fixtures().metadata.at(name + "/printed"));
  }
}
