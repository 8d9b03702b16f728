// resize_bilinear's fast layout (8 rows interleaved, AVX2 sums; vision/resize_bilinear.cpp) must
// give exactly the bytes of Pillow's plain loops. The golden Pillow cases (test_image.cpp) cover a
// few sizes; here a straightforward transcription of libImaging/Resample.c is the reference, on
// random images of every awkward size: widths and heights that are not multiples of 8, 1-pixel
// images, up- and downscaling, and one-axis resizes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "vision/image.h"

namespace {

using ember::vision::Image;

// Pillow's ImagingResampleHorizontal/Vertical_8bpc for the triangle filter, one sample at a time.
struct Taps {
  std::vector<int64_t> first, count;
  std::vector<std::vector<int32_t>> weights;
};

Taps pillow_taps(int64_t in_size, int64_t out_size) {
  const double scale = double(in_size) / double(out_size), filterscale = std::max(scale, 1.0);
  Taps taps;
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (double(i) + 0.5) * scale;
    const int64_t first = std::max<int64_t>(int64_t(center - filterscale + 0.5), 0);
    const int64_t last = std::min<int64_t>(int64_t(center + filterscale + 0.5), in_size);
    std::vector<double> w;
    double total = 0;
    for (int64_t x = first; x < last; ++x) {
      const double t = std::abs((double(x) - center + 0.5) / filterscale);
      w.push_back(t < 1 ? 1 - t : 0);
      total += w.back();
    }
    std::vector<int32_t> fixed;
    for (double v : w) fixed.push_back(int32_t(0.5 + (total != 0 ? v / total : v) * (1 << 22)));
    taps.first.push_back(first);
    taps.count.push_back(last - first);
    taps.weights.push_back(fixed);
  }
  return taps;
}

uint8_t clip(int32_t sum) { return uint8_t(std::clamp(sum >> 22, 0, 255)); }

Image reference_resize(const Image& in, int64_t width, int64_t height) {
  if (width == in.width && height == in.height) return in;
  const Taps h = pillow_taps(in.width, width), v = pillow_taps(in.height, height);
  Image mid = in;
  int64_t row0 = 0;
  if (width != in.width) {
    row0 = v.first.front();
    const int64_t rows = v.first.back() + v.count.back() - row0;
    mid = Image(width, rows);
    for (int64_t y = 0; y < rows; ++y)
      for (int64_t x = 0; x < width; ++x)
        for (int c = 0; c < 3; ++c) {
          int32_t sum = 1 << 21;
          for (int64_t j = 0; j < h.count[x]; ++j) sum += in.at(row0 + y, h.first[x] + j, c) * h.weights[x][j];
          mid.at(y, x, c) = clip(sum);
        }
  }
  if (height == in.height) return mid;
  Image out(mid.width, height);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < mid.width; ++x)
      for (int c = 0; c < 3; ++c) {
        int32_t sum = 1 << 21;
        for (int64_t j = 0; j < v.count[y]; ++j) sum += mid.at(v.first[y] - row0 + j, x, c) * v.weights[y][j];
        out.at(y, x, c) = clip(sum);
      }
  return out;
}

}  // namespace

TEST_CASE("resize_bilinear gives the bytes of Pillow's plain loops for every size") {
  std::mt19937 rng(6);
  auto size = [&](int max) { return int64_t(1 + rng() % max); };
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t w = size(trial < 100 ? 40 : 300), h = size(trial < 100 ? 40 : 300);
    Image image(w, h);
    for (uint8_t& p : image.pixels) p = uint8_t(rng());
    // Every fourth trial keeps one axis, so the one-pass paths run too.
    const int64_t out_w = trial % 4 == 1 ? w : size(trial < 100 ? 40 : 300);
    const int64_t out_h = trial % 4 == 2 ? h : size(trial < 100 ? 40 : 300);
    CAPTURE(w);
    CAPTURE(h);
    CAPTURE(out_w);
    CAPTURE(out_h);
    const Image fast = ember::vision::resize_bilinear(image, out_w, out_h);
    const Image plain = reference_resize(image, out_w, out_h);
    REQUIRE(fast.width == out_w);
    REQUIRE(fast.height == out_h);
    CHECK(fast.pixels == plain.pixels);
  }
}
