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

#include "tensor/error.h"

namespace ember::vision {

struct Image {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3

  Image() = default;
  Image(int64_t width, int64_t height);  // black
  uint8_t at(int64_t y, int64_t x, int c) const { return pixels[static_cast<size_t>((y * width + x) * 3 + c)]; }
  uint8_t& at(int64_t y, int64_t x, int c) { return pixels[static_cast<size_t>((y * width + x) * 3 + c)]; }
};

// Decodes a JPEG, PNG, GIF (first frame), BMP or binary PNM (P5/P6) file as Pillow 9.4's
// Image.open(path).convert("RGB") does (image_decode.cpp says how, case by case):
//   - grey is repeated into the three channels; alpha is dropped, not composited;
//   - palette images look each index up, a transparent index included (PNG tRNS, GIF);
//   - 16-bit PNG: RGB(A) and grey+alpha keep the high byte (v >> 8), as PIL does, but 16-bit grey
//     without alpha is clipped, min(v, 255), because PIL opens it as mode "I" (32-bit integers);
//   - CMYK JPEG (Adobe APP14 marker) is converted to RGB; EXIF orientation is NOT applied (fastai
//     applies none: a photo stored sideways stays sideways, as in the notebook).
// JPEG pixels may differ from libjpeg's (PIL's) by a level or two: stb rounds the inverse DCT and
// the chroma upsampling differently.
// A file that is not one of those formats throws an ImageDecodeError that names the file and the
// format it is ("x.webp: WebP images are not supported by Ember's decoder (stb_image)"), as do empty
// files, HTML pages, truncated files (whose pixel data stops before the image is complete; PIL
// raises "image file is truncated" for them, where stb would fill in the rest) and corrupt ones.
// Files over kMaxImagePixels (width x height, read from the header before anything is decoded)
// are refused with an error that gives their size: a few-KB "decompression bomb" must not make
// the loader allocate gigabytes.
// The limit is PIL's: Image.open raises DecompressionBombError above 2 * Image.MAX_IMAGE_PIXELS
// (2 * 89,478,485), so fastai's verify_images calls such files bad too.
constexpr int64_t kMaxImagePixels = 178956970;  // ~537 MB as 8-bit RGB

// What load_image throws for bytes it cannot turn into an image: what() is
// "load_image: cannot decode '<source>': <reason>", and reason alone is kept for listings
// (`ember verify`) and manifests.
struct ImageDecodeError : Error {
  ImageDecodeError(const std::string& source, const std::string& reason);
  std::string source, reason;
};

Image load_image(const std::string& path);
Image decode_image(std::string_view bytes, const std::string& source_name);

// Writes a PNG atomically (a temporary file, then a rename).
void save_png(const Image& image, const std::string& path);
// The bytes of that PNG file (8-bit RGB, stb_image_write's encoder).
std::string encode_png(const Image& image, const std::string& name_for_errors = "image");

// The pixels [left, left + width) x [top, top + height), which must lie inside the image.
Image crop(const Image& image, int64_t left, int64_t top, int64_t width, int64_t height);

// Pillow's Image.resize((width, height), Image.BILINEAR), reproduced exactly (libImaging/Resample.c):
// a triangle filter, widened by the scale when shrinking (so it averages, antialiased), applied
// horizontally into an 8-bit image and then vertically, with Pillow's 22-bit fixed-point weights
// and rounding. Each output pixel x samples the input around center = (x + 0.5) * in / out.
Image resize_bilinear(const Image& image, int64_t width, int64_t height);

}  // namespace ember::vision
