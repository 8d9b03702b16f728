// `ember verify` and `ember data` end to end: what they print, their exit statuses (0 done, 1 bad
// files remain or data missing, 2 usage), and what is left on disk.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tensor/io/file.h"
#include "tests/apps/run_command.h"
#include "tests/test_util.h"
#include "vision/image.h"
#include "vision/image_manifest.h"

using namespace ember;
using ember::test::contains;
using ember::test::TempDir;
namespace fs = std::filesystem;

namespace {

using Output = ember::test::CommandOutput;
using ember::test::run_ember;

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

int64_t count_png(const fs::path& folder) {
  int64_t n = 0;
  if (fs::exists(folder))
    for (const auto& entry : fs::directory_iterator(folder)) n += entry.path().extension() == ".png";
  return n;
}

}  // namespace

TEST_CASE("ember verify: lists bad files (exit 1), --delete removes only them (exit 0), --quarantine moves them") {
  TempDir dir("verify_cli");
  const fs::path root = dir.path / "images";
  fs::create_directories(root / "train/cat");
  fs::create_directories(root / "test/cat");
  vision::Image picture(5, 4);
  picture.pixels.assign(picture.pixels.size(), 77);
  vision::save_png(picture, (root / "train/cat/good.png").string());
  vision::save_png(picture, (root / "test/cat/good2.png").string());
  const std::string good = read_file((root / "train/cat/good.png").string(), "t");
  write(root / "train/cat/empty.jpg", "");
  write(root / "test/dog/page.jpg", "<!DOCTYPE html><html></html>");
  write(root / "test/dog/cut.png", good.substr(0, good.size() / 2));

  const Output listed = run_ember("verify " + root.string() + " --workers 2");
  CHECK(listed.status == 1);
  CHECK(contains(listed.out, (root / "train/cat/empty.jpg").string() + ": the file is empty"));
  CHECK(contains(listed.out, (root / "test/dog/page.jpg").string() + ": an HTML page"));
  CHECK(contains(listed.out, (root / "test/dog/cut.png").string() + ": truncated"));
  CHECK(contains(listed.out, "3 of 5 images do not decode"));
  CHECK(fs::exists(root / "train/cat/empty.jpg"));  // listing deletes nothing

  const fs::path quarantine = dir.path / "bad";
  const Output moved = run_ember("verify " + root.string() + " --quarantine " + quarantine.string());
  CHECK(moved.status == 0);
  CHECK(contains(moved.out, "moved 3 files to " + quarantine.string()));
  CHECK(fs::exists(quarantine / "test/dog/page.jpg"));
  CHECK_FALSE(fs::exists(root / "test/dog/page.jpg"));
  CHECK(read_file((root / "train/cat/good.png").string(), "t") == good);

  write(root / "train/cat/again.jpg", "junk");
  const Output deleted = run_ember("verify " + root.string() + " --delete");
  CHECK(deleted.status == 0);
  CHECK(contains(deleted.out, "1 of 3 images do not decode"));
  CHECK(contains(deleted.out, "deleted 1 files"));
  CHECK_FALSE(fs::exists(root / "train/cat/again.jpg"));
  CHECK(fs::exists(root / "test/cat/good2.png"));

  const Output clean = run_ember("verify " + root.string());
  CHECK(clean.status == 0);
  CHECK(contains(clean.out, "0 of 2 images do not decode"));
}

TEST_CASE("ember verify: usage errors exit 2 with one clear line") {
  TempDir dir("verify_cli_usage");
  CHECK(run_ember("verify").status == 2);
  const Output missing = run_ember("verify " + dir.file("nope"));
  CHECK(missing.status == 2);
  CHECK(contains(missing.err, "is not a folder"));
  CHECK(run_ember("verify " + dir.path.string() + " --frobnicate").status == 2);
  write(dir.path / "x.jpg", "");
  const Output refused = run_ember("verify " + dir.path.string() + " --quarantine " + dir.file("q"));
  CHECK(refused.status == 2);
  CHECK(contains(refused.err, "inside"));
  CHECK(fs::exists(dir.path / "x.jpg"));
  CHECK(run_ember("verify --help").status == 0);
}

TEST_CASE("ember data shapes: the crawl layout with boxes.csv; bad flags exit 2") {
  TempDir dir("data_shapes_cli");
  const std::string out = dir.file("images");
  const Output made = run_ember("data shapes --train 2 --test 1 --size 32 --seed 3 --out " + out);
  REQUIRE_MESSAGE(made.status == 0, made.err);
  CHECK(contains(made.out, "wrote 6 images"));
  for (const char* folder : {"train/circle", "train/square", "test/circle", "test/square"}) {
    CHECK(fs::exists(fs::path(out) / folder / "manifest.csv"));
    CHECK(fs::exists(fs::path(out) / folder / "boxes.csv"));
  }
  CHECK(count_png(fs::path(out) / "train/square") == 2);
  const Output rerun = run_ember("data shapes --train 2 --test 1 --size 32 --seed 3 --out " + out);
  CHECK(contains(rerun.out, "wrote 0 images"));
  CHECK(contains(rerun.out, "6 were already there"));
  CHECK(run_ember("data shapes --size 8 --out " + out).status == 2);
  CHECK(run_ember("data shapes --train -1 --out " + out).status == 2);
  CHECK(run_ember("data").status == 2);
  CHECK(run_ember("data mnist").status == 2);
  CHECK(run_ember("data --help").status == 0);
}

TEST_CASE("ember data fashion-mnist: Debian's files as PNG folders; bad classes, counts and sources") {
  TempDir dir("data_fmnist_cli");
  const std::string out = dir.file("images");
  const Output unknown = run_ember("data fashion-mnist --classes pullover,jacket --out " + out);
  CHECK(unknown.status == 2);
  CHECK(contains(unknown.err, "unknown class 'jacket'"));
  CHECK(run_ember("data fashion-mnist --out " + out).status == 2);  // --classes is required
  const Output missing = run_ember("data fashion-mnist --classes coat --source " + dir.file("none") + " --out " + out);
  CHECK(missing.status == 1);
  CHECK(contains(missing.err, "Fashion-MNIST is not installed"));
  CHECK_FALSE(fs::exists(out));
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped the export: dataset-fashion-mnist is not installed (scripts/setup)");
    return;
  }
  const Output too_many = run_ember("data fashion-mnist --classes coat --train 6001 --test 0 --out " + out);
  CHECK(too_many.status == 1);
  CHECK(contains(too_many.err, "asked for 6001 'coat' images but train-images-idx3-ubyte.gz has 6000"));
  CHECK_FALSE(fs::exists(out));

  const Output made = run_ember("data fashion-mnist --classes Pullover,COAT --train 3 --test 2 --out " + out);
  REQUIRE_MESSAGE(made.status == 0, made.err);
  CHECK(contains(made.out, "wrote 10 images"));
  CHECK(count_png(fs::path(out) / "train/pullover") == 3);
  CHECK(count_png(fs::path(out) / "test/coat") == 2);
  // The first coats of t10k are images 6 and 10 (Python: np.where(labels == 4)[0][:2]).
  const vision::ImageManifest coats((fs::path(out) / "test/coat").string());
  CHECK(coats.find_url("fashion-mnist:t10k-images-idx3-ubyte.gz#6") != nullptr);
  CHECK(coats.find_url("fashion-mnist:t10k-images-idx3-ubyte.gz#10") != nullptr);
  const Output rerun = run_ember("data fashion-mnist --classes pullover,coat --train 3 --test 2 --out " + out);
  CHECK(contains(rerun.out, "wrote 0 images"));
  CHECK(count_png(fs::path(out) / "train/pullover") == 3);
}
