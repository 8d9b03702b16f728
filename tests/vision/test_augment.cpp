// vision/augment.h against fastai's Resize(ResizeMethod.Crop) as transcribed with Pillow in
// tests/golden/make_resize_crop_fixtures.py: the crop box and the resized pixels, bit for bit, for
// given crop positions; the horizontal flip; and the errors.
#include <doctest/doctest.h>

#include <cstdio>

#include "tensor/io/json.h"
#include "tensor/io/safetensors.h"
#include "tests/test_util.h"
#include "vision/augment.h"

using namespace ember;
using namespace ember::test;
using vision::Image;

namespace {

const SafetensorsFile& golden() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_resize_crop.safetensors");
  return file;
}

Image image_of(const Tensor& hwc) {  // a uint8 (H, W, 3) fixture
  REQUIRE(hwc.dim() == 3);
  Image image(hwc.size(1), hwc.size(0));
  image.pixels = to_vector<uint8_t>(hwc);
  REQUIRE(image.pixels.size() == size_t(image.width * image.height * 3));
  return image;
}

Image source(const std::string& name) {
  if (name.size() > 4 && name.substr(name.size() - 4) == ".png")
    return vision::load_image(std::string(EMBER_TEST_DATA) + "/images/" + name);
  return image_of(golden().tensors.at("src/" + name));
}

}  // namespace

TEST_CASE("resize_crop is fastai's Resize crop (box and Pillow bilinear resize), bit for bit") {
  const json::Value cases = json::parse(golden().metadata.at("cases"));  // alive while iterated
  REQUIRE(cases.as_array().size() >= 10);
  int index = 0;
  for (const json::Value& c : cases.as_array()) {
    const std::string source_name = c.find("source")->as_string();
    const int64_t width = c.find("width")->as_int(), height = c.find("height")->as_int();
    const auto& pcts = c.find("pcts")->as_array();
    const auto& box = c.find("box")->as_array();
    const vision::CropPosition position{pcts[0].as_double(), pcts[1].as_double()};
    char key[16];
    std::snprintf(key, sizeof key, "case/%02d", index++);
    INFO(key, " ", source_name, " -> ", width, "x", height, " at (", position.x, ", ", position.y, ")");
    const Image input = source(source_name);

    const vision::CropBox mine = vision::resize_crop_box(input.width, input.height, width, height, position);
    CHECK(mine.left == box[0].as_int());
    CHECK(mine.top == box[1].as_int());
    CHECK(mine.width == box[2].as_int());
    CHECK(mine.height == box[3].as_int());

    const Image expected = image_of(golden().tensors.at(key));
    const Image out = vision::resize_crop(input, width, height, position);
    REQUIRE(out.width == expected.width);
    REQUIRE(out.height == expected.height);
    int64_t differing = 0;
    for (size_t i = 0; i < out.pixels.size(); ++i) differing += out.pixels[i] != expected.pixels[i];
    CHECK(differing == 0);
  }
}

TEST_CASE("resize_crop: the valid crop is centred (floor of half the slack) and the default") {
  // A 10 x 4 image to 2 x 2: crop side 4, slack 6 -> left 3; a 4 x 7 one: slack 3 -> top 1.
  const vision::CropBox wide = vision::resize_crop_box(10, 4, 2, 2);
  CHECK(wide.left == 3);
  CHECK(wide.top == 0);
  CHECK(wide.width == 4);
  CHECK(wide.height == 4);
  const vision::CropBox tall = vision::resize_crop_box(4, 7, 2, 2, {0.5, 0.5});
  CHECK(tall.left == 0);
  CHECK(tall.top == 1);
  // The ends of the slack: pcts 0 is the left edge, just under 1 the right one.
  CHECK(vision::resize_crop_box(10, 4, 2, 2, {0, 0}).left == 0);
  CHECK(vision::resize_crop_box(10, 4, 2, 2, {0.9999, 0}).left == 5);
  CHECK(vision::resize_crop_box(10, 4, 2, 2, {1, 0}).left == 6);
}

TEST_CASE("flip_horizontal mirrors each row") {
  Image image(3, 2);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t(i);
  const Image flipped = vision::flip_horizontal(image);
  REQUIRE(flipped.width == 3);
  REQUIRE(flipped.height == 2);
  // Row 0 was pixels (0,1,2) (3,4,5) (6,7,8); mirrored: (6,7,8) (3,4,5) (0,1,2).
  const std::vector<uint8_t> expected = {6, 7, 8, 3, 4, 5, 0, 1, 2, 15, 16, 17, 12, 13, 14, 9, 10, 11};
  CHECK(flipped.pixels == expected);
  CHECK(vision::flip_horizontal(flipped).pixels == image.pixels);
}

TEST_CASE("resize_crop: bad sizes and positions are errors that say what was expected") {
  const Image image(8, 6);
  check_throws([&] { vision::resize_crop(image, 0, 4); }, {"resize_crop", "positive", "0x4"});
  check_throws([&] { vision::resize_crop(image, 4, 4, {1.5, 0.5}); }, {"resize_crop", "[0, 1]"});
  check_throws([&] { vision::resize_crop(Image(), 4, 4); }, {"resize_crop", "empty"});
}
