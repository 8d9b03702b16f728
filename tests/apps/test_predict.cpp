// `ember predict` end to end: a ResNet18 weights file with torchvision's key names and class names
// in its metadata; the printed logits must be the model's own on the same image (computed here in
// the test through the library), and bad input must fail with one clear line.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "nn/models/resnet.h"
#include "tensor/io/file.h"
#include "tensor/io/json.h"
#include "tests/apps/run_command.h"
#include "tests/test_util.h"
#include "vision/transforms.h"

using namespace ember;
using ember::test::TempDir;

namespace {

using Output = ember::test::CommandOutput;
using ember::test::run_ember;

std::string image(const std::string& name) { return std::string(EMBER_TEST_DATA) + "/images/" + name; }

}  // namespace

TEST_CASE("ember predict: the model's logits and top classes, as text and as JSON lines") {
  TempDir dir("predict");
  manual_seed(5);
  auto model = nn::resnet18(4);
  std::map<std::string, Tensor> tensors;
  for (const auto& [key, value] : model->state_dict()) tensors[key] = value;
  const std::string weights = dir.file("r18.safetensors");
  save_safetensors(weights, tensors, {{"categories", R"(["cat", "dog", "caf\u00e9", "pot"])"}});

  model->eval();
  NoGradGuard no_grad;
  const std::vector<float> expected =
      to_vector<float>((*model)(vision::imagenet_eval_input(vision::load_image(image("rgb_97x61.png")))));
  const int64_t best = std::max_element(expected.begin(), expected.end()) - expected.begin();
  const std::vector<std::string> names = {"cat", "dog", "caf\xc3\xa9", "pot"};

  Output json_run = run_ember("predict --weights " + weights + " --top 2 --json " + image("rgb_97x61.png") + " " +
                              image("photo_120x90.jpg"));
  REQUIRE_MESSAGE(json_run.status == 0, json_run.err);
  std::istringstream lines(json_run.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  const json::Value result = json::parse(first);
  CHECK(json::parse(second).find("image")->as_string() == image("photo_120x90.jpg"));
  CHECK(result.find("arch")->as_string() == "resnet18");
  const auto& logits = result.find("logits")->as_array();
  REQUIRE(logits.size() == 4);
  for (size_t k = 0; k < 4; ++k) CHECK(logits[k].as_double() == doctest::Approx(expected[k]).epsilon(1e-6));
  const auto& top = result.find("top")->as_array();
  REQUIRE(top.size() == 2);
  CHECK(top[0].find("index")->as_int() == best);
  CHECK(top[0].find("label")->as_string() == names[size_t(best)]);
  double total = 0, largest = *std::max_element(expected.begin(), expected.end());
  for (float z : expected) total += std::exp(double(z) - largest);
  CHECK(top[0].find("probability")->as_double() == doctest::Approx(1.0 / total).epsilon(1e-5));

  Output text_run = run_ember("predict --weights " + weights + " " + image("rgb_97x61.png"));
  REQUIRE(text_run.status == 0);
  CHECK(text_run.out.find("  1. ") != std::string::npos);
  CHECK(text_run.out.find(names[size_t(best)] + " (" + std::to_string(best) + ")") != std::string::npos);
}

TEST_CASE("ember predict: bad input ends with one clear line and a non-zero status") {
  TempDir dir("predict_bad");
  manual_seed(5);
  auto model = nn::resnet18(3);
  std::map<std::string, Tensor> tensors;
  for (const auto& [key, value] : model->state_dict()) tensors[key] = value;
  const std::string weights = dir.file("r18.safetensors");
  save_safetensors(weights, tensors, {});
  {
    std::ofstream(dir.file("labels.txt")) << "a\nb\n";
    std::ofstream(dir.file("page.jpg")) << "<html></html>";
  }
  struct Case {
    std::string arguments, fragment;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {"predict " + image("rgb_97x61.png"), "--weights FILE is required", 2},
           {"predict --weights " + weights, "expected at least 1 IMAGE", 2},
           {"predict --weights " + weights + " --bogus x.png", "unknown flag '--bogus'", 2},
           {"predict --weights " + dir.file("none.safetensors") + " " + image("rgb_97x61.png"), "none.safetensors", 1},
           {"predict --weights " + weights + " " + dir.file("page.jpg"), "page.jpg", 1},
           {"predict --weights " + weights + " --labels " + dir.file("labels.txt") + " " + image("rgb_97x61.png"),
            "do not match the 3 classes", 1},
           {"predict --weights " + weights + " --arch vgg16 " + image("rgb_97x61.png"), "resnet18 or resnet34", 1},
           {"fly", "unknown command 'fly'", 2},
       }) {
    INFO(c.arguments);
    Output r = run_ember(c.arguments);
    CHECK(r.status == c.status);
    CHECK(r.err.find(c.fragment) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}
