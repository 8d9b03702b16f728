// vision/pointing_game.h: where a map points (cell centres worked out by hand), hits and misses on
// synthetic maps, the two chance levels, flat maps, boxes.csv as `ember data shapes` writes it,
// and bad input.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "vision/pointing_game.h"
#include "vision/shapes_dataset.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

// An (h, w) map that is 0 except 1 at (row, col).
std::vector<float> one_hot(int64_t h, int64_t w, int64_t row, int64_t col) {
  std::vector<float> v(static_cast<size_t>(h * w), 0.0f);
  v[static_cast<size_t>(row * w + col)] = 1.0f;
  return v;
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("map_peak: the centre of the largest cell, in image pixels") {
  // A 4 x 5 map over a 100 x 80 image: cells are 20 px wide and 20 px high.
  std::vector<float> v = one_hot(4, 5, 2, 3);
  v[0] = 0.5f;
  vision::MapPeak peak = vision::map_peak(from_vector(v, Shape{4, 5}), 100, 80);
  CHECK(peak.row == 2);
  CHECK(peak.col == 3);
  CHECK(peak.x == doctest::Approx(70));  // (3 + 0.5) * 100 / 5
  CHECK(peak.y == doctest::Approx(50));  // (2 + 0.5) * 80 / 4
  CHECK(!peak.flat);
  // Ties: the first maximum in row-major order.
  vision::MapPeak tie = vision::map_peak(from_vector(std::vector<float>{0, 2, 2, 2}, Shape{2, 2}), 10, 10);
  CHECK(tie.row == 0);
  CHECK(tie.col == 1);
  CHECK(vision::map_peak(zeros({3, 3}), 9, 9).flat);
  check_throws([] { vision::map_peak(zeros({3}), 9, 9); }, {"(h, w)", "[3]"});
  check_throws([] { vision::map_peak(zeros({3, 3}), 0, 9); }, {"positive", "0x9"});
  check_throws(
      [] {
        vision::map_peak(from_vector(std::vector<float>{0, NAN, 1, 1}, Shape{2, 2}), 9, 9);
      },
      {"NaN", "(0, 1)"});
}

TEST_CASE("pointing_game: hits inside the box, misses outside, flat maps miss; both chance levels") {
  // 64 x 64 images, 8 x 8 maps: cell centres at 4, 12, ..., 60.
  const std::vector<vision::ObjectBox> boxes = {
      {0, 0, 32, 32},    // a quarter of the image; 4 x 4 of the 64 centres
      {10, 10, 20, 20},  // area 100; one centre (12, 12), cell (1, 1)
      {40, 8, 64, 24},   // 24 x 16; centres x 44..60 (3), y 12, 20 (2): 6
      {0, 0, 64, 64},    // the whole image, but its map is flat
  };
  std::vector<float> values;
  for (auto v : {one_hot(8, 8, 3, 3),  // (28, 28): inside box 0
                 one_hot(8, 8, 1, 2),  // (20, 12): x = 20 is the box's exclusive right edge: a miss
                 one_hot(8, 8, 2, 7),  // (60, 20): inside box 2
                 std::vector<float>(64, 0.25f)})
    values.insert(values.end(), v.begin(), v.end());
  Tensor maps = from_vector(values, Shape{4, 8, 8});

  vision::PointingGameResult r = vision::pointing_game(maps, boxes, 64, 64);
  CHECK(r.total == 4);
  CHECK(r.hits == 2);
  CHECK(r.flat == 1);
  CHECK(r.hit == std::vector<bool>{true, false, true, false});
  CHECK(r.score == doctest::Approx(0.5));
  CHECK(r.peaks[1].x == doctest::Approx(20));
  CHECK(r.chance == doctest::Approx((1024.0 + 100.0 + 384.0 + 4096.0) / 4096.0 / 4));
  CHECK(r.chance_cells == doctest::Approx((16.0 + 1.0 + 6.0 + 64.0) / 64.0 / 4));

  // Moving map 1's peak to cell (1, 1) = (12, 12) makes it a hit.
  std::copy_n(one_hot(8, 8, 1, 1).begin(), 64, values.begin() + 64);
  CHECK(vision::pointing_game(from_vector(values, Shape{4, 8, 8}), boxes, 64, 64).hits == 3);
  // The float64 maps of Grad-CAM work the same.
  CHECK(vision::pointing_game(to_dtype(from_vector(values, Shape{4, 8, 8}), DType::Float64), boxes, 64, 64).hits == 3);
}

TEST_CASE("pointing_game: bad input is an error that names what does not fit") {
  const std::vector<vision::ObjectBox> boxes = {{0, 0, 8, 8}, {2, 2, 4, 4}};
  check_throws([&] { vision::pointing_game(zeros({3, 2, 2}), boxes, 8, 8); }, {"[3, 2, 2]", "2 boxes"});
  check_throws([&] { vision::pointing_game(zeros({2, 4}), boxes, 8, 8); }, {"(N, h, w)", "[2, 4]"});
  check_throws(
      [&] {
        vision::pointing_game(zeros({2, 2, 2}), {{0, 0, 9, 8}, {2, 2, 4, 4}}, 8, 8);
      },
      {"(0, 0, 9, 8)", "image 0", "8x8"});
  check_throws(
      [&] {
        vision::pointing_game(zeros({2, 2, 2}), {{0, 0, 8, 8}, {4, 2, 4, 4}}, 8, 8);
      },
      {"(4, 2, 4, 4)", "image 1"});
  std::vector<float> v(8, 0.0f);
  v[6] = NAN;
  check_throws([&] { vision::pointing_game(from_vector(v, Shape{2, 2, 2}), boxes, 8, 8); }, {"image 1", "NaN"});
  check_throws([&] { vision::pointing_game(zeros({0, 2, 2}), {}, 8, 8); }, {"no images"});
}

TEST_CASE("read_object_boxes reads the boxes.csv of `ember data shapes`; oracle maps score 1") {
  TempDir dir("pointing_shapes");
  vision::export_shapes({.out = dir.path.string(), .train = 3, .test = 2, .size = 48, .seed = 9});
  std::vector<std::string> paths;
  for (const char* folder : {"test/circle", "test/square"})
    for (const auto& entry : fs::directory_iterator(dir.path / folder))
      if (entry.path().extension() == ".png") paths.push_back(entry.path().string());
  REQUIRE(paths.size() == 4);
  const std::vector<vision::ObjectBox> boxes = vision::read_object_boxes(paths);
  REQUIRE(boxes.size() == 4);
  // Maps (6 x 6 over 48 x 48: 8-px cells) hot at the cell holding each box's centre.
  std::vector<float> values;
  for (const auto& b : boxes) {
    CHECK(b.x1 > b.x0);
    CHECK(b.x1 <= 48);
    const int64_t col = (b.x0 + b.x1) / 2 / 8, row = (b.y0 + b.y1) / 2 / 8;
    auto v = one_hot(6, 6, row, col);
    values.insert(values.end(), v.begin(), v.end());
  }
  vision::PointingGameResult r = vision::pointing_game(from_vector(values, Shape{4, 6, 6}), boxes, 48, 48);
  // The box's centre pixel is inside the box, but the centre of its cell may lie up to 4 px away:
  // with objects of at least 48/6 = 8 px, most are hits; the chance level is far lower.
  CHECK(r.hits >= 3);
  CHECK(r.chance < 0.2);
}

TEST_CASE("read_boxes_csv: broken files are errors naming the file, line and problem") {
  TempDir dir("boxes_csv");
  const fs::path csv = dir.path / "boxes.csv";
  auto error_for = [&](const std::string& text) {
    write_text(csv, text);
    return error_of([&] { vision::read_boxes_csv(csv.string()); });
  };
  write_text(csv, "file,x0,y0,x1,y1\na.png,1,2,3,4\nb.png,0,0,5,5\n");
  auto boxes = vision::read_boxes_csv(csv.string());
  REQUIRE(boxes.size() == 2);
  CHECK(boxes["a.png"].x0 == 1);
  CHECK(boxes["a.png"].y1 == 4);

  CHECK(error_for("file,x0,y0,x1\na.png,1,2,3\n").find("y1") != std::string::npos);
  std::string e = error_for("file,x0,y0,x1,y1\na.png,1,2,3,4\nb.png,-1,0,5,5\n");
  CHECK(e.find("line 3") != std::string::npos);
  CHECK(e.find("'-1'") != std::string::npos);
  CHECK(error_for("file,x0,y0,x1,y1\na.png,1.5,2,3,4\n").find("'1.5' is not a pixel coordinate") != std::string::npos);
  CHECK(error_for("file,x0,y0,x1,y1\na.png,x,2,3,4\n").find("'x'") != std::string::npos);
  CHECK(error_for("file,x0,y0,x1,y1\na.png,3,2,3,4\n").find("is empty") != std::string::npos);
  CHECK(error_for("file,x0,y0,x1,y1\na.png,1,2,3,4\na.png,1,2,3,4\n").find("listed twice") != std::string::npos);
  CHECK(error_of([&] { vision::read_boxes_csv((dir.path / "none.csv").string()); }).find("none.csv") !=
        std::string::npos);

  write_text(csv, "file,x0,y0,x1,y1\na.png,1,2,3,4\n");
  check_throws([&] { vision::read_object_boxes({(dir.path / "b.png").string()}); },
               {"no box for 'b.png'", "boxes.csv"});
  fs::create_directories(dir.path / "other");
  check_throws([&] { vision::read_object_boxes({(dir.path / "other" / "a.png").string()}); },
               {"has no boxes.csv", "ember data shapes"});
}
