// See resnet_weights.h.
#include "nn/models/resnet_weights.h"

#include <map>
#include <sstream>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "tensor/io/safetensors.h"

namespace ember::nn {

namespace {

bool is_fc_key(const std::string& key) { return key.rfind("fc.", 0) == 0; }
bool is_counter_key(const std::string& key) {
  const std::string suffix = "num_batches_tracked";
  return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TorchvisionWeightsReport load_torchvision_weights(ResNet& model, const std::string& path) {
  SafetensorsFile file = ember::load_safetensors(path);
  TorchvisionWeightsReport report;
  report.metadata = file.metadata;

  // Does the file's fc fit the model's? (Both keys must be there with the model's shapes.)
  const StateDict own = model.state_dict();
  bool fc_fits = true, file_has_fc = false;
  for (const auto& [key, target] : own) {
    if (!is_fc_key(key)) continue;
    auto it = file.tensors.find(key);
    file_has_fc = file_has_fc || it != file.tensors.end();
    fc_fits = fc_fits && it != file.tensors.end() && it->second.shape() == target.shape();
  }
  if (!file_has_fc) {
    report.fc_note = "the file has no fc.weight/fc.bias: fc keeps its initialisation";
  } else if (!fc_fits) {
    const auto it = file.tensors.find("fc.weight");
    report.fc_note = "the file's fc" +
                     (it != file.tensors.end() ? " " + it->second.shape().str() : std::string(" (incomplete)")) +
                     " does not fit the model's fc " + model.fc->weight.shape().str() +
                     " (a replaced head): fc keeps its initialisation";
  }
  report.fc_loaded = file_has_fc && fc_fits;

  // Everything else must match exactly; collect every problem before failing.
  std::vector<std::string> missing, mis_shaped, unexpected, wrong_dtype;
  std::map<std::string, Tensor> known;  // the model's own tensors by key
  StateDict to_load;
  for (const auto& [key, target] : own) {
    known.emplace(key, target);
    if (is_fc_key(key) && !report.fc_loaded) continue;
    auto it = file.tensors.find(key);
    if (it == file.tensors.end()) {
      if (is_counter_key(key)) continue;  // absent in the 2017 files: PyTorch leaves it at 0
      missing.push_back(key);
      continue;
    }
    const Tensor& given = it->second;
    if (given.shape() != target.shape()) {
      mis_shaped.push_back(key + ": the file has " + given.shape().str() + ", the model needs " + target.shape().str());
    } else if (is_floating(target.dtype()) != is_floating(given.dtype())) {
      wrong_dtype.push_back(key + ": the file has " + dtype_name(given.dtype()) + ", the model needs " +
                            dtype_name(target.dtype()));
    } else {
      to_load.emplace_back(key, given);
    }
  }
  for (const auto& [key, tensor] : file.tensors)
    if (!known.count(key)) unexpected.push_back(key);

  if (!missing.empty() || !mis_shaped.empty() || !unexpected.empty() || !wrong_dtype.empty()) {
    std::ostringstream message;
    message << "load_torchvision_weights: '" << path << "' does not fit this " << model.type_name()
            << " (torchvision's key names expected):";
    auto list = [&](const char* what, const std::vector<std::string>& keys, bool quoted) {
      if (keys.empty()) return;
      message << "\n  " << what << " (" << keys.size() << "):";
      for (const auto& key : keys) message << (quoted ? " \"" + key + "\"" : "\n    " + key);
    };
    list("missing keys", missing, true);
    list("unexpected keys", unexpected, true);
    list("shape mismatches", mis_shaped, false);
    list("dtype mismatches", wrong_dtype, false);
    throw Error(message.str());
  }

  NoGradGuard no_grad;
  for (const auto& [key, given] : to_load) {
    Tensor target = known.at(key);  // shares the module's storage
    copy_(target, to(given, target.device()));
  }
  report.loaded = int64_t(to_load.size());
  return report;
}

}  // namespace ember::nn
