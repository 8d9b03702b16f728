// See image.h. PNG encoding is stb's (stb_image_write.h); decoding is in image_decode.cpp; the
// resize is in resize_bilinear.cpp.
#include "vision/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "tensor/error.h"
#include "tensor/io/file.h"

#ifdef EMBER_HAVE_STB
// The one copy of stb_image's implementation (image_decode.cpp calls it). Only the formats
// image_format.h lets through are compiled in: TGA has no signature, so stb's TGA reader would take
// random bytes for a picture, and PIL reads neither HDR nor PIC.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#define STBI_NO_TGA
#define STBI_NO_HDR
#define STBI_NO_PIC
#define STBI_NO_PSD
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

// ---- files (decoding is in image_decode.cpp) --------------------------------------------------

std::string encode_png(const Image& image, const std::string& name_for_errors) {
#ifdef EMBER_HAVE_STB
  EMBER_CHECK(image.width > 0 && image.height > 0 && image.pixels.size() == size_t(image.width * image.height * 3),
              "save_png: '" + name_for_errors + "': the image is empty or its pixels do not match its size");
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
  };
  const int ok = stbi_write_png_to_func(append, &bytes, int(image.width), int(image.height), 3, image.pixels.data(),
                                        int(image.width * 3));
  EMBER_CHECK(ok != 0, "save_png: could not encode the PNG for '" + name_for_errors + "'");
  return bytes;
#else
  (void)image;
  throw Error("save_png: cannot write '" + name_for_errors + "': " + kNoStb);
#endif
}

void save_png(const Image& image, const std::string& path) {
  write_file_atomically(path, encode_png(image, path), "save_png");
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

}  // namespace ember::vision
