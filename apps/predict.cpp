// `ember predict`: classify images with a ResNet and torchvision-named weights.
//
//   ember predict --weights resnet34.safetensors cat.jpg dog.png
//   ember predict --weights resnet34.safetensors --top 3 --json cat.jpg
//
// Each image (any size, any format load_image reads) goes through torchvision's ImageNet evaluation
// transform (Resize(256), CenterCrop(224), ToTensor, Normalize; vision/transforms.h) into the model
// in eval mode; the softmax's top classes are printed with their probabilities. With --json each
// image is one JSON line holding the top classes and every raw logit.
//
// The architecture (resnet18 or resnet34) and the class count come from the weights file (its
// "architecture" metadata or its keys, and fc.weight's shape); the class names from --labels (one
// per line), else the file's "categories" metadata (a JSON list of strings, as the export script
// writes it), else "class <index>".
//
// A model trained by the exercise 1 Learner (architecture "resnet34-fastai-head": an export or a
// Learner checkpoint, apps/learner/export.h) is a ResNet body with fastai's head; its images go
// through fastai's validation transform instead: Resize(image_size) as a centre crop, /255, Normalize.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "apps/commands.h"
#include "apps/common/cli.h"
#include "apps/common/results.h"
#include "apps/common/text.h"
#include "apps/learner/export.h"
#include "autograd/grad_mode.h"
#include "autograd/views.h"
#include "nn/models/resnet_weights.h"
#include "tensor/creation.h"
#include "tensor/io/file.h"
#include "tensor/io/json.h"
#include "tensor/io/safetensors.h"
#include "vision/augment.h"
#include "vision/transforms.h"

namespace ember::app {

namespace {

// A JSON list of strings, e.g. the "categories" metadata: ["tench", "goldfish", ...].
std::vector<std::string> parse_string_array(const std::string& text, const std::string& source) {
  try {
    const json::Value list = json::parse(text);  // kept alive while its items are read
    std::vector<std::string> out;
    for (const json::Value& item : list.as_array()) out.push_back(item.as_string());
    return out;
  } catch (const Error& e) {
    throw Error(source + ": expected a JSON list of strings: " + e.what());
  }
}

std::vector<std::string> read_labels(const std::string& path) {
  std::vector<std::string> labels;
  std::istringstream in(read_file(path, "--labels"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  return labels;
}

// resnet18 or resnet34, from the metadata or from how many blocks layer3 has (2 or 6).
std::string architecture_of(const SafetensorsFile& file, const std::string& path) {
  if (auto it = file.metadata.find("architecture"); it != file.metadata.end()) return it->second;
  if (file.tensors.count("layer3.5.conv1.weight")) return "resnet34";
  if (file.tensors.count("layer3.1.conv1.weight")) return "resnet18";
  throw Error("'" + path + "' holds neither torchvision resnet18 nor resnet34 weights (no layer3.1/layer3.5 keys); " +
              "pass --arch if its keys are right");
}

}  // namespace

int run_predict(int argc, char** argv) {
  Cli cli("ember predict", "Classify images with a ResNet and torchvision-named safetensors weights.");
  std::string weights, arch, labels_path, device_name = "cpu";
  int64_t top = 5;
  bool json = false;
  std::vector<std::string> images;
  cli.option("--weights", &weights, "the safetensors file (torchvision's key names); required");
  cli.option("--arch", &arch, "resnet18, resnet34 or resnet34-fastai-head (default: from the file)");
  cli.option("--labels", &labels_path, "class names, one per line (default: the file's categories metadata)");
  cli.option("--top", &top, "how many classes to show per image", 1);
  cli.option("--device", &device_name, "cpu or cuda[:N]");
  cli.flag("--json", &json, "one JSON line per image: the top classes and every raw logit");
  cli.positional("IMAGE", &images, "image files (JPEG, PNG, BMP, GIF, ...; any size)");
  if (!cli.parse(argc, argv)) return cli.exit_code();
  if (weights.empty()) {
    std::fprintf(stderr, "ember predict: --weights FILE is required (see --help)\n");
    return 2;
  }
  try {
    const Device device = parse_device(device_name);
    const SafetensorsFile file = load_safetensors(weights);
    if (arch.empty()) arch = architecture_of(file, weights);
    const bool fastai = is_fastai_resnet_architecture(arch);
    EMBER_CHECK(
        fastai || arch == "resnet18" || arch == "resnet34",
        "--arch: expected resnet18 or resnet34 (or resnet34-fastai-head, a Learner's model), got '" + arch + "'");
    std::shared_ptr<nn::Module> model;
    int64_t num_classes = 0, fastai_size = 0;
    if (fastai) {  // a Learner's export or checkpoint: ResNet body + fastai head
      FastaiResnet loaded = load_fastai_resnet(weights);
      model = loaded.model, num_classes = loaded.num_classes, fastai_size = loaded.info.image_size;
    } else {
      auto fc = file.tensors.find("fc.weight");
      EMBER_CHECK(fc != file.tensors.end() && fc->second.dim() == 2,
                  "'" + weights + "' has no fc.weight (num_classes, 512): predict needs the classifier too");
      num_classes = fc->second.size(0);
      auto resnet = arch == "resnet18" ? nn::resnet18(num_classes) : nn::resnet34(num_classes);
      nn::load_torchvision_weights(*resnet, weights);
      model = resnet;
    }

    std::vector<std::string> labels;
    if (!labels_path.empty()) {
      labels = read_labels(labels_path);
    } else if (auto it = file.metadata.find("categories"); it != file.metadata.end()) {
      labels = parse_string_array(it->second, "'" + weights + "' metadata \"categories\"");
    }
    EMBER_CHECK(labels.empty() || int64_t(labels.size()) == num_classes,
                "the class names (" + std::to_string(labels.size()) + ", from " +
                    (labels_path.empty() ? "the weights' metadata" : labels_path) + ") do not match the " +
                    std::to_string(num_classes) + " classes of '" + weights + "'");
    auto label_of = [&](int64_t index) { return labels.empty() ? "class " + std::to_string(index) : labels[index]; };

    model->to(device);
    model->eval();
    NoGradGuard no_grad;
    top = std::min(top, num_classes);
    for (const std::string& path : images) {
      const vision::Image image = vision::load_image(path);
      Tensor x;
      if (fastai) {  // fastai's valid transform: Resize(size) as a centre crop, /255, Normalize
        const vision::Image crop = vision::resize_crop(image, fastai_size, fastai_size);
        x = reshape(vision::normalize(vision::image_to_tensor(crop)), {1, 3, fastai_size, fastai_size});
      } else {
        x = vision::imagenet_eval_input(image);
      }
      x = to(x, device);
      const std::vector<float> logits = to_vector<float>(to_cpu((*model)(x)));
      // softmax in double: p_k = exp(z_k - max z) / sum_j exp(z_j - max z)
      const double largest = *std::max_element(logits.begin(), logits.end());
      std::vector<double> p(logits.size());
      double total = 0;
      for (size_t k = 0; k < p.size(); ++k) total += p[k] = std::exp(double(logits[k]) - largest);
      for (double& value : p) value /= total;
      std::vector<int64_t> order(p.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
      order.resize(size_t(top));
      if (json) {
        std::vector<JsonObject> best;
        for (int64_t k : order)
          best.push_back(JsonObject().set("index", k).set("label", label_of(k)).set("probability", p[k]));
        const std::vector<double> raw(logits.begin(), logits.end());
        std::string line = JsonObject().set("image", path).set("arch", arch).set("top", best).set("logits", raw).str();
        line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());
        std::printf("%s\n", line.c_str());
      } else {
        std::printf("%s\n", path.c_str());
        for (size_t r = 0; r < order.size(); ++r)
          std::printf("  %zu. %6.2f%%  %s (%lld)\n", r + 1, 100 * p[order[r]], label_of(order[r]).c_str(),
                      static_cast<long long>(order[r]));
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember predict: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace ember::app
