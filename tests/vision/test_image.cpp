// vision/image.h and transforms.h against Pillow and torchvision (tests/golden/make_image_fixtures.py):
// decoding the committed files in tests/data/images, Pillow's bilinear resize bit for bit, the
// ImageNet evaluation transform, PNG round trips, and the errors for bad files and boxes.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>

#include "tests/test_util.h"
#include "vision/image.h"
#include "vision/transforms.h"

using namespace ember;
using namespace ember::test;
using vision::Image;

namespace {

const SafetensorsFile& golden() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_images.safetensors");
  return file;
}

std::string image_path(const std::string& name) { return std::string(EMBER_TEST_DATA) + "/images/" + name; }

Image image_of(const Tensor& hwc) {  // a uint8 (H, W, 3) fixture
  REQUIRE(hwc.dim() == 3);
  Image image(hwc.size(1), hwc.size(0));
  auto values = to_vector<uint8_t>(hwc);
  REQUIRE(values.size() == image.pixels.size());
  image.pixels = values;
  return image;
}

// The number of channel values that differ, and the largest difference.
std::pair<int64_t, int> compare(const Image& mine, const Image& theirs) {
  REQUIRE(mine.width == theirs.width);
  REQUIRE(mine.height == theirs.height);
  int64_t differing = 0;
  int largest = 0;
  for (size_t i = 0; i < mine.pixels.size(); ++i) {
    const int d = std::abs(int(mine.pixels[i]) - int(theirs.pixels[i]));
    differing += d != 0;
    largest = std::max(largest, d);
  }
  return {differing, largest};
}

}  // namespace

TEST_CASE("resize_bilinear is Pillow's Image.resize(BILINEAR), bit for bit") {
  int cases = 0;
  for (const auto& [key, expected] : golden().tensors) {
    if (key.rfind("resize/", 0) != 0) continue;
    INFO(key);
    const std::string name = key.substr(7, key.rfind('/') - 7);
    const Image source = image_of(golden().tensors.at("src/" + name));
    const Image want = image_of(expected);
    const auto [differing, largest] = compare(vision::resize_bilinear(source, want.width, want.height), want);
    CHECK(differing == 0);
    CHECK(largest == 0);
    ++cases;
  }
  CHECK(cases == 14);
}

TEST_CASE("load_image decodes PNG (RGB, RGBA, grey, palette) as PIL's convert('RGB'); JPEG within a level") {
  for (const std::string file : {"rgb_97x61.png", "rgba_40x30.png", "grey_33x17.png", "palette_24x20.png"}) {
    INFO(file);
    const auto [differing, largest] =
        compare(vision::load_image(image_path(file)), image_of(golden().tensors.at("decoded/" + file)));
    CHECK(differing == 0);
  }
  // stb's JPEG decoder and libjpeg's (PIL) round the inverse DCT differently: a level or two.
  const Image jpeg = vision::load_image(image_path("photo_120x90.jpg"));
  const auto [differing, largest] = compare(jpeg, image_of(golden().tensors.at("decoded/photo_120x90.jpg")));
  CHECK(jpeg.width == 120);
  CHECK(jpeg.height == 90);
  CHECK(largest <= 3);
  CHECK(differing < int64_t(jpeg.pixels.size()) / 4);
}

TEST_CASE("imagenet_eval_input is torchvision's Resize(256), CenterCrop(224), ToTensor, Normalize") {
  const Image image = vision::load_image(image_path("rgb_97x61.png"));
  const Image cropped = vision::center_crop(vision::resize_shorter_side(image, 256), 224);
  const auto [differing, largest] = compare(cropped, image_of(golden().tensors.at("imagenet_pixels/rgb_97x61.png")));
  CHECK(differing == 0);
  Tensor x = vision::imagenet_eval_input(image);
  REQUIRE(x.shape() == Shape{1, 3, 224, 224});
  const Tensor& expected = golden().tensors.at("imagenet/rgb_97x61.png");  // rows 0..7 only
  auto mine = to_vector<float>(narrow(x, 2, 0, 8));
  auto theirs = to_vector<float>(expected);
  REQUIRE(mine.size() == theirs.size());
  int64_t mismatches = 0;
  for (size_t i = 0; i < mine.size(); ++i) mismatches += mine[i] != theirs[i];
  CHECK(mismatches == 0);  // the same float32 operations in the same order
}

TEST_CASE("center_crop rounds half to even like Python; resize_shorter_side truncates the long side") {
  Image wide(101, 50);
  for (size_t i = 0; i < wide.pixels.size(); ++i) wide.pixels[i] = uint8_t(i % 251);
  // (101 - 40) / 2 = 30.5 -> 30 (even), (50 - 40) / 2 = 5
  const Image c = vision::center_crop(wide, 40);
  CHECK(c.at(0, 0, 0) == wide.at(5, 30, 0));
  CHECK(vision::center_crop(Image(43, 43), 40).width == 40);  // 1.5 -> 2
  const Image r = vision::resize_shorter_side(wide, 30);      // 30 * 101 / 50 = 60.6 -> 60
  CHECK(r.width == 60);
  CHECK(r.height == 30);
}

TEST_CASE("save_png then load_image gives the same pixels; the file is written atomically") {
  TempDir dir("png");
  Image image(13, 7);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t((i * 37) % 256);
  vision::save_png(image, dir.file("a.png"));
  CHECK(dir.entries() == std::vector<std::string>{"a.png"});
  const auto [differing, largest] = compare(vision::load_image(dir.file("a.png")), image);
  CHECK(differing == 0);
}

TEST_CASE("bad image files and boxes give errors that name them") {
  TempDir dir("bad_images");
  {
    std::ofstream(dir.file("page.jpg")) << "<html><body>Not an image</body></html>";
    std::ofstream(dir.file("empty.png"));
  }
  check_throws([&] { vision::load_image(dir.file("page.jpg")); }, {"page.jpg", "cannot decode"});
  check_throws([&] { vision::load_image(dir.file("empty.png")); }, {"empty.png", "empty"});
  check_throws([&] { vision::load_image(dir.file("missing.png")); }, {"missing.png"});
  // a PNG cut in half
  std::ifstream in(image_path("rgb_97x61.png"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check_throws([&] { vision::decode_image(std::string_view(bytes).substr(0, bytes.size() / 2), "half.png"); },
               {"half.png"});
  // a "decompression bomb": the same PNG whose header claims 17000 x 17000 pixels (IHDR width and
  // height, big-endian, at bytes 16..23) is refused before anything is decoded
  std::string bomb = bytes;
  for (int field = 0; field < 2; ++field) {
    const uint32_t value = 17000;
    for (int k = 0; k < 4; ++k) bomb[size_t(16 + 4 * field + k)] = char((value >> (8 * (3 - k))) & 0xff);
  }
  check_throws([&] { vision::decode_image(bomb, "bomb.png"); }, {"bomb.png", "17000x17000", "over the limit"});
  check_throws([&] { vision::crop(Image(10, 10), 5, 5, 6, 2); }, {"does not lie inside", "10x10"});
  check_throws([&] { vision::center_crop(Image(10, 300), 224); }, {"224x224", "10x300"});
  check_throws([&] { vision::resize_bilinear(Image(4, 4), 0, 3); }, {"positive", "0x3"});
}
