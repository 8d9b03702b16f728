// load_image / decode_image (image.h): stb_image does the decoding; this file decides first what
// the bytes are (image_format.h) and then makes stb's answer the one Pillow 9.4's
// Image.open(f).convert("RGB") gives, where the two differ:
//
//   case                          PIL                                      here
//   16-bit grey PNG               mode "I"; convert clips: min(v, 255)     stb's 16-bit samples, clipped
//   other 16-bit PNG              high byte (v >> 8)                       stb's 8-bit output (v >> 8)
//   PNG cut after its pixel data  decodes (it never needs IEND)            IEND appended, then stb
//   GIF transparent pixels        the palette colour of their index        stb gives black: repainted
//   GIF screen outside frame 0    palette colour of the transparent index  repainted
//                                 (index 0 when none)
//   JPEG without EOI, GIF, BMP    "image file is truncated"                refused (stb fills the rest in)
//   or PNM cut short
//   PNM with maxval != 255        rescaled (8-bit) or mode "I" (16-bit)    refused: stb does not rescale
//   4-component JPEG, no Adobe    CMYK                                     refused: stb reads it as YCbCr
//
// The tests compare every case with PIL's own output (tests/golden/make_decode_fixtures.py).
#include <algorithm>
#include <cstring>
#include <memory>

#if defined(__SSSE3__)
#include <immintrin.h>  // rgba_to_rgb
#endif

#include "tensor/io/file.h"
#include "vision/image.h"
#include "vision/image_format.h"

#ifdef EMBER_HAVE_STB
#include <stb/stb_image.h>
#endif

namespace ember::vision {

ImageDecodeError::ImageDecodeError(const std::string& source_, const std::string& reason_)
    : Error("load_image: cannot decode '" + source_ + "': " + reason_), source(source_), reason(reason_) {}

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& reason) { throw ImageDecodeError(source, reason); }

std::string first_bytes_in_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < std::min<size_t>(8, bytes.size()); ++i) {
    if (i) hex += ' ';
    hex += digits[uint8_t(bytes[i]) >> 4];
    hex += digits[uint8_t(bytes[i]) & 15];
  }
  return hex;
}

// The checks made before decoding: what the file is, whether Ember reads it, how big it says it is.
ImageHeader check_before_decoding(std::string_view bytes, ImageFormat format, const std::string& source) {
  if (format == ImageFormat::unknown)
    fail(source, "not an image: its first bytes (" + first_bytes_in_hex(bytes) +
                     ") match no image format Ember knows (it decodes JPEG, PNG, GIF, BMP and PNM)");
  if (format == ImageFormat::html) fail(source, "an HTML page, not an image");
  if (!ember_decodes(format))
    fail(source, std::string(image_format_name(format)) +
                     " images are not supported by Ember's decoder (stb_image; it reads JPEG, PNG, GIF, BMP, PNM)");
  const ImageHeader header = read_image_header(bytes, format);
  if (header.width >= 0 && header.height >= 0 && header.width * header.height > kMaxImagePixels)
    fail(source, "its header says it is " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                     " pixels, over the limit of " + std::to_string(kMaxImagePixels) +
                     " (vision::kMaxImagePixels): not decoded");
  if (format == ImageFormat::jpeg) {
    if (header.components == 4 && !header.jpeg_adobe_marker)
      fail(source,
           "a 4-channel (CMYK) JPEG without an Adobe APP14 marker is not supported by Ember's decoder "
           "(stb_image would read it as YCbCr)");
  }
  if (!image_data_complete(bytes, format))
    fail(source, "truncated: the " + std::string(image_format_name(format)) +
                     " data ends before the image is complete" +
                     (format == ImageFormat::jpeg ? " (no end-of-image marker)" : ""));
  if (format == ImageFormat::pnm && header.pnm_maxval != 255)
    fail(source, "a PNM file with maximum value " + std::to_string(header.pnm_maxval) +
                     " is not supported by Ember's decoder (only 255: stb_image does not rescale samples)");
  return header;
}

#ifdef EMBER_HAVE_STB

struct StbFree {
  void operator()(void* data) const { stbi_image_free(data); }
};

// stb's 8-bit decode with `channels` output channels (3: RGB, 4: RGBA); fails with stb's reason.
std::unique_ptr<stbi_uc, StbFree> stb_decode(std::string_view bytes, int channels, int* width, int* height,
                                             const std::string& source, const std::string& what_failed) {
  int channels_in_file = 0;
  stbi_uc* data = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), width,
                                        height, &channels_in_file, channels);
  if (data == nullptr) fail(source, what_failed + " (stb_image: " + stbi_failure_reason() + ")");
  return std::unique_ptr<stbi_uc, StbFree>(data);
}

// Drops the A of `pixels` RGBA pixels: out[3 i + c] = in[4 i + c].
void rgba_to_rgb(const uint8_t* in, size_t pixels, uint8_t* out) {
  size_t i = 0;
#if defined(__SSSE3__)
  // 4 pixels at a time: one byte shuffle packs 16 bytes of RGBA into 12 of RGB. The 16-byte store
  // also writes 4 bytes past them, which the next group overwrites, so stop 2 pixels early.
  const __m128i pack = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
  for (; i + 6 <= pixels; i += 4) {
    const __m128i rgba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 4 * i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 3 * i), _mm_shuffle_epi8(rgba, pack));
  }
#endif
  for (; i < pixels; ++i) std::memcpy(out + 3 * i, in + 4 * i, 3);
}

// A 16-bit grey PNG: PIL's mode "I" converted to RGB clips each sample to 0..255.
Image decode_grey16_png(std::string_view bytes, const std::string& source, const std::string& what_failed) {
  int width = 0, height = 0, channels_in_file = 0;
  stbi_us* data = stbi_load_16_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &width,
                                           &height, &channels_in_file, 1);
  if (data == nullptr) fail(source, what_failed + " (stb_image: " + stbi_failure_reason() + ")");
  std::unique_ptr<stbi_us, StbFree> samples(data);
  Image image(width, height);
  for (size_t i = 0; i < size_t(width) * size_t(height); ++i)  // (H, W) -> (H, W, 3)
    std::fill_n(&image.pixels[3 * i], 3, uint8_t(std::min<stbi_us>(samples.get()[i], 255)));
  return image;
}

// A GIF's first frame with PIL's colours for transparent pixels and the screen outside the frame.
Image decode_gif(std::string_view bytes, const std::string& source) {
  int width = 0, height = 0;
  auto rgba = stb_decode(bytes, 4, &width, &height, source, "GIF data is corrupt");
  const GifFirstFrame frame = read_gif_first_frame(bytes);
  // Palette index -> RGB as PIL's convert does: a missing table means grey levels, a short one black.
  auto colour_of = [&](int index, uint8_t* rgb) {
    if (frame.palette.empty())
      std::fill_n(rgb, 3, uint8_t(index));
    else if (size_t(3 * index + 2) < frame.palette.size())
      std::copy_n(&frame.palette[size_t(3 * index)], 3, rgb);
    else
      std::fill_n(rgb, 3, uint8_t(0));
  };
  uint8_t fill[3], transparent[3] = {0, 0, 0};
  colour_of(frame.transparent_index >= 0 ? frame.transparent_index : 0, fill);
  if (frame.transparent_index >= 0) colour_of(frame.transparent_index, transparent);
  Image image(width, height);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x) {
      const uint8_t* in = rgba.get() + (y * width + x) * 4;
      uint8_t* out = &image.pixels[size_t((y * width + x) * 3)];
      const bool in_frame =
          x >= frame.left && x < frame.left + frame.width && y >= frame.top && y < frame.top + frame.height;
      if (!frame.found || (in_frame && in[3] != 0))
        std::copy_n(in, 3, out);
      else
        std::copy_n(in_frame ? transparent : fill, 3, out);  // alpha 0 in the frame: the transparent index
    }
  return image;
}

#endif

}  // namespace

Image decode_image(std::string_view bytes, const std::string& source_name) {
  if (bytes.empty()) fail(source_name, "the file is empty (0 bytes), not an image");
  if (bytes.size() > size_t(INT32_MAX)) fail(source_name, "larger than 2 GiB");
  const ImageFormat format = sniff_image_format(bytes);
  const ImageHeader header = check_before_decoding(bytes, format, source_name);
#ifdef EMBER_HAVE_STB
  std::string repaired;
  std::string what_failed = std::string(image_format_name(format)) + " data is corrupt";
  if (format == ImageFormat::png) {
    repaired = png_with_end_chunk(bytes);
    if (repaired != bytes) {
      what_failed = "truncated: the PNG ends before its pixel data is complete";
      bytes = repaired;
    }
    if (header.bit_depth == 16 && header.colour_type == 0) return decode_grey16_png(bytes, source_name, what_failed);
  }
  if (format == ImageFormat::gif) return decode_gif(bytes, source_name);
  int width = 0, height = 0;
  if (format == ImageFormat::jpeg && header.components == 3) {
    // stb converts YCbCr to RGB with SIMD only when it writes 4 bytes a pixel (RGBA), and the
    // conversion is a fifth of a JPEG's decoding time: decode to RGBA and drop the A here.
    auto rgba = stb_decode(bytes, 4, &width, &height, source_name, what_failed);
    Image image(width, height);
    rgba_to_rgb(rgba.get(), size_t(width) * size_t(height), image.pixels.data());
    return image;
  }
  auto data = stb_decode(bytes, 3, &width, &height, source_name, what_failed);
  Image image(width, height);
  std::memcpy(image.pixels.data(), data.get(), image.pixels.size());
  return image;
#else
  (void)header;
  throw Error("load_image: cannot decode '" + source_name +
              "': Ember was built without stb (image files): install libstb-dev (scripts/setup) and rebuild");
#endif
}

Image load_image(const std::string& path) { return decode_image(read_file(path, "load_image"), path); }

}  // namespace ember::vision
