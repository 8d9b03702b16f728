// Loading torchvision's weights into Ember's ResNet, from a safetensors file with torchvision's
// key names (conv1.weight, bn1.running_mean, layer1.0.conv1.weight, ..., fc.weight), such as
// tests/golden/make_resnet34_identity.py --export writes, or any torchvision state_dict saved with
// safetensors.torch.save_file(model.state_dict(), path).
//
//   auto model = nn::resnet34(2);                           // a new 2-class fc
//   auto report = nn::load_torchvision_weights(*model, "resnet34.safetensors");
//   // report.fc_loaded == false: the file's 1000-class fc did not fit and was left out
//
// Rules, as fastai's and PyTorch's loaders behave:
//  - every parameter and buffer of the body (all but fc.*) must be in the file with its shape;
//    float32 and float64 weights are cast to the model's dtype;
//  - num_batches_tracked may be int64 (PyTorch's) or absent (torchvision's original 2017 files have
//    none; it is then 0, as PyTorch sets it);
//  - fc.weight/fc.bias are loaded when they fit the model's fc and skipped when the head was
//    replaced (another class count) or the file has none;
//  - anything missing, extra or mis-shaped is one error that lists every such key and names the file.
#pragma once
#include <map>
#include <string>

#include "nn/models/resnet.h"

namespace ember::nn {

struct TorchvisionWeightsReport {
  int64_t loaded = 0;                           // tensors copied into the model
  bool fc_loaded = false;                       // the file's fc fitted and was loaded
  std::string fc_note;                          // why not, when it was not
  std::map<std::string, std::string> metadata;  // the file's __metadata__ (e.g. "categories")
};

TorchvisionWeightsReport load_torchvision_weights(ResNet& model, const std::string& path);

}  // namespace ember::nn
