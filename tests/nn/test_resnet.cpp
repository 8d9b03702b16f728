// ResNet18/34 against torchvision's layout (tests/golden/make_resnet_fixtures.py): every
// state_dict key, in order, with its dtype and shape; parameter counts; fastai's body.
#include <doctest/doctest.h>

#include <sstream>

#include "nn/models/resnet.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;

namespace {

const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_resnet_layout.safetensors");
  return file;
}

std::string shape_text(const Shape& shape) {
  std::string text;
  for (int i = 0; i < shape.size(); ++i) {
    if (i) text += 'x';
    text += std::to_string(shape[i]);
  }
  return text;
}

}  // namespace

TEST_CASE("resnet18/34: the same state_dict keys, dtypes and shapes as torchvision, in order") {
  for (const std::string name : {"resnet18", "resnet34"}) {
    INFO("model ", name);
    auto model = name == "resnet18" ? nn::resnet18() : nn::resnet34();
    std::vector<std::string> expected, actual;
    std::stringstream in(fixtures().metadata.at(name + "/state_dict"));
    for (std::string entry; std::getline(in, entry, ';');) expected.push_back(entry);
    for (const auto& [key, value] : model->state_dict())
      actual.push_back(key + " " + dtype_name(value.dtype()) + " " + shape_text(value.shape()));
    REQUIRE(actual.size() == expected.size());
    for (size_t i = 0; i < actual.size(); ++i) CHECK(actual[i] == expected[i]);
    CHECK(model->num_parameters() == std::stoll(fixtures().metadata.at(name + "/parameters")));
    CHECK(model->body()->num_parameters() == std::stoll(fixtures().metadata.at(name + "/body_parameters")));
  }
}

TEST_CASE("resnet34: forward shapes, fastai's body, torchvision's init") {
  manual_seed(3);
  auto model = nn::resnet34(2);
  model->eval();
  Tensor x = randn({1, 3, 64, 64});
  CHECK(model->forward(x).shape() == Shape{1, 2});
  Tensor features = (*model->body())(x);
  CHECK(shape_text(features.shape()) == fixtures().metadata.at("resnet34/body_output_64"));
  // kaiming_normal(fan_out, relu) on conv1: std = sqrt(2 / (64 * 7 * 7))
  auto w = to_vector<float>(model->conv1->weight);
  double s2 = 0;
  for (float v : w) s2 += double(v) * v;
  CHECK(std::sqrt(s2 / w.size()) == doctest::Approx(std::sqrt(2.0 / (64 * 49))).epsilon(0.05));
  CHECK(to_vector<float>(model->layer1->at<nn::BasicBlock>(0).bn1->weight)[0] == 1.0f);
}
