// A trained fastai vision learner's model, Sequential(ResNet body, fastai head), as a weights file
// that `ember predict --weights` reads, and the loader predict uses for it.
//
//   app::export_fastai_resnet(learn.model(), {.arch = "resnet34", .categories = data.vocab,
//                                              .image_size = 224}, "out/ex1/export.safetensors");
//   app::FastaiResnet loaded = app::load_fastai_resnet("out/ex1/export.safetensors");
//   Tensor logits = (*loaded.model)(x);        // x: (N, 3, size, size), normalised
//
// The exported file uses torchvision's names for the body, so any torchvision tool can read it:
//   model key (Sequential)     exported key
//   0.0.weight                 conv1.weight
//   0.1.*                      bn1.*                 (0.2 relu and 0.3 maxpool have no tensors)
//   0.4.* .. 0.7.*             layer1.* .. layer4.*
//   1.<i>.*                    head.<i>.*            (fastai's head, create_head's numbering)
// with the metadata architecture = "<arch>-fastai-head" (e.g. "resnet34-fastai-head"),
// num_classes, categories (the vocab as a JSON list) and image_size (the side of the square
// centre crop the model was validated on: fastai's Resize(size) on the valid set).
//
// load_fastai_resnet reads such an export, or a Learner checkpoint (checkpoint.h) whose
// architecture is "<arch>-fastai-head" (its Sequential key names; its optimiser state is ignored).
// Missing, extra or mis-shaped tensors are one error naming the file.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/sequential.h"

namespace ember::app {

struct FastaiResnetInfo {
  std::string arch = "resnet34";  // the body: resnet18 or resnet34
  std::vector<std::string> categories{};
  int64_t image_size = 224;
};

// "0.4.0.conv1.weight" -> "layer1.0.conv1.weight", "1.8.weight" -> "head.8.weight".
std::string exported_name(const std::string& model_key);

void export_fastai_resnet(const nn::Module& model, const FastaiResnetInfo& info, const std::string& path);

struct FastaiResnet {
  std::shared_ptr<nn::Sequential> model;  // Sequential(body, head), in eval mode
  FastaiResnetInfo info;
  int64_t num_classes = 0;
};
FastaiResnet load_fastai_resnet(const std::string& path);

// Whether a weights file's architecture metadata names such a model ("resnet34-fastai-head").
bool is_fastai_resnet_architecture(const std::string& architecture);

}  // namespace ember::app
