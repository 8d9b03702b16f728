// ember_ex1 end to end on tiny folders: what it writes, and its bad input (one class, a test label
// the train split lacks, weights of another architecture, a corrupted checkpoint): one clear line on
// stderr, exit status 1, and nothing good lost.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "nn/models/resnet.h"
#include "tensor/io/file.h"
#include "tensor/io/json.h"
#include "tensor/io/safetensors.h"
#include "tests/apps/learner_fixture.h"
#include "tests/apps/run_command.h"

namespace fs = std::filesystem;
using namespace ember;
using ember::test::contains;
using ember::test::TempDir;

namespace {

// ember_ex1 on `data` with the smallest settings that still run every step.
test::CommandOutput run_ex1(const fs::path& data, const fs::path& out, const std::string& extra = "") {
  return test::run_command(std::string(EMBER_EX1_PATH) + " --data " + data.string() + " --size 32 --epochs 1 --out " +
                           out.string() + " " + extra);
}

}  // namespace

TEST_CASE("ember_ex1 on a folder: every figure, the report, results.json and a checkpoint predict can read") {
  TempDir dir("ex1_app");
  test::write_two_class_folder(dir.path / "images");
  const auto r = run_ex1(dir.path / "images", dir.path / "out");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  for (const char* file : {"show_batch.png", "results.png", "confusion.png", "top_losses.png", "grad_cam.png",
                           "cam.png", "report.html", "results.json", "model.safetensors", "cam_model.safetensors"})
    CHECK_MESSAGE(fs::exists(dir.path / "out" / file), file);
  const json::Value results = json::parse(read_file((dir.path / "out" / "results.json").string(), "test"));
  REQUIRE(results.find("vocab") != nullptr);
  CHECK(results.find("vocab")->as_array().size() == 2);
  // fine_tune(1): one frozen epoch + one unfrozen epoch
  REQUIRE(results.find("fine_tune") != nullptr);
  CHECK(results.find("fine_tune")->find("accuracy")->as_array().size() == 2);
  // The confusion matrix counts every test image once (4 + 4).
  double total = 0;
  const json::Value* cm = results.find("confusion_matrix");
  REQUIRE(cm != nullptr);
  for (const json::Value& row : cm->as_array())
    for (const json::Value& count : row.as_array()) total += count.as_double();
  CHECK(total == 8);
  const auto predict = test::run_ember("predict --weights " + (dir.path / "out" / "model.safetensors").string() +
                                       " --top 1 " + (dir.path / "images" / "test" / "dark" / "0.png").string());
  CHECK_MESSAGE(predict.status == 0, predict.err);
  CHECK((contains(predict.out, "dark") || contains(predict.out, "light")));
}

TEST_CASE("ember_ex1: one class, or a test label the train split lacks, is one clear line and status 1") {
  TempDir dir("ex1_bad_data");
  test::write_two_class_folder(dir.path / "images");
  fs::remove_all(dir.path / "images" / "train" / "light");
  fs::remove_all(dir.path / "images" / "test" / "light");
  auto r = run_ex1(dir.path / "images", dir.path / "out1");
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "exercise 1 needs two or more label folders"), r.err);

  // An empty class folder: the same stop, and the output names the folder.
  fs::create_directories(dir.path / "images" / "train" / "light");
  r = run_ex1(dir.path / "images", dir.path / "out1");
  CHECK(r.status == 1);
  const std::string said = r.out + r.err;
  CHECK_MESSAGE(contains(said, "train/light' has no images"), said);

  TempDir dir2("ex1_unknown_label");
  test::write_two_class_folder(dir2.path / "images");
  fs::create_directories(dir2.path / "images" / "test" / "zebra");
  fs::copy_file(dir2.path / "images" / "test" / "dark" / "0.png", dir2.path / "images" / "test" / "zebra" / "0.png");
  r = run_ex1(dir2.path / "images", dir2.path / "out2");
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "zebra"), r.err);
}

TEST_CASE("ember_ex1: weights of another architecture are refused, naming the file") {
  TempDir dir("ex1_wrong_weights");
  test::write_two_class_folder(dir.path / "images");
  auto resnet18 = nn::resnet18();
  std::map<std::string, Tensor> tensors;
  for (const auto& [key, value] : resnet18->state_dict()) tensors[key] = value;
  const std::string weights = (dir.path / "resnet18.safetensors").string();
  save_safetensors(weights, tensors);
  const auto r = run_ex1(dir.path / "images", dir.path / "out", "--weights " + weights);
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "resnet18.safetensors"), r.err);
  CHECK_FALSE(fs::exists(dir.path / "out" / "model.safetensors"));
}

TEST_CASE("ember_ex1 --freeze-epochs, --lr and --lr-mult reach fine_tune") {
  TempDir dir("ex1_fine_tune_flags");
  test::write_two_class_folder(dir.path / "images");
  const auto r = run_ex1(dir.path / "images", dir.path / "out", "--freeze-epochs 2 --lr 1e-2 --lr-mult 1");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const json::Value results = json::parse(read_file((dir.path / "out" / "results.json").string(), "test"));
  // fine_tune(1, freeze_epochs=2): two frozen epochs + one unfrozen, for both models
  CHECK(results.find("fine_tune")->find("accuracy")->as_array().size() == 3);
  CHECK(results.find("cam_fine_tune")->find("accuracy")->as_array().size() == 3);
  // The report shows the frozen fit's two rows in its first table, fastai's way.
  const std::string report = read_file((dir.path / "out" / "report.html").string(), "test");
  CHECK(contains(report, "fine_tune(1)"));
}

TEST_CASE("ember_ex1 --resume with a corrupted checkpoint stops with its name and leaves it as it was") {
  TempDir dir("ex1_resume");
  test::write_two_class_folder(dir.path / "images");
  const auto first = run_ex1(dir.path / "images", dir.path / "out");
  REQUIRE_MESSAGE(first.status == 0, first.err);
  const fs::path checkpoint = dir.path / "out" / "model.safetensors";
  std::string bytes = read_file(checkpoint.string(), "test");
  bytes.resize(bytes.size() / 2);  // cut in half, as by a full disk outside Ember
  write_file_atomically(checkpoint.string(), bytes, "test");
  const auto r = run_ex1(dir.path / "images", dir.path / "out", "--resume");
  CHECK(r.status == 1);
  CHECK_MESSAGE(contains(r.err, "model.safetensors"), r.err);
  CHECK(read_file(checkpoint.string(), "test") == bytes);
}
