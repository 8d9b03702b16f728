// See image.h. Decoding and PNG encoding are stb's (stb_image.h, stb_image_write.h); the resize is
// Pillow's algorithm, written out below.
#include "vision/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/error.h"
#include "tensor/io/file.h"

#ifdef EMBER_HAVE_STB
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_FAILURE_USERMSG
// stb's decoder trips g++ 12's -Wmaybe-uninitialized on a path it guards itself.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#endif

namespace ember::vision {

namespace {

constexpr const char* kNoStb =
    "Ember was built without stb (image files): install libstb-dev (scripts/setup) and rebuild";

}  // namespace

Image::Image(int64_t width_, int64_t height_) : width(width_), height(height_) {
  EMBER_CHECK(width_ >= 0 && height_ >= 0,
              "Image: a size cannot be negative, got " + std::to_string(width_) + "x" + std::to_string(height_));
  pixels.assign(static_cast<size_t>(width_ * height_ * 3), 0);
}

// ---- files ---------------------------------------------------------------------------------------

Image decode_image(std::string_view bytes, const std::string& source_name) {
#ifdef EMBER_HAVE_STB
  EMBER_CHECK(!bytes.empty(), "load_image: '" + source_name + "' is empty (0 bytes), not an image");
  EMBER_CHECK(bytes.size() <= size_t(INT32_MAX), "load_image: '" + source_name + "' is larger than 2 GiB");
  int width = 0, height = 0, channels_in_file = 0;
  const auto* begin = reinterpret_cast<const stbi_uc*>(bytes.data());
  if (stbi_info_from_memory(begin, int(bytes.size()), &width, &height, &channels_in_file))
    EMBER_CHECK(int64_t(width) * height <= kMaxImagePixels,
                "load_image: '" + source_name + "' says it is " + std::to_string(width) + "x" + std::to_string(height) +
                    " pixels, over the limit of " + std::to_string(kMaxImagePixels) +
                    " (vision::kMaxImagePixels): not decoded");
  stbi_uc* data = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &width,
                                        &height, &channels_in_file, 3);
  EMBER_CHECK(data != nullptr, "load_image: cannot decode '" + source_name + "': " + stbi_failure_reason() +
                                   " (expected a JPEG, PNG, BMP, GIF, TGA, PSD, PNM or HDR image)");
  Image image(width, height);
  std::memcpy(image.pixels.data(), data, image.pixels.size());
  stbi_image_free(data);
  return image;
#else
  (void)bytes;
  throw Error("load_image: cannot decode '" + source_name + "': " + kNoStb);
#endif
}

Image load_image(const std::string& path) { return decode_image(read_file(path, "load_image"), path); }

void save_png(const Image& image, const std::string& path) {
#ifdef EMBER_HAVE_STB
  EMBER_CHECK(image.width > 0 && image.height > 0 && image.pixels.size() == size_t(image.width * image.height * 3),
              "save_png: '" + path + "': the image is empty or its pixels do not match its size");
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
  };
  const int ok = stbi_write_png_to_func(append, &bytes, int(image.width), int(image.height), 3, image.pixels.data(),
                                        int(image.width * 3));
  EMBER_CHECK(ok != 0, "save_png: could not encode the PNG for '" + path + "'");
  write_file_atomically(path, bytes, "save_png");
#else
  (void)image;
  throw Error("save_png: cannot write '" + path + "': " + kNoStb);
#endif
}

// ---- geometry ------------------------------------------------------------------------------------

Image crop(const Image& image, int64_t left, int64_t top, int64_t width, int64_t height) {
  EMBER_CHECK(
      left >= 0 && top >= 0 && width >= 0 && height >= 0 && left + width <= image.width && top + height <= image.height,
      "crop: the box (left " + std::to_string(left) + ", top " + std::to_string(top) + ", " + std::to_string(width) +
          "x" + std::to_string(height) + ") does not lie inside the " + std::to_string(image.width) + "x" +
          std::to_string(image.height) + " image");
  Image out(width, height);
  for (int64_t y = 0; y < height; ++y)
    std::memcpy(out.pixels.data() + y * width * 3, image.pixels.data() + ((top + y) * image.width + left) * 3,
                static_cast<size_t>(width * 3));
  return out;
}

// ---- Pillow's bilinear resize (libImaging/Resample.c) --------------------------------------------
//
// One pass maps in_size samples to out_size. Output sample i is a weighted sum of the inputs
// [first, first + count) with weights that sum to 1:
//   scale  = in_size / out_size;  filterscale = max(scale, 1)   (shrinking widens the filter)
//   support = 1 * filterscale                                    (the triangle's half-width)
//   center = (i + 0.5) * scale
//   first  = max(int(center - support + 0.5), 0),  last = min(int(center + support + 0.5), in_size)
//   w_j    = triangle((first + j - center + 0.5) / filterscale),  triangle(t) = max(0, 1 - |t|)
// then normalised by their sum, and turned into 22-bit fixed point (rounded half away from zero).
// A pixel is (2^21 + sum_j w_j * in_j) >> 22, clipped to 0..255.

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct ResampleTaps {
  std::vector<int64_t> first, count;  // per output sample
  std::vector<int32_t> weights;       // out_size rows of `stride` fixed-point weights
  int64_t stride = 0;
};

ResampleTaps bilinear_taps(int64_t in_size, int64_t out_size) {
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  ResampleTaps taps;
  taps.stride = int64_t(std::ceil(support)) * 2 + 1;
  taps.first.resize(size_t(out_size));
  taps.count.resize(size_t(out_size));
  taps.weights.assign(size_t(out_size * taps.stride), 0);
  std::vector<double> w(size_t(taps.stride));
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = (double(i) + 0.5) * scale;
    const int64_t first = std::max<int64_t>(int64_t(center - support + 0.5), 0);
    const int64_t last = std::min<int64_t>(int64_t(center + support + 0.5), in_size);
    const int64_t count = last - first;
    double total = 0;
    for (int64_t j = 0; j < count; ++j) {
      const double t = std::abs((double(j + first) - center + 0.5) / filterscale);
      w[size_t(j)] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[size_t(j)];
    }
    for (int64_t j = 0; j < count; ++j) {
      const double normalised = total != 0.0 ? w[size_t(j)] / total : w[size_t(j)];
      const double fixed = normalised * double(1 << kPrecisionBits);
      taps.weights[size_t(i * taps.stride + j)] = int32_t(normalised < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    taps.first[size_t(i)] = first;
    taps.count[size_t(i)] = count;
  }
  return taps;
}

uint8_t clip_fixed_point(int32_t accumulator) {
  const int32_t value = accumulator >> kPrecisionBits;
  return uint8_t(std::clamp(value, 0, 255));
}

// Horizontal pass over rows [row0, row0 + rows) of `in`: out is (rows, out_width).
Image resample_horizontal(const Image& in, int64_t out_width, int64_t row0, int64_t rows, const ResampleTaps& taps) {
  Image out(out_width, rows);
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t x = 0; x < out_width; ++x) {
      const int32_t* w = &taps.weights[size_t(x * taps.stride)];
      const int64_t first = taps.first[size_t(x)];
      for (int c = 0; c < 3; ++c) {
        int32_t sum = 1 << (kPrecisionBits - 1);
        for (int64_t j = 0; j < taps.count[size_t(x)]; ++j) sum += int32_t(in.at(row0 + y, first + j, c)) * w[j];
        out.at(y, x, c) = clip_fixed_point(sum);
      }
    }
  return out;
}

// Vertical pass: output row y reads rows first[y] - row0 ... of `in` (which starts at row0).
Image resample_vertical(const Image& in, int64_t out_height, int64_t row0, const ResampleTaps& taps) {
  Image out(in.width, out_height);
  for (int64_t y = 0; y < out_height; ++y) {
    const int32_t* w = &taps.weights[size_t(y * taps.stride)];
    const int64_t first = taps.first[size_t(y)] - row0;
    for (int64_t x = 0; x < in.width; ++x)
      for (int c = 0; c < 3; ++c) {
        int32_t sum = 1 << (kPrecisionBits - 1);
        for (int64_t j = 0; j < taps.count[size_t(y)]; ++j) sum += int32_t(in.at(first + j, x, c)) * w[j];
        out.at(y, x, c) = clip_fixed_point(sum);
      }
  }
  return out;
}

}  // namespace

Image resize_bilinear(const Image& image, int64_t width, int64_t height) {
  EMBER_CHECK(width > 0 && height > 0, "resize_bilinear: the target size must be positive, got " +
                                           std::to_string(width) + "x" + std::to_string(height));
  EMBER_CHECK(
      image.width > 0 && image.height > 0,
      "resize_bilinear: the image is empty (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  if (width == image.width && height == image.height) return image;  // Pillow copies
  const ResampleTaps horizontal = bilinear_taps(image.width, width);
  const ResampleTaps vertical = bilinear_taps(image.height, height);
  Image result = image;
  int64_t row0 = 0;
  if (width != image.width) {
    // Only the rows the vertical pass reads: [first of row 0, last of the last row).
    row0 = vertical.first.front();
    const int64_t row_end = vertical.first.back() + vertical.count.back();
    result = resample_horizontal(image, width, row0, row_end - row0, horizontal);
  }
  if (height != image.height) result = resample_vertical(result, height, row0, vertical);
  return result;
}

}  // namespace ember::vision
