// `ember show-batch` end to end on a small generated folder: the printed summary (counts written
// out by hand from the tree), the PNG's size from fastai's grid rule, reproducibility from --seed,
// a bad file skipped with a warning, and clear errors (exit 1 or 2, one line, no PNG).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tensor/io/file.h"
#include "tests/apps/run_command.h"
#include "tests/test_util.h"
#include "vision/data_loader.h"
#include "vision/image.h"

using namespace ember;
using ember::test::TempDir;
namespace fs = std::filesystem;

namespace {

using Output = ember::test::CommandOutput;
using ember::test::run_ember;

void png(const fs::path& path, int64_t w, int64_t h, int shade) {
  fs::create_directories(path.parent_path());
  vision::Image image(w, h);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t(shade + int(i % 97));
  vision::save_png(image, path.string());
}

// images/train: coat 2, pullover 2 and a broken .jpg in coat; images/test: coat 1, pullover 2.
fs::path make_tree(const TempDir& dir) {
  const fs::path root = dir.path / "images";
  png(root / "train/coat/a.png", 40, 30, 10);
  png(root / "train/coat/b.png", 30, 50, 60);
  png(root / "train/pullover/c.png", 20, 20, 110);
  png(root / "train/pullover/d.png", 70, 35, 160);
  std::ofstream(root / "train/coat/broken.jpg") << "<html>503 Service Unavailable</html>";
  png(root / "test/coat/e.png", 33, 33, 20);
  png(root / "test/pullover/f.png", 25, 40, 70);
  png(root / "test/pullover/g.png", 50, 25, 120);
  return root;
}

std::pair<uint32_t, uint32_t> png_size(const std::string& path) {  // IHDR: big-endian width, height
  const std::string bytes = read_file(path, "test");
  REQUIRE(bytes.size() > 24);
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
           (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("ember show-batch: the dataset summary and a PNG of one training batch") {
  TempDir dir("show_batch_cli");
  const fs::path root = make_tree(dir);
  const std::string png_path = dir.file("batch.png");
  // The broken file is train item 2 (sorted paths); the first batch of four meets it when the
  // shuffle puts it among the first four. Pick such a seed.
  uint64_t seed = 0;
  while (true) {
    const std::vector<int64_t> order = vision::epoch_order(5, true, seed, 0);
    if (std::find(order.begin(), order.begin() + 4, 2) != order.begin() + 4) break;
    ++seed;
  }
  const std::string common = " --size 32 --bs 4 --seed " + std::to_string(seed);
  const Output run = run_ember("show-batch " + root.string() + common + " --workers 2 --out " + png_path);
  INFO("stdout: ", run.out, "\nstderr: ", run.err);
  REQUIRE(run.status == 0);
  CHECK(run.out.find("8 images, 2 classes") != std::string::npos);
  CHECK(run.out.find("train (train/): 5  [coat 3, pullover 2]") != std::string::npos);
  CHECK(run.out.find("valid (test/): 3  [coat 1, pullover 2]") != std::string::npos);
  CHECK(run.out.find("vocab: ['coat', 'pullover']") != std::string::npos);
  CHECK(run.err.find("warning: skipped '" + (root / "train/coat/broken.jpg").string() + "'") != std::string::npos);
  CHECK(run.out.find("wrote " + png_path + ": 4 train images of 32x32") != std::string::npos);
  CHECK(run.out.find("1 unreadable files skipped") != std::string::npos);
  CHECK(png_size(png_path) == std::pair<uint32_t, uint32_t>{600, 600});  // 2 x 2 cells of 300 px

  // The same seed draws the same PNG; --max-n 3 gives fastai's 1 x 3 grid.
  const std::string again = dir.file("again.png"), three = dir.file("three.png");
  REQUIRE(run_ember("show-batch " + root.string() + common + " --workers 0 --out " + again).status == 0);
  CHECK(read_file(again, "test") == read_file(png_path, "test"));
  REQUIRE(run_ember("show-batch " + root.string() + " --size 32 --bs 4 --max-n 3 --out " + three).status == 0);
  CHECK(png_size(three) == std::pair<uint32_t, uint32_t>{900, 300});

  // fastai's default folder name: no valid split here, which is a warning, not an error.
  const Output no_valid =
      run_ember("show-batch " + root.string() + " --valid valid --size 16 --bs 2 --out " + dir.file("v.png"));
  CHECK(no_valid.status == 0);
  CHECK(no_valid.err.find("warning: no images in the valid split") != std::string::npos);
}

TEST_CASE("ember show-batch: bad folders and flags fail with one clear line and write nothing") {
  TempDir dir("show_batch_cli_errors");
  const fs::path root = make_tree(dir);
  const std::string png_path = dir.file("never.png");

  Output missing = run_ember("show-batch " + dir.file("nowhere") + " --out " + png_path);
  CHECK(missing.status == 1);
  CHECK(missing.err.find("ember show-batch: from_folder: the dataset folder '" + dir.file("nowhere") +
                         "' does not exist") != std::string::npos);

  CHECK(run_ember("show-batch --out " + png_path).status == 2);  // no folder
  CHECK(run_ember("show-batch " + root.string() + " " + root.string() + " --out " + png_path).status == 2);
  Output zero = run_ember("show-batch " + root.string() + " --bs 0 --out " + png_path);
  CHECK(zero.status == 2);
  CHECK(zero.err.find("--bs") != std::string::npos);

  // A batch larger than the good train images (4): fastai's drop_last leaves no batch.
  Output too_big = run_ember("show-batch " + root.string() + " --bs 5 --size 16 --out " + png_path);
  CHECK(too_big.status == 1);
  CHECK(too_big.err.find("fewer than one batch") != std::string::npos);

  png(root / "test/scarf/h.png", 10, 10, 0);  // a valid label the train split lacks
  Output unknown = run_ember("show-batch " + root.string() + " --out " + png_path);
  CHECK(unknown.status == 1);
  CHECK(unknown.err.find("label 'scarf'") != std::string::npos);
  CHECK(!fs::exists(png_path));
}
