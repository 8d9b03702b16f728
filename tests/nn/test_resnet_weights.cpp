// load_torchvision_weights (nn/models/resnet_weights.h): a torchvision-named file loads into
// ResNet34 with or without its fc, with or without num_batches_tracked; a file that does not fit
// gives one error listing every missing, unexpected and mis-shaped key.
#include <doctest/doctest.h>

#include <map>

#include "nn/models/resnet_weights.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;

namespace {

// The model's state_dict as a file (torchvision's key names: see test_resnet.cpp), edited by `edit`.
std::string write_weights(const TempDir& dir, nn::ResNet& model,
                          const std::function<void(std::map<std::string, Tensor>&)>& edit = {}) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [key, value] : model.state_dict()) tensors[key] = value;
  if (edit) edit(tensors);
  const std::string path = dir.file("weights.safetensors");
  save_safetensors(path, tensors, {{"categories", "[\"a\", \"b\"]"}});
  return path;
}

bool same_values(const Tensor& a, const Tensor& b) {
  return to_vector<double>(to_dtype(a, DType::Float64)) == to_vector<double>(to_dtype(b, DType::Float64));
}

}  // namespace

TEST_CASE("load_torchvision_weights: everything, fc included, into a model of the same shape") {
  TempDir dir("weights");
  manual_seed(1);
  auto source = nn::resnet34();
  const std::string path = write_weights(dir, *source);
  manual_seed(2);
  auto model = nn::resnet34();
  CHECK_FALSE(same_values(model->conv1->weight, source->conv1->weight));
  auto report = nn::load_torchvision_weights(*model, path);
  CHECK(report.fc_loaded);
  CHECK(report.loaded == int64_t(source->state_dict().size()));
  CHECK(report.metadata.at("categories") == "[\"a\", \"b\"]");
  auto theirs = source->state_dict();
  auto mine = model->state_dict();
  REQUIRE(mine.size() == theirs.size());
  for (size_t i = 0; i < mine.size(); ++i) {
    INFO(mine[i].first);
    CHECK(same_values(mine[i].second, theirs[i].second));
  }
}

TEST_CASE("load_torchvision_weights: a replaced head keeps its fc; no num_batches_tracked is fine") {
  TempDir dir("weights_head");
  manual_seed(1);
  auto source = nn::resnet34();
  const std::string path = write_weights(dir, *source, [](std::map<std::string, Tensor>& tensors) {
    for (auto it = tensors.begin(); it != tensors.end();)
      it = it->first.find("num_batches_tracked") != std::string::npos ? tensors.erase(it) : std::next(it);
  });
  auto model = nn::resnet34(2);
  Tensor fc_before = clone(model->fc->weight);
  auto report = nn::load_torchvision_weights(*model, path);
  CHECK_FALSE(report.fc_loaded);
  CHECK(report.fc_note.find("[1000, 512]") != std::string::npos);
  CHECK(report.fc_note.find("[2, 512]") != std::string::npos);
  CHECK(same_values(model->fc->weight, fc_before));
  CHECK(same_values(model->layer4->at<nn::BasicBlock>(2).bn2->running_var,
                    source->layer4->at<nn::BasicBlock>(2).bn2->running_var));
  CHECK(model->bn1->num_batches_tracked.item() == 0);
}

TEST_CASE("load_torchvision_weights: a file that does not fit lists every problem and loads nothing") {
  TempDir dir("weights_bad");
  manual_seed(1);
  auto source = nn::resnet34();
  const std::string path = write_weights(dir, *source, [](std::map<std::string, Tensor>& tensors) {
    tensors.erase("layer1.0.conv1.weight");
    tensors["head.weight"] = zeros({3});
    tensors["layer2.0.bn1.bias"] = zeros({7});
    tensors["bn1.running_mean"] = zeros({64}, DType::Int64);
  });
  auto model = nn::resnet34();
  Tensor before = clone(model->conv1->weight);
  check_throws(
      [&] { nn::load_torchvision_weights(*model, path); },
      {"weights.safetensors", "missing keys (1): \"layer1.0.conv1.weight\"", "unexpected keys (1): \"head.weight\"",
       "layer2.0.bn1.bias: the file has [7], the model needs [128]", "bn1.running_mean: the file has int64"});
  CHECK(same_values(model->conv1->weight, before));
  check_throws([&] { nn::load_torchvision_weights(*model, dir.file("nothing.safetensors")); }, {"nothing.safetensors"});
}
