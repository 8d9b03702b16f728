// See export.h.
#include "apps/learner/export.h"

#include <map>

#include "autograd/elementwise.h"
#include "nn/models/fastai_head.h"
#include "nn/models/resnet.h"
#include "tensor/io/json.h"
#include "tensor/io/safetensors.h"

namespace ember::app {

namespace {

const char* const kSuffix = "-fastai-head";

// torchvision's names of the body's children (create_body(cut=-2) keeps them in this order).
const std::map<std::string, std::string>& body_names() {
  static const std::map<std::string, std::string> names{{"0", "conv1"},  {"1", "bn1"},    {"4", "layer1"},
                                                        {"5", "layer2"}, {"6", "layer3"}, {"7", "layer4"}};
  return names;
}

std::string categories_json(const std::vector<std::string>& categories) {
  std::string out = "[";
  for (size_t i = 0; i < categories.size(); ++i) out += (i ? ", " : "") + json::quote(categories[i]);
  return out + "]";
}

}  // namespace

bool is_fastai_resnet_architecture(const std::string& architecture) {
  const std::string suffix = kSuffix;
  return architecture.size() > suffix.size() &&
         architecture.compare(architecture.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string exported_name(const std::string& model_key) {
  // "<part>.<child>.<rest>": part 0 is the body, 1 the head.
  const size_t first = model_key.find('.');
  const size_t second = first == std::string::npos ? std::string::npos : model_key.find('.', first + 1);
  EMBER_CHECK(second != std::string::npos, "export: '" + model_key + "' is not a key of Sequential(body, head)");
  const std::string part = model_key.substr(0, first), child = model_key.substr(first + 1, second - first - 1);
  const std::string rest = model_key.substr(second);  // ".weight", ".0.conv1.weight", ...
  if (part == "1") return "head." + child + rest;
  auto it = body_names().find(child);
  EMBER_CHECK(part == "0" && it != body_names().end(),
              "export: '" + model_key + "' is not a key of Sequential(ResNet body, fastai head)");
  return it->second + rest;
}

void export_fastai_resnet(const nn::Module& model, const FastaiResnetInfo& info, const std::string& path) {
  std::map<std::string, Tensor> tensors;
  int64_t num_classes = 0;
  for (const auto& [key, t] : model.state_dict()) {
    tensors[exported_name(key)] = to_cpu(t);
    if (key == "1.8.weight") num_classes = t.size(0);  // the head's last Linear (n_out, 512)
  }
  EMBER_CHECK(num_classes > 0, "export: the model has no fastai head (no '1.8.weight')");
  EMBER_CHECK(info.categories.empty() || int64_t(info.categories.size()) == num_classes,
              "export: " + std::to_string(info.categories.size()) + " categories for a head of " +
                  std::to_string(num_classes) + " classes");
  std::map<std::string, std::string> metadata{{"format", "pt"},
                                              {"architecture", info.arch + kSuffix},
                                              {"num_classes", std::to_string(num_classes)},
                                              {"image_size", std::to_string(info.image_size)}};
  if (!info.categories.empty()) metadata["categories"] = categories_json(info.categories);
  save_safetensors(path, tensors, metadata);
}

FastaiResnet load_fastai_resnet(const std::string& path) {
  const SafetensorsFile file = load_safetensors(path);
  auto fail = [&](const std::string& what) { throw Error("'" + path + "': " + what); };
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  const std::string architecture = meta("architecture");
  if (!is_fastai_resnet_architecture(architecture))
    fail("its architecture is '" + architecture + "', expected resnet18-fastai-head or resnet34-fastai-head");
  FastaiResnet out;
  out.info.arch = architecture.substr(0, architecture.size() - std::string(kSuffix).size());
  if (out.info.arch != "resnet18" && out.info.arch != "resnet34") fail("unknown body '" + out.info.arch + "'");

  // The class count from the head's last Linear, under either naming.
  for (const char* key : {"head.8.weight", "1.8.weight"})
    if (auto it = file.tensors.find(key); it != file.tensors.end() && it->second.dim() == 2)
      out.num_classes = it->second.size(0);
  if (out.num_classes <= 0) fail("no fastai head (neither head.8.weight nor 1.8.weight)");
  if (const std::string size = meta("image_size"); !size.empty()) out.info.image_size = std::stoll(size);
  if (const std::string categories = meta("categories"); !categories.empty()) {
    const json::Value list = json::parse(categories);
    for (const json::Value& item : list.as_array()) out.info.categories.push_back(item.as_string());
    if (int64_t(out.info.categories.size()) != out.num_classes)
      fail(std::to_string(out.info.categories.size()) + " categories for " + std::to_string(out.num_classes) +
           " classes");
  }

  auto resnet = out.info.arch == "resnet34" ? nn::resnet34() : nn::resnet18();
  auto body = resnet->body();
  auto head = nn::create_head(512, out.num_classes);
  out.model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, head});

  // Each model key under its exported name or as it is (a checkpoint); optimiser state is skipped.
  nn::StateDict state;
  size_t used = 0, skipped = 0;
  for (const auto& [key, t] : out.model->state_dict()) {
    auto it = file.tensors.find(exported_name(key));
    if (it == file.tensors.end()) it = file.tensors.find(key);
    if (it == file.tensors.end()) continue;  // load_state_dict lists every missing key
    state.emplace_back(key, it->second);
    ++used;
  }
  for (const auto& [name, t] : file.tensors) skipped += name.rfind("optimizer/", 0) == 0 ? 1 : 0;
  if (used + skipped != file.tensors.size())
    fail(std::to_string(file.tensors.size() - used - skipped) + " tensors that a " + architecture +
         " model does not have");
  try {
    out.model->load_state_dict(state);
  } catch (const Error& e) {
    fail(e.what());
  }
  out.model->eval();
  return out;
}

}  // namespace ember::app
