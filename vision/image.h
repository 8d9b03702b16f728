// Images as 8-bit RGB pixels: decoding (stb_image), PNG writing, cropping, and Pillow's bilinear
// resize, bit for bit, so that what Ember feeds a network is what fastai and torchvision fed it.
//
//   vision::Image image = vision::load_image("cat.jpg");        // any size; RGB, alpha dropped
//   vision::Image small = vision::resize_bilinear(image, 256, 171);
//   vision::save_png(small, "out/small.png");                      // atomically
//
// Pixels are row-major, interleaved: pixel (y, x) channel c is pixels[(y * width + x) * 3 + c],
// the layout of PIL's image.tobytes() and numpy's (H, W, 3) array.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::vision {

struct Image {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3

  Image() = default;
  Image(int64_t width, int64_t height);  // black
  uint8_t at(int64_t y, int64_t x, int c) const { return pixels[static_cast<size_t>((y * width + x) * 3 + c)]; }
  uint8_t& at(int64_t y, int64_t x, int c) { return pixels[static_cast<size_t>((y * width + x) * 3 + c)]; }
};

// Decodes JPEG, PNG, BMP, GIF (first frame), TGA, PSD, PNM and HDR files, as PIL's
// Image.open(path).convert("RGB") would: grey is repeated into the three channels, alpha is dropped
// (not composited), 16-bit samples keep their high byte. No EXIF rotation (fastai applies none).
// An unreadable, empty, truncated or non-image file throws an Error naming the file and the
// decoder's reason. (JPEG decoders may differ from libjpeg's by a level or two in some pixels.)
// Files over kMaxImagePixels (width x height, read from the header before anything is decoded)
// are refused with an error that gives their size: a few-KB "decompression bomb" must not make
// the loader allocate gigabytes.
constexpr int64_t kMaxImagePixels = int64_t(1) << 28;  // 268 M pixels, ~800 MB as 8-bit RGB
Image load_image(const std::string& path);
Image decode_image(std::string_view bytes, const std::string& source_name);

// Writes a PNG atomically (a temporary file, then a rename).
void save_png(const Image& image, const std::string& path);

// The pixels [left, left + width) x [top, top + height), which must lie inside the image.
Image crop(const Image& image, int64_t left, int64_t top, int64_t width, int64_t height);

// Pillow's Image.resize((width, height), Image.BILINEAR), reproduced exactly (libImaging/Resample.c):
// a triangle filter, widened by the scale when shrinking (so it averages, antialiased), applied
// horizontally into an 8-bit image and then vertically, with Pillow's 22-bit fixed-point weights
// and rounding. Each output pixel x samples the input around center = (x + 0.5) * in / out.
Image resize_bilinear(const Image& image, int64_t width, int64_t height);

}  // namespace ember::vision
