// load_image against Pillow 9.4 on every kind of file (tests/golden/make_decode_fixtures.py): each
// PNG colour type and bit depth, GIF transparency, BMP and PNM variants bit for bit; JPEG (grey,
// 4:4:4, 4:2:0, progressive, CMYK, EXIF-rotated) within a few levels; the formats Ember refuses,
// broken files, "bombs", and files cut at many lengths, where Ember must fail exactly when PIL does.
#include <doctest/doctest.h>

#include <map>

#include "tensor/io/csv.h"
#include "tensor/io/file.h"
#include "tensor/io/safetensors.h"
#include "tests/test_util.h"
#include "vision/image.h"
#include "vision/image_format.h"

using namespace ember;
using namespace ember::test;
using vision::Image;

namespace {

const SafetensorsFile& golden() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_decode.safetensors");
  return file;
}

std::string fixture(const std::string& name) { return std::string(EMBER_TEST_DATA) + "/decode/" + name; }

Image pil_decoded(const std::string& name) {
  const Tensor& hwc = golden().tensors.at("decoded/" + name);
  REQUIRE(hwc.dim() == 3);
  Image image(hwc.size(1), hwc.size(0));
  image.pixels = to_vector<uint8_t>(hwc);
  return image;
}

struct Difference {
  int64_t differing = 0;
  int largest = 0;
};

Difference compare(const Image& mine, const Image& theirs) {
  REQUIRE(mine.width == theirs.width);
  REQUIRE(mine.height == theirs.height);
  Difference d;
  for (size_t i = 0; i < mine.pixels.size(); ++i) {
    const int diff = std::abs(int(mine.pixels[i]) - int(theirs.pixels[i]));
    d.differing += diff != 0;
    d.largest = std::max(d.largest, diff);
  }
  return d;
}

// The fixtures whose name starts with `prefix`.
std::vector<std::string> golden_files(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& [key, value] : golden().tensors)
    if (key.rfind("decoded/" + prefix, 0) == 0) names.push_back(key.substr(8));
  return names;
}

}  // namespace

TEST_CASE("decode: every PNG colour type and bit depth is PIL's convert('RGB'), bit for bit") {
  // grey 1/2/4/8/16, grey+alpha 8/16, RGB 8/16, RGBA 8/16, palette 1/4/8, tRNS, Adam7 interlacing.
  // The 16-bit grey files are PIL's mode "I" clipped to 255; the other 16-bit ones keep the high byte.
  const auto names = golden_files("png_");
  CHECK(names.size() == 21);
  for (const std::string& name : names) {
    INFO(name);
    const Difference d = compare(vision::load_image(fixture(name)), pil_decoded(name));
    CHECK(d.differing == 0);
  }
}

TEST_CASE("decode: GIF (first frame, transparency, small frames), BMP and PNM are PIL's, bit for bit") {
  const std::vector<std::string> prefixes = {"gif_", "bmp_", "pnm_"};
  const std::vector<size_t> counts = {5, 5, 2};
  for (size_t k = 0; k < prefixes.size(); ++k) {
    const auto names = golden_files(prefixes[k]);
    CHECK(names.size() == counts[k]);
    for (const std::string& name : names) {
      INFO(name);
      const Difference d = compare(vision::load_image(fixture(name)), pil_decoded(name));
      CHECK(d.differing == 0);
    }
  }
  // The transparent fixtures must exercise the repainting: stb alone would give black there.
  const Image transparent = vision::load_image(fixture("gif_small_frame_transparent.gif"));
  CHECK(transparent.width == 17);
  CHECK(transparent.height == 13);
}

TEST_CASE("decode: JPEG grey, 4:4:4, 4:2:0, progressive and CMYK within a few levels of libjpeg; no EXIF rotation") {
  // stb's inverse DCT, chroma upsampling and CMYK rounding differ from libjpeg-turbo's by a few levels.
  // Measured with Pillow 9.4 / libjpeg-turbo 2.1 and stb_image 2.27: at most 1 (grey) or 2 levels,
  // in under 7% of the values.
  const std::map<std::string, int> max_difference = {{"jpeg_grey.jpg", 1},   {"jpeg_rgb444.jpg", 2},
                                                     {"jpeg_rgb420.jpg", 2}, {"jpeg_progressive.jpg", 2},
                                                     {"jpeg_cmyk.jpg", 2},   {"jpeg_exif_rotate90.jpg", 2}};
  const auto names = golden_files("jpeg_");
  CHECK(names.size() == max_difference.size());
  for (const std::string& name : names) {
    INFO(name);
    const Image mine = vision::load_image(fixture(name));
    const Difference d = compare(mine, pil_decoded(name));
    INFO("largest difference ", d.largest, ", differing values ", d.differing, " of ", mine.pixels.size());
    CHECK(d.largest <= max_difference.at(name));
    CHECK(d.differing < int64_t(mine.pixels.size()) / 10);
  }
  // EXIF orientation 6 says "rotate 90 degrees to display"; like fastai, the stored 40x24 is kept.
  const Image rotated = vision::load_image(fixture("jpeg_exif_rotate90.jpg"));
  CHECK(rotated.width == 40);
  CHECK(rotated.height == 24);
}

TEST_CASE("decode: formats stb cannot read are named in the error, never decoded as something else") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unsupported_webp.webp", "WebP images are not supported by Ember's decoder (stb_image"},
      {"unsupported_tiff.tif", "TIFF images are not supported"},
      {"unsupported_ico.ico", "ICO images are not supported"},
      {"unsupported_svg.svg", "SVG images are not supported"},
      {"unsupported_avif.avif", "AVIF images are not supported"},
      {"unsupported_heic.heic", "HEIC/HEIF images are not supported"},
      {"unsupported_ascii.pgm", "(P1-P4) images are not supported"},
      {"unsupported_pbm.pbm", "(P1-P4) images are not supported"},
      {"unsupported_maxval100.pgm", "maximum value 100 is not supported"},
      {"unsupported_cmyk_no_adobe.jpg", "without an Adobe APP14 marker"}};
  for (const auto& [name, fragment] : cases) {
    INFO(name);
    check_throws([&] { vision::load_image(fixture(name)); }, {"cannot decode", name, fragment});
    try {
      vision::load_image(fixture(name));
    } catch (const vision::ImageDecodeError& e) {
      CHECK(e.source == fixture(name));
      CHECK(e.reason.find(fragment) != std::string::npos);
    }
  }
}

TEST_CASE("decode: empty files, HTML pages, random bytes and decompression bombs are refused") {
  check_throws([] { vision::decode_image("", "empty.jpg"); }, {"empty.jpg", "empty (0 bytes)"});
  check_throws([] { vision::load_image(fixture("bad_html.jpg")); }, {"bad_html.jpg", "an HTML page, not an image"});
  check_throws([] { vision::load_image(fixture("bad_random.jpg")); },
               {"bad_random.jpg", "not an image", "first bytes"});
  // Headers claiming 100000x100000 (PNG), 60000x60000 (JPEG), 65535x65535 (GIF): refused before decoding.
  check_throws([] { vision::load_image(fixture("bad_bomb.png")); },
               {"bad_bomb.png", "100000x100000", "over the limit"});
  check_throws([] { vision::load_image(fixture("bad_bomb.jpg")); }, {"bad_bomb.jpg", "60000x60000", "over the limit"});
  check_throws([] { vision::load_image(fixture("bad_bomb.gif")); }, {"bad_bomb.gif", "65535x65535", "over the limit"});
  // Random byte strings of every length up to 64, alone and after the JPEG and PNG signatures: an
  // error every time, never a crash. (GIF, BMP and PNM headers with random sizes would make stb
  // allocate up to the pixel limit; truncation.csv cuts real files of those formats instead.)
  uint32_t state = 12345;
  const std::vector<std::string> signatures = {"", "\xff\xd8\xff", "\x89PNG\r\n\x1a\n"};
  for (const std::string& signature : signatures)
    for (size_t length = 0; length < 64; ++length) {
      std::string bytes = signature;
      for (size_t i = 0; i < length; ++i) {
        state = state * 1664525u + 1013904223u;
        bytes += char(state >> 24);
      }
      if (bytes.empty()) continue;
      CHECK_THROWS_AS(vision::decode_image(bytes, "noise"), vision::ImageDecodeError);
    }
}

TEST_CASE("decode: files cut at many lengths fail exactly when PIL fails (truncation.csv)") {
  // PIL loads a PNG whose pixel data is complete even without IEND or the last CRC/Adler bytes, a
  // GIF without its block terminator, a BMP without the last row's padding; it refuses a JPEG
  // without its end marker and any GIF, BMP or PNM whose pixels stop early (where stb would fill
  // them in). Ember must agree on every cut.
  const CsvTable table = parse_csv(read_file(fixture("truncation.csv"), "test"), "truncation.csv");
  const auto files = table.strings("file"), verdicts = table.strings("pil");
  const auto lengths = table.numbers("length");
  REQUIRE(files.size() > 500);
  int pil_ok = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string bytes = read_file(fixture(files[i]), "test");
    const std::string cut = bytes.substr(0, size_t(lengths[i]));
    INFO(files[i], " cut to ", cut.size(), " of ", bytes.size(), " bytes; PIL: ", verdicts[i]);
    if (verdicts[i] == "ok") {
      ++pil_ok;
      const Image full = vision::decode_image(bytes, files[i]);
      Image partial;
      CHECK_NOTHROW(partial = vision::decode_image(cut, files[i]));
      if (partial.width > 0) CHECK(compare(partial, full).differing == 0);
    } else {
      CHECK_THROWS_AS(vision::decode_image(cut, files[i]), vision::ImageDecodeError);
    }
  }
  CHECK(pil_ok >= 12);  // PNG cuts after the pixel data, GIF without terminator, BMP without padding
  check_throws([] { vision::decode_image(read_file(fixture("trunc_source.jpg"), "t").substr(0, 1500), "cut.jpg"); },
               {"cut.jpg", "truncated"});
  check_throws([] { vision::decode_image(read_file(fixture("trunc_source.png"), "t").substr(0, 3000), "cut.png"); },
               {"cut.png", "truncated"});
}

TEST_CASE("sniff_image_format reads signatures, not suffixes") {
  using vision::ImageFormat;
  using namespace std::literals;
  CHECK(vision::sniff_image_format("\xff\xd8\xff\xe0") == ImageFormat::jpeg);
  CHECK(vision::sniff_image_format("RIFF\x10\0\0\0WEBPVP8 "sv) == ImageFormat::webp);
  CHECK(vision::sniff_image_format("  \n<!doctype HTML><html>") == ImageFormat::html);
  CHECK(vision::sniff_image_format("\xef\xbb\xbf<?xml version='1.0'?><!-- x --><svg>") == ImageFormat::svg);
  CHECK(vision::sniff_image_format("P4\n1 1\n") == ImageFormat::pnm_plain);
  CHECK(vision::sniff_image_format("hello") == ImageFormat::unknown);
  CHECK(vision::ember_decodes(ImageFormat::gif));
  CHECK_FALSE(vision::ember_decodes(ImageFormat::tiff));
}
