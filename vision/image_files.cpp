// See image_files.h.
#include "vision/image_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace ember::vision {

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> extensions = {
      ".avif", ".bmp", ".gif", ".heic", ".heif", ".ico", ".ief", ".jpe",  ".jpeg", ".jpg", ".pbm", ".pgm",
      ".png",  ".pnm", ".ppm", ".ras",  ".rgb",  ".svg", ".tif", ".tiff", ".webp", ".xbm", ".xpm", ".xwd"};
  return extensions;
}

bool has_image_extension(const std::string& path) {
  std::string suffix = std::filesystem::path(path).extension().string();
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& known = image_extensions();
  return !suffix.empty() && std::binary_search(known.begin(), known.end(), suffix);
}

}  // namespace ember::vision
