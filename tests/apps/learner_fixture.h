// What the Learner tests share: a tiny two-class image folder (16x16 PNGs written with save_png),
// its loaders, and a tiny model of the Learner's shape, Sequential(body, head), with a conv bias,
// a BatchNorm and a Dropout, in two param groups (body, head).
#pragma once
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "apps/learner/learner.h"
#include "nn/batch_norm.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/pooling.h"
#include "nn/sequential.h"
#include "tensor/random.h"
#include "tests/test_util.h"
#include "vision/data_loader.h"
#include "vision/folder_dataset.h"
#include "vision/image.h"

namespace ember::test {

// <root>/{train,test}/{dark,light}/<n>.png: "dark" images are mostly blue, "light" mostly red, with
// a per-image pattern so that no two are alike. 8 + 8 train images, 4 + 4 test images.
inline void write_two_class_folder(const std::filesystem::path& root) {
  for (const char* split : {"train", "test"}) {
    const int count = std::string(split) == "train" ? 8 : 4;
    for (int label = 0; label < 2; ++label) {
      const std::filesystem::path folder = root / split / (label == 0 ? "dark" : "light");
      std::filesystem::create_directories(folder);
      for (int n = 0; n < count; ++n) {
        vision::Image image(16, 16);
        for (int64_t y = 0; y < 16; ++y)
          for (int64_t x = 0; x < 16; ++x) {
            const int wiggle = int((x * 7 + y * 13 + n * 29 + (split[1] == 'e' ? 5 : 0)) % 64);
            image.at(y, x, 0) = uint8_t(label == 1 ? 150 + wiggle : 40 + wiggle);
            image.at(y, x, 1) = uint8_t(60 + (wiggle * 3) % 64);
            image.at(y, x, 2) = uint8_t(label == 0 ? 150 + wiggle : 40 + wiggle);
          }
        vision::save_png(image, (folder / (std::to_string(n) + ".png")).string());
      }
    }
  }
}

struct TinyData {
  TempDir dir{"learner_data"};
  vision::FolderDataset data;
  vision::DataLoader train, valid;
  static vision::LoaderOptions train_options() {
    vision::LoaderOptions o = vision::train_loader_options(/*size=*/16, /*batch_size=*/4, /*seed=*/7);
    o.workers = 0;
    return o;
  }
  static vision::LoaderOptions valid_options() {
    vision::LoaderOptions o = vision::valid_loader_options(16, 4);
    o.workers = 0;
    return o;
  }
  static vision::FolderDataset written(const std::filesystem::path& root) {
    write_two_class_folder(root);
    return vision::FolderDataset::from_folder(root.string());
  }
  TinyData() : data(written(dir.path)), train(data.train, train_options()), valid(data.valid, valid_options()) {}
};

struct TinyModel {
  std::shared_ptr<nn::Sequential> body, head, model;
  std::vector<std::vector<Tensor>> groups;
  // conv (with bias) -> BN -> ReLU | avg pool -> flatten -> dropout -> linear (with bias)
  explicit TinyModel(uint64_t seed, int64_t channels = 4) {
    manual_seed(seed);
    body = std::make_shared<nn::Sequential>(nn::Sequential::List{std::make_shared<nn::Conv2d>(3, channels, 3, 1, 1),
                                                                 std::make_shared<nn::BatchNorm2d>(channels),
                                                                 std::make_shared<nn::ReLU>()});
    head = std::make_shared<nn::Sequential>(
        nn::Sequential::List{std::make_shared<nn::AdaptiveAvgPool2d>(1), std::make_shared<nn::Flatten>(),
                             std::make_shared<nn::Dropout>(0.25), std::make_shared<nn::Linear>(channels, 2)});
    model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, head});
    groups = {body->parameters(), head->parameters()};
  }
};

// Learner options without progress bars or the epoch table: the tests read the rows instead.
inline app::LearnerOptions quiet_learner_options() {
  app::LearnerOptions o;
  o.progress = false;
  o.table = nullptr;
  return o;
}

// The named tensor of a state_dict (an error when absent).
inline Tensor named(const nn::StateDict& state, const std::string& name) {
  for (const auto& [key, t] : state)
    if (key == name) return t;
  FAIL("no tensor named " << name);
  return {};
}

// Whether two tensors hold the same bits (same shape, dtype, and every byte).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = contiguous(to_cpu(a)), cb = contiguous(to_cpu(b));
  return std::memcmp(ca.raw_data(), cb.raw_data(), size_t(ca.numel()) * dtype_size(ca.dtype())) == 0;
}

// A deep copy of a state_dict (the tensors, not handles to the model's).
inline nn::StateDict snapshot(const nn::Module& model) {
  nn::StateDict out;
  for (const auto& [name, t] : model.state_dict()) out.emplace_back(name, clone(t));
  return out;
}

}  // namespace ember::test
