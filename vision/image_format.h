// What an image file is, told from its first bytes, and what its header says, read without
// decoding anything: the checks load_image makes before it hands the bytes to stb_image.
//
//   vision::ImageFormat format = vision::sniff_image_format(bytes);   // ImageFormat::webp
//   image_format_name(format)                                          // "WebP"
//   ember_decodes(format)                                              // false
//   vision::ImageHeader header = vision::read_image_header(bytes, format);
//   header.width, header.height                                        // from the PNG's IHDR, ...
//
// Formats are recognised by their signatures ("magic numbers"), never by the file's suffix: a
// crawled "photo.jpg" is often a WebP image or an HTML error page.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::vision {

enum class ImageFormat {
  unknown,
  // decoded (by stb_image)
  jpeg,
  png,
  gif,
  bmp,
  pnm,  // P5 (grey) and P6 (RGB) binary PNM
  // recognised, not decoded
  pnm_plain,  // P1-P4: ASCII PNM and 1-bit PBM, which stb does not read
  webp,
  tiff,
  avif,
  heic,
  ico,
  jpeg2000,
  psd,
  svg,
  xbm,
  xpm,
  html,  // an HTML page (a web server's error or login page saved under an image name)
};

// "JPEG", "PNG", "WebP", "an HTML page", ...
const char* image_format_name(ImageFormat format);

// True for the formats load_image decodes: JPEG, PNG, GIF, BMP and binary PNM.
bool ember_decodes(ImageFormat format);

// The format whose signature the bytes start with (SVG and HTML: whose tags they start with,
// after white space and an optional <?xml ...?> or <!-- --> prologue); unknown when none matches.
ImageFormat sniff_image_format(std::string_view bytes);

// What the header says. width/height are -1 when the header is cut short or not understood (the
// decoder will then fail with its own reason).
struct ImageHeader {
  int64_t width = -1, height = -1;
  // PNG: IHDR's bit depth (1, 2, 4, 8, 16) and colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha,
  // 6 RGBA); JPEG: the bit depth of the SOF marker and the number of components (1, 3 or 4).
  int bit_depth = 0, colour_type = -1, components = 0;
  bool jpeg_adobe_marker = false;  // JPEG: an APP14 "Adobe" segment (says how 4 components mean CMYK)
  int64_t pnm_maxval = 0;          // PNM: the largest sample value the header declares
  int64_t data_offset = -1;        // PNM: where the samples start; BMP: the pixel array's offset
  int bits_per_pixel = 0;          // BMP
  int64_t compression = 0;         // BMP: 0 none, 3 bit fields (both uncompressed), 1/2 RLE, ...
};
ImageHeader read_image_header(std::string_view bytes, ImageFormat format);

// False when the file is cut short, so that pixels would be missing: stb_image fills them in
// silently for GIF, BMP and PNM, and may for JPEG; PIL raises "image file is truncated". PNG is
// left to png_with_end_chunk() and stb (whose inflate fails on missing data). True for other formats.
//   JPEG: the segments and the entropy-coded data after each SOS marker reach the EOI marker (bytes
//         after EOI are ignored, as PIL ignores them);
//   GIF:  every data sub-block of the first frame is whole and the last one is short (< 255 bytes)
//         or followed by the block terminator;
//   BMP:  uncompressed rows: offset + stride * (height - 1) + the last row without its padding;
//   PNM:  the header, then width * height * channels samples.
bool image_data_complete(std::string_view bytes, ImageFormat format);

// The JPEG rule above on its own: true when the walk through the segments reaches EOI.
bool jpeg_reaches_end_marker(std::string_view bytes);

// PNG: the chunks of a file cut short before IEND (PIL still decodes one whose pixel data is
// complete), made whole again: every complete chunk, the cut IDAT's bytes as a shorter IDAT, then
// an IEND. The same bytes when the file already has its IEND. (stb_image stops at a missing IEND;
// it does not check CRCs, so the rebuilt chunks carry zeros there.)
std::string png_with_end_chunk(std::string_view bytes);

// GIF: what PIL does with the first frame and stb does not do the same way. PIL starts frame 0 as
// a canvas filled with palette index `transparent_index` (index 0 when the frame has none), draws the
// frame's rectangle over it, and convert("RGB") looks every index up in the frame's palette, so a
// transparent pixel shows its palette colour. stb leaves transparent pixels black (alpha 0).
struct GifFirstFrame {
  int64_t left = 0, top = 0, width = 0, height = 0;  // the frame's rectangle on the logical screen
  int transparent_index = -1;                        // from the Graphic Control Extension; -1: none
  std::vector<uint8_t> palette;                      // RGB triples: the local table, else the global one
  bool found = false;                                // false when the bytes end before an image descriptor
  bool data_complete = false;                        // its LZW data sub-blocks are all there (see image_data_complete)
};
GifFirstFrame read_gif_first_frame(std::string_view bytes);

}  // namespace ember::vision
