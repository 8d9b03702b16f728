// See shapes_dataset.h.
#include "vision/shapes_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tensor/error.h"

namespace ember::vision {

namespace {

// splitmix64 (Steele, Lea, Flood 2014): a tiny generator whose output is the same everywhere.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }                                     // [0, 1)
  int64_t integer(int64_t lo, int64_t hi) { return lo + int64_t(next() % uint64_t(hi - lo + 1)); }  // [lo, hi]
  std::array<uint8_t, 3> colour() { return {uint8_t(next() >> 56), uint8_t(next() >> 56), uint8_t(next() >> 56)}; }
};

uint8_t clamp_level(double v) { return uint8_t(std::clamp(std::lround(v), 0L, 255L)); }

void paint_background(Image& image, SplitMix64& rng, std::string* kind) {
  const int64_t n = image.width;
  const auto a = rng.colour(), b = rng.colour();
  // Noise or a gradient. (Stripes at random angles were tried and dropped: their straight edges hide a
  // square's so well that neither this engine nor PyTorch learns circle-vs-square from scratch on a
  // few hundred images in 40 epochs, and a CAM is only worth checking on a model that learned.)
  const bool noise = rng.integer(0, 1) == 0;
  const double angle = rng.uniform() * 3.14159265358979;
  const double dx = std::cos(angle), dy = std::sin(angle);
  if (noise) {  // a colour plus uniform noise of +-amplitude per channel
    *kind = "noise";
    const int64_t amplitude = rng.integer(15, 50);
    for (int64_t y = 0; y < n; ++y)
      for (int64_t x = 0; x < n; ++x)
        for (int c = 0; c < 3; ++c) image.at(y, x, c) = clamp_level(a[size_t(c)] + rng.integer(-amplitude, amplitude));
  } else {  // a linear gradient from a to b along a random direction
    *kind = "gradient";
    const double lo = std::min(0.0, dx * n) + std::min(0.0, dy * n), span = std::abs(dx * n) + std::abs(dy * n);
    for (int64_t y = 0; y < n; ++y)
      for (int64_t x = 0; x < n; ++x) {
        const double t = (x * dx + y * dy - lo) / span;
        for (int c = 0; c < 3; ++c) image.at(y, x, c) = clamp_level(a[size_t(c)] + t * (b[size_t(c)] - a[size_t(c)]));
      }
  }
}

// The smallest sum of channel differences between `colour` and any background pixel.
int closest_background(const Image& image, const std::array<uint8_t, 3>& colour) {
  int closest = 765;
  for (size_t i = 0; i < image.pixels.size(); i += 3) {
    int d = 0;
    for (int c = 0; c < 3; ++c) d += std::abs(int(image.pixels[i + size_t(c)]) - int(colour[size_t(c)]));
    closest = std::min(closest, d);
  }
  return closest;
}

uint64_t mix(uint64_t seed, uint64_t value) { return SplitMix64{seed ^ (value * 0x9e3779b97f4a7c15ull)}.next(); }

}  // namespace

const char* shape_name(Shape shape) { return shape == Shape::circle ? "circle" : "square"; }

ShapeImage make_shape_image(int64_t size, Shape shape, uint64_t seed) {
  EMBER_CHECK(size >= 16 && size <= 4096, "shapes: --size must be 16..4096, got " + std::to_string(size));
  SplitMix64 rng{seed};
  ShapeImage sample;
  sample.image = Image(size, size);
  paint_background(sample.image, rng, &sample.background);

  // A colour that no background pixel comes close to; black or white, whichever is further, if 64
  // random tries find none.
  constexpr int kMinimumContrast = 60;
  sample.colour = rng.colour();
  for (int attempt = 0; attempt < 64 && closest_background(sample.image, sample.colour) < kMinimumContrast; ++attempt)
    sample.colour = rng.colour();
  if (closest_background(sample.image, sample.colour) < kMinimumContrast) {
    const std::array<uint8_t, 3> black{0, 0, 0}, white{255, 255, 255};
    sample.colour = closest_background(sample.image, black) > closest_background(sample.image, white) ? black : white;
  }

  const int64_t extent = rng.integer(size / 6, int64_t(double(size) / 2.5));
  const int64_t left = rng.integer(2, size - extent - 2), top = rng.integer(2, size - extent - 2);
  // A circle covers the pixels whose centres (x + 0.5, y + 0.5) lie within the radius of its centre.
  const double radius = extent / 2.0, cx = left + radius, cy = top + radius;
  ObjectBox box{size, size, 0, 0};
  for (int64_t y = top; y < top + extent; ++y)
    for (int64_t x = left; x < left + extent; ++x) {
      const double ex = x + 0.5 - cx, ey = y + 0.5 - cy;
      if (shape == Shape::circle && ex * ex + ey * ey > radius * radius) continue;
      for (int c = 0; c < 3; ++c) sample.image.at(y, x, c) = sample.colour[size_t(c)];
      box = {std::min(box.x0, x), std::min(box.y0, y), std::max(box.x1, x + 1), std::max(box.y1, y + 1)};
    }
  sample.box = box;
  return sample;
}

ExportCounts export_shapes(const ShapesExport& options, const std::function<void(int64_t, int64_t)>& on_progress) {
  EMBER_CHECK(options.train >= 0 && options.test >= 0, "shapes: negative image counts");
  make_shape_image(options.size, Shape::circle, 0);  // checks the size before anything is written
  const char* splits[] = {"train", "test"};
  const int64_t per_class[] = {options.train, options.test};
  const int64_t total = 2 * (options.train + options.test);
  ExportCounts counts;
  int64_t done = 0;
  for (int s = 0; s < 2; ++s)
    for (Shape shape : {Shape::circle, Shape::square}) {
      if (per_class[s] == 0) continue;
      LabelFolderExport folder((std::filesystem::path(options.out) / splits[s] / shape_name(shape)).string(),
                               "ember data shapes", /*with_boxes=*/true);
      for (int64_t i = 0; i < per_class[s]; ++i) {
        const std::string url = "shapes:" + std::to_string(options.seed) + "/" + splits[s] + "/" + shape_name(shape) +
                                "/" + std::to_string(i);
        if (folder.has(url)) {
          ++counts.already_there;
        } else {
          const uint64_t seed = mix(mix(mix(options.seed, uint64_t(s)), uint64_t(shape)), uint64_t(i));
          ShapeImage sample = make_shape_image(options.size, shape, seed);
          folder.add(url, std::move(sample.image), sample.box);
          if (folder.pending() >= 64) folder.flush();
        }
        if (on_progress) on_progress(++done, total);
      }
      folder.flush();
      counts.written += folder.written();
    }
  return counts;
}

}  // namespace ember::vision
