// See image_files.h.
#include "vision/image_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "tensor/error.h"

namespace ember::vision {

namespace fs = std::filesystem;

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> extensions = {
      ".avif", ".bmp", ".gif", ".heic", ".heif", ".ico", ".ief", ".jpe",  ".jpeg", ".jpg", ".pbm", ".pgm",
      ".png",  ".pnm", ".ppm", ".ras",  ".rgb",  ".svg", ".tif", ".tiff", ".webp", ".xbm", ".xpm", ".xwd"};
  return extensions;
}

bool has_image_extension(const std::string& path) {
  std::string suffix = fs::path(path).extension().string();
  std::transform(suffix.begin(), suffix.end(), suffix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& known = image_extensions();
  return !suffix.empty() && std::binary_search(known.begin(), known.end(), suffix);
}

namespace {

// A folder's identity on disk, the same whichever link led to it.
using FolderId = std::pair<dev_t, ino_t>;

struct Walk {
  std::vector<std::string> folders;  // the top level's allowed sub-folders; empty: all
  std::vector<FolderId> path;        // the folders from the root down to the one being listed
  std::vector<std::string> files;
};

void walk(Walk& state, const fs::path& folder, bool top_level) {
  struct stat info {};
  if (::stat(folder.c_str(), &info) != 0)  // vanished since it was listed, or a broken link
    throw Error("get_image_files: cannot read the folder '" + folder.string() + "': " + std::strerror(errno));
  const FolderId id{info.st_dev, info.st_ino};
  // A symbolic link that points back at a folder on the current path would make the walk endless.
  if (std::find(state.path.begin(), state.path.end(), id) != state.path.end()) return;
  state.path.push_back(id);

  std::error_code error;
  fs::directory_iterator entries(folder, error);
  if (error) throw Error("get_image_files: cannot list the folder '" + folder.string() + "': " + error.message());
  const bool only_named_folders = top_level && !state.folders.empty();
  for (; entries != fs::directory_iterator(); entries.increment(error)) {
    const fs::path& entry = entries->path();
    const std::string name = entry.filename().string();
    std::error_code status_error;
    const fs::file_status status = fs::status(entry, status_error);  // follows links
    if (fs::is_directory(status)) {
      const bool wanted = only_named_folders
                              ? std::find(state.folders.begin(), state.folders.end(), name) != state.folders.end()
                              : name[0] != '.';
      if (wanted) walk(state, entry, false);
    } else if (!only_named_folders && name[0] != '.' && fs::is_regular_file(status) && has_image_extension(name)) {
      state.files.push_back(entry.string());
    }
  }
  if (error) throw Error("get_image_files: cannot list the folder '" + folder.string() + "': " + error.message());
  state.path.pop_back();
}

}  // namespace

std::vector<std::string> get_image_files(const std::string& root, const std::vector<std::string>& folders) {
  std::error_code error;
  EMBER_CHECK(fs::exists(root, error), "get_image_files: the folder '" + root + "' does not exist");
  EMBER_CHECK(fs::is_directory(root, error), "get_image_files: '" + root + "' is not a folder");
  Walk state{folders, {}, {}};
  walk(state, root, true);
  std::sort(state.files.begin(), state.files.end());
  return state.files;
}

}  // namespace ember::vision
