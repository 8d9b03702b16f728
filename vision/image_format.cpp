// See image_format.h. Every reader here checks each offset against the byte count: the bytes come
// from the network and may be cut anywhere.
#include "vision/image_format.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ember::vision {

namespace {

bool starts_with(std::string_view bytes, std::string_view prefix, size_t at = 0) {
  return bytes.size() >= at + prefix.size() && bytes.compare(at, prefix.size(), prefix) == 0;
}

uint32_t byte_at(std::string_view bytes, size_t i) { return uint8_t(bytes[i]); }
uint32_t big_endian16(std::string_view b, size_t i) { return byte_at(b, i) << 8 | byte_at(b, i + 1); }
uint32_t big_endian32(std::string_view b, size_t i) { return big_endian16(b, i) << 16 | big_endian16(b, i + 2); }
uint32_t little_endian16(std::string_view b, size_t i) { return byte_at(b, i) | byte_at(b, i + 1) << 8; }
uint32_t little_endian32(std::string_view b, size_t i) {
  return little_endian16(b, i) | little_endian16(b, i + 2) << 16;
}

// The text after white space, a UTF-8 byte order mark, and any <?xml ...?>, <!-- ... --> and
// <!DOCTYPE svg ...> prologue, lowercased, at most 512 bytes: where an SVG's or HTML page's first tag is.
std::string first_tag_text(std::string_view bytes) {
  std::string text(bytes.substr(0, 4096));
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  size_t i = starts_with(text, "\xef\xbb\xbf") ? 3 : 0;
  for (;;) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view rest = std::string_view(text).substr(i);
    std::string_view closing;
    if (starts_with(rest, "<?xml")) closing = "?>";
    if (starts_with(rest, "<!--")) closing = "-->";
    if (starts_with(rest, "<!doctype svg")) closing = ">";
    const size_t end = closing.empty() ? std::string::npos : rest.find(closing);
    if (end == std::string::npos) return std::string(rest.substr(0, 512));
    i += end + closing.size();
  }
}

bool is_jpeg_sof(uint32_t marker) {  // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC)
  return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

// PNM header fields: white-space separated decimal numbers, '#' starts a comment to the line's end.
// *end is set to the index after the last number.
bool read_pnm_numbers(std::string_view bytes, int64_t* values, int count, size_t* end) {
  size_t i = 2;
  for (int k = 0; k < count; ++k) {
    for (;;) {
      while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i]))) ++i;
      if (i < bytes.size() && bytes[i] == '#')
        while (i < bytes.size() && bytes[i] != '\n') ++i;
      else
        break;
    }
    if (i >= bytes.size() || !std::isdigit(static_cast<unsigned char>(bytes[i]))) return false;
    int64_t value = 0;
    while (i < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[i])) && value < (int64_t(1) << 40))
      value = value * 10 + (bytes[i++] - '0');
    values[k] = value;
  }
  *end = i;
  return true;
}

}  // namespace

const char* image_format_name(ImageFormat format) {
  switch (format) {
  case ImageFormat::jpeg: return "JPEG";
  case ImageFormat::png: return "PNG";
  case ImageFormat::gif: return "GIF";
  case ImageFormat::bmp: return "BMP";
  case ImageFormat::pnm: return "PNM";
  case ImageFormat::pnm_plain: return "ASCII PNM / 1-bit PBM (P1-P4)";
  case ImageFormat::webp: return "WebP";
  case ImageFormat::tiff: return "TIFF";
  case ImageFormat::avif: return "AVIF";
  case ImageFormat::heic: return "HEIC/HEIF";
  case ImageFormat::ico: return "ICO";
  case ImageFormat::jpeg2000: return "JPEG 2000";
  case ImageFormat::psd: return "PSD";
  case ImageFormat::svg: return "SVG";
  case ImageFormat::xbm: return "XBM";
  case ImageFormat::xpm: return "XPM";
  case ImageFormat::html: return "an HTML page";
  case ImageFormat::unknown: break;
  }
  return "unknown";
}

bool ember_decodes(ImageFormat format) {
  return format == ImageFormat::jpeg || format == ImageFormat::png || format == ImageFormat::gif ||
         format == ImageFormat::bmp || format == ImageFormat::pnm;
}

ImageFormat sniff_image_format(std::string_view bytes) {
  if (starts_with(bytes, "\xff\xd8\xff")) return ImageFormat::jpeg;
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n")) return ImageFormat::png;
  if (starts_with(bytes, "GIF87a") || starts_with(bytes, "GIF89a")) return ImageFormat::gif;
  if (starts_with(bytes, "BM")) return ImageFormat::bmp;
  if (bytes.size() >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6' &&
      std::isspace(static_cast<unsigned char>(bytes[2])))
    return bytes[1] == '5' || bytes[1] == '6' ? ImageFormat::pnm : ImageFormat::pnm_plain;
  if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) return ImageFormat::webp;
  if (starts_with(bytes, std::string_view("II*\0", 4)) || starts_with(bytes, std::string_view("MM\0*", 4)))
    return ImageFormat::tiff;
  if (starts_with(bytes, "ftyp", 4)) {  // ISO base media file: the brand says which
    const std::string_view brand = bytes.substr(8, 4);
    if (brand == "avif" || brand == "avis") return ImageFormat::avif;
    if (brand == "heic" || brand == "heix" || brand == "hevc" || brand == "heim" || brand == "heis" ||
        brand == "mif1" || brand == "msf1")
      return ImageFormat::heic;
  }
  if (starts_with(bytes, std::string_view("\0\0\1\0", 4)) || starts_with(bytes, std::string_view("\0\0\2\0", 4)))
    return ImageFormat::ico;  // (and .cur)
  if (starts_with(bytes, std::string_view("\0\0\0\x0cjP  ", 8)) || starts_with(bytes, "\xff\x4f\xff\x51"))
    return ImageFormat::jpeg2000;
  if (starts_with(bytes, "8BPS")) return ImageFormat::psd;
  if (starts_with(bytes, "/* XPM */")) return ImageFormat::xpm;
  if (starts_with(bytes, "#define ")) return ImageFormat::xbm;
  const std::string tag = first_tag_text(bytes);
  if (starts_with(tag, "<svg")) return ImageFormat::svg;
  if (starts_with(tag, "<!doctype html") || starts_with(tag, "<html") || starts_with(tag, "<head") ||
      starts_with(tag, "<body"))
    return ImageFormat::html;
  return ImageFormat::unknown;
}

ImageHeader read_image_header(std::string_view bytes, ImageFormat format) {
  ImageHeader header;
  switch (format) {
  case ImageFormat::png:  // signature (8), IHDR length (4) and type (4), width, height, depth, colour type
    if (bytes.size() >= 26 && starts_with(bytes, "IHDR", 12)) {
      header.width = big_endian32(bytes, 16);
      header.height = big_endian32(bytes, 20);
      header.bit_depth = int(byte_at(bytes, 24));
      header.colour_type = int(byte_at(bytes, 25));
    }
    break;
  case ImageFormat::gif:  // the logical screen's size, which is the image's size for PIL and stb
    if (bytes.size() >= 10) {
      header.width = little_endian16(bytes, 6);
      header.height = little_endian16(bytes, 8);
    }
    break;
  case ImageFormat::bmp:  // file header (14; pixel offset at 10), then the DIB header: its size says which
    if (bytes.size() >= 30 && little_endian32(bytes, 14) == 12) {  // OS/2 BITMAPCOREHEADER
      header.width = little_endian16(bytes, 18);
      header.height = little_endian16(bytes, 20);
      header.bits_per_pixel = int(little_endian16(bytes, 24));
      header.data_offset = little_endian32(bytes, 10);
    } else if (bytes.size() >= 34) {  // BITMAPINFOHEADER and its successors
      header.width = int32_t(little_endian32(bytes, 18));
      header.height = int32_t(little_endian32(bytes, 22));
      header.height = header.height < 0 ? -header.height : header.height;  // negative: stored top-down
      header.bits_per_pixel = int(little_endian16(bytes, 28));
      header.compression = little_endian32(bytes, 30);
      header.data_offset = little_endian32(bytes, 10);
    }
    break;
  case ImageFormat::pnm: {
    int64_t values[3];
    size_t end = 0;
    if (read_pnm_numbers(bytes, values, 3, &end)) {
      header.width = values[0];
      header.height = values[1];
      header.pnm_maxval = values[2];
      header.data_offset = int64_t(end) + 1;  // one white-space character ends the header
    }
    break;
  }
  case ImageFormat::jpeg: {  // segments: FF <marker> <length, 2 bytes, counting itself> <payload>
    size_t i = 2;
    while (i + 4 <= bytes.size() && byte_at(bytes, i) == 0xff) {
      const uint32_t marker = byte_at(bytes, i + 1);
      if (marker == 0xff) {  // fill byte
        ++i;
        continue;
      }
      const size_t length = big_endian16(bytes, i + 2);
      if (marker == 0xee && starts_with(bytes, "Adobe", i + 4)) header.jpeg_adobe_marker = true;
      if (is_jpeg_sof(marker) && i + 10 <= bytes.size()) {
        header.bit_depth = int(byte_at(bytes, i + 4));
        header.height = big_endian16(bytes, i + 5);
        header.width = big_endian16(bytes, i + 7);
        header.components = int(byte_at(bytes, i + 9));
        break;
      }
      if (marker == 0xda || length < 2) break;  // start of scan before a frame header: broken
      i += 2 + length;
    }
    break;
  }
  default: break;
  }
  return header;
}

bool jpeg_reaches_end_marker(std::string_view bytes) {
  size_t i = 2;  // after SOI
  while (i + 2 <= bytes.size()) {
    if (byte_at(bytes, i) != 0xff) return false;  // a segment must start with a marker: broken
    const uint32_t marker = byte_at(bytes, i + 1);
    if (marker == 0xff) {  // fill byte before a marker
      ++i;
      continue;
    }
    if (marker == 0xd9) return true;                             // EOI
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // TEM, RSTn: no length
      i += 2;
      continue;
    }
    if (i + 4 > bytes.size()) return false;
    i += 2 + big_endian16(bytes, i + 2);
    if (marker != 0xda) continue;
    // Entropy-coded data after SOS: runs until an FF that is followed neither by 00 (a stuffed FF
    // in the data) nor by a restart marker D0..D7.
    for (;; ++i) {
      if (i + 1 >= bytes.size()) return false;
      if (byte_at(bytes, i) != 0xff) continue;
      const uint32_t next = byte_at(bytes, i + 1);
      if (next == 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        ++i;
        continue;
      }
      if (next == 0xff) continue;  // fill bytes: the marker comes after them
      break;
    }
  }
  return false;
}

bool image_data_complete(std::string_view bytes, ImageFormat format) {
  const ImageHeader header = read_image_header(bytes, format);
  switch (format) {
  case ImageFormat::jpeg: return jpeg_reaches_end_marker(bytes);
  case ImageFormat::gif: return read_gif_first_frame(bytes).data_complete;
  case ImageFormat::bmp: {
    if (header.width <= 0 || header.height <= 0 || header.data_offset < 0) return false;
    if (header.compression != 0 && header.compression != 3) return true;  // RLE & co: stb refuses them
    // Rows are padded to a multiple of 4 bytes; PIL does not need the last row's padding.
    const int64_t row_bits = header.width * header.bits_per_pixel, stride = (row_bits + 31) / 32 * 4;
    return int64_t(bytes.size()) >= header.data_offset + stride * (header.height - 1) + (row_bits + 7) / 8;
  }
  case ImageFormat::pnm: {
    if (header.width < 0 || header.height < 0 || header.data_offset < 0) return false;
    const int64_t channels = bytes[1] == '6' ? 3 : 1, sample_bytes = header.pnm_maxval > 255 ? 2 : 1;
    return int64_t(bytes.size()) >= header.data_offset + header.width * header.height * channels * sample_bytes;
  }
  default: return true;
  }
}

std::string png_with_end_chunk(std::string_view bytes) {
  std::string out(bytes.substr(0, std::min<size_t>(8, bytes.size())));
  size_t i = 8;
  // Each chunk: length (4, big-endian), type (4), data (length), CRC (4).
  while (i + 8 <= bytes.size()) {
    const size_t length = big_endian32(bytes, i);
    const std::string_view type = bytes.substr(i + 4, 4);
    if (type == "IEND") return std::string(bytes);
    const size_t available = bytes.size() - (i + 8);
    if (length + 4 <= available) {  // the whole chunk is there
      out.append(bytes.substr(i, 12 + length));
      i += 12 + length;
      continue;
    }
    if (type == "IDAT") {  // cut inside: keep what arrived as a shorter IDAT
      const size_t kept = std::min(length, available);
      const char size_bytes[4] = {char(kept >> 24), char(kept >> 16), char(kept >> 8), char(kept)};
      out.append(size_bytes, 4);
      out.append("IDAT");
      out.append(bytes.substr(i + 8, kept));
      out.append(4, '\0');
    }
    break;
  }
  out.append(std::string_view("\0\0\0\0IEND\xae\x42\x60\x82", 12));
  return out;
}

GifFirstFrame read_gif_first_frame(std::string_view bytes) {
  GifFirstFrame frame;
  if (bytes.size() < 13) return frame;
  // Logical screen descriptor: width, height, flags (bit 7: a global colour table of 2^(n+1) entries).
  const uint32_t screen_flags = byte_at(bytes, 10);
  size_t i = 13;
  std::vector<uint8_t> global_palette;
  if (screen_flags & 0x80) {
    const size_t size = 3 * (size_t(2) << (screen_flags & 7));
    if (i + size > bytes.size()) return frame;
    global_palette.assign(bytes.begin() + long(i), bytes.begin() + long(i + size));
    i += size;
  }
  while (i < bytes.size()) {
    const uint32_t block = byte_at(bytes, i);
    if (block == 0x21 && i + 2 <= bytes.size()) {  // extension: label, then sub-blocks (size byte, data)
      const uint32_t label = byte_at(bytes, i + 1);
      // Graphic Control Extension: size 4, flags (bit 0: transparency), delay (2), transparent index.
      if (label == 0xf9 && i + 7 <= bytes.size() && (byte_at(bytes, i + 3) & 1))
        frame.transparent_index = int(byte_at(bytes, i + 6));
      i += 2;
      while (i < bytes.size() && byte_at(bytes, i) != 0) i += 1 + byte_at(bytes, i);
      ++i;
    } else if (block == 0x2c && i + 10 <= bytes.size()) {  // image descriptor: left, top, width, height, flags
      frame.left = little_endian16(bytes, i + 1);
      frame.top = little_endian16(bytes, i + 3);
      frame.width = little_endian16(bytes, i + 5);
      frame.height = little_endian16(bytes, i + 7);
      const uint32_t flags = byte_at(bytes, i + 9);
      frame.palette = global_palette;
      if (flags & 0x80) {  // a local colour table replaces the global one for this frame
        const size_t size = 3 * (size_t(2) << (flags & 7));
        if (i + 10 + size > bytes.size()) return frame;
        frame.palette.assign(bytes.begin() + long(i + 10), bytes.begin() + long(i + 10 + size));
      }
      frame.found = true;
      // Then the LZW minimum code size and the data sub-blocks: (size byte, data) until a size of 0.
      size_t at = i + 10 + ((flags & 0x80) ? 3 * (size_t(2) << (flags & 7)) : 0) + 1;
      size_t last_size = 255;
      while (at < bytes.size() && byte_at(bytes, at) != 0) {
        last_size = byte_at(bytes, at);
        at += 1 + last_size;
      }
      frame.data_complete = at < bytes.size() || (at == bytes.size() && last_size < 255);
      return frame;
    } else {
      return frame;  // a trailer (3B) or something broken before any frame
    }
  }
  return frame;
}

}  // namespace ember::vision
