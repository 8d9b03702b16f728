// vision/shapes_dataset.h: each picture's box is checked against the pixels themselves (the tight
// box of the pixels that have the object's colour, which no background pixel has), squares are
// solid, circles cover about pi r^2; the export is laid out like a crawl with boxes.csv, and the
// same seed gives the same pictures (compared by content, since file names are uuids).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "tensor/io/csv.h"
#include "tensor/io/file.h"
#include "tests/test_util.h"
#include "vision/image.h"
#include "vision/image_manifest.h"
#include "vision/shapes_dataset.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

// The box of the pixels whose colour is exactly `colour`, and how many there are.
std::pair<vision::ObjectBox, int64_t> pixels_of_colour(const vision::Image& image,
                                                       const std::array<uint8_t, 3>& colour) {
  vision::ObjectBox box{image.width, image.height, 0, 0};
  int64_t count = 0;
  for (int64_t y = 0; y < image.height; ++y)
    for (int64_t x = 0; x < image.width; ++x)
      if (image.at(y, x, 0) == colour[0] && image.at(y, x, 1) == colour[1] && image.at(y, x, 2) == colour[2]) {
        box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x + 1), std::max(box.y1, y + 1)};
        ++count;
      }
  return {box, count};
}

// url -> (decoded pixels, box) for every image of an exported folder.
std::map<std::string, std::pair<std::vector<uint8_t>, std::vector<double>>> read_folder(const fs::path& folder) {
  std::map<std::string, std::vector<double>> boxes;
  const CsvTable table = parse_csv(read_file((folder / "boxes.csv").string(), "t"), "boxes.csv");
  const auto files = table.strings("file");
  for (size_t i = 0; i < files.size(); ++i)
    boxes[files[i]] = {table.numbers("x0")[i], table.numbers("y0")[i], table.numbers("x1")[i], table.numbers("y1")[i]};
  std::map<std::string, std::pair<std::vector<uint8_t>, std::vector<double>>> out;
  const vision::ImageManifest manifest(folder.string());  // kept alive while its entries are read
  for (const vision::ManifestEntry& entry : manifest.entries()) {
    const std::string where = folder.string() + ": " + entry.url + " " + entry.file;
    INFO(where);
    REQUIRE(boxes.count(entry.file) == 1);
    out[entry.url] = {vision::load_image((folder / entry.file).string()).pixels, boxes[entry.file]};
  }
  return out;
}

}  // namespace

TEST_CASE("make_shape_image: the box is the tight box of the object's pixels; squares solid, circles round") {
  std::map<std::string, int> backgrounds;
  for (uint64_t seed = 0; seed < 60; ++seed)
    for (vision::Shape shape : {vision::Shape::circle, vision::Shape::square}) {
      const int64_t size = seed % 3 == 0 ? 128 : 48;
      const vision::ShapeImage sample = vision::make_shape_image(size, shape, seed);
      INFO("seed ", seed, " ", vision::shape_name(shape), " on ", sample.background);
      ++backgrounds[sample.background];
      REQUIRE(sample.image.width == size);
      const auto [box, count] = pixels_of_colour(sample.image, sample.colour);
      CHECK(box.x0 == sample.box.x0);
      CHECK(box.y0 == sample.box.y0);
      CHECK(box.x1 == sample.box.x1);
      CHECK(box.y1 == sample.box.y1);
      const int64_t w = box.x1 - box.x0, h = box.y1 - box.y0;
      CHECK(w == h);
      CHECK(w >= size / 6);
      CHECK(double(w) <= double(size) / 2.5);
      CHECK(box.x0 >= 2);
      CHECK(box.y0 >= 2);
      CHECK(box.x1 <= size - 2);
      CHECK(box.y1 <= size - 2);
      if (shape == vision::Shape::square) {
        CHECK(count == w * h);
      } else {
        const double area = M_PI * w * w / 4.0;
        CHECK(std::abs(double(count) - area) <= 0.1 * area + 4);
        CHECK(count < w * h);  // the corners are background
      }
    }
  CHECK(backgrounds.size() == 2);  // noise and gradients both occur
  for (const auto& [kind, n] : backgrounds) CHECK(n >= 10);

  const vision::ShapeImage a = vision::make_shape_image(64, vision::Shape::circle, 9);
  CHECK(a.image.pixels == vision::make_shape_image(64, vision::Shape::circle, 9).image.pixels);
  CHECK(a.image.pixels != vision::make_shape_image(64, vision::Shape::circle, 10).image.pixels);
  check_throws([] { vision::make_shape_image(8, vision::Shape::square, 1); }, {"--size", "16..4096", "8"});
}

TEST_CASE("export_shapes: crawl layout, manifest and boxes.csv; the same seed gives the same pictures") {
  TempDir first("shapes_a"), second("shapes_b"), other("shapes_c");
  vision::ShapesExport options;
  options.train = 3;
  options.test = 2;
  options.size = 32;
  options.seed = 5;
  for (const TempDir* dir : {&first, &second}) {
    options.out = dir->path.string();
    CHECK(vision::export_shapes(options).written == 10);
  }
  options.out = other.path.string();
  options.seed = 6;
  vision::export_shapes(options);

  CHECK(first.entries() == std::vector<std::string>{"test", "train"});
  for (const std::string folder : {"train/circle", "train/square", "test/circle", "test/square"}) {
    INFO(folder);
    const auto a = read_folder(first.path / folder), b = read_folder(second.path / folder);
    const auto c = read_folder(other.path / folder);
    CHECK(a.size() == (folder.rfind("train", 0) == 0 ? 3u : 2u));
    CHECK(a == b);                                              // same seed: same pixels and boxes for the same URL
    CHECK(a.begin()->second.first != c.begin()->second.first);  // another seed: other pictures
    for (const auto& [url, image] : a) {
      CHECK(url.rfind("shapes:5/", 0) == 0);
      CHECK(image.first.size() == 32u * 32u * 3u);
    }
  }
  // A rerun keeps everything; a larger count adds without changing the first pictures.
  options.out = first.path.string();
  options.seed = 5;
  CHECK(vision::export_shapes(options).already_there == 10);
  const auto before = read_folder(first.path / "train/square");
  options.train = 4;
  CHECK(vision::export_shapes(options).written == 2);
  const auto after = read_folder(first.path / "train/square");
  CHECK(after.size() == 4);
  for (const auto& [url, image] : before) CHECK(after.at(url) == image);
}
