// Writing converted or generated images the way a crawl leaves them: <out>/<split>/<label>/<uuid>.png
// with the folder's manifest.csv (image_manifest.h), and for datasets with object boxes a boxes.csv.
// `ember data fashion-mnist` and `ember data shapes` use it, so their folders read like crawled ones.
//
//   vision::LabelFolderExport folder("images/train/coat", "ember data fashion-mnist");
//   if (!folder.has(url)) folder.add(url, image);
//   folder.flush();                      // manifest.csv first, then the PNG files, each atomically
//
// Reruns resume: has(url) is true for every URL the manifest already lists (a deleted or failed
// one included), except an "ok" one whose file is missing, which add() writes again under its old
// name. Because flush() writes the manifest before the images, an interrupted export leaves at worst
// manifest rows whose files are missing, and the next run fills exactly those in: no duplicates and
// no files the manifest does not know.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vision/image.h"
#include "vision/image_manifest.h"

namespace ember::vision {

// An object's bounding box in pixels: columns [x0, x1) and rows [y0, y1) (right and bottom exclusive).
struct ObjectBox {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// What an export did: images written now, and images a previous run had already written.
struct ExportCounts {
  int64_t written = 0, already_there = 0;
};

class LabelFolderExport {
 public:
  static constexpr const char* kBoxesFileName = "boxes.csv";  // file,x0,y0,x1,y1

  // Creates `folder` (and its parents) and reads its manifest.csv and boxes.csv when they exist.
  LabelFolderExport(std::string folder, std::string query, bool with_boxes = false);

  bool has(const std::string& url) const;
  // Queues one image (and its box when the export has boxes) under a new uuid4 name.
  void add(const std::string& url, Image image, const ObjectBox& box = {});
  // Writes what add() queued: manifest.csv (and boxes.csv), then each PNG.
  void flush();

  const std::string& folder() const { return folder_; }
  int64_t written() const { return written_; }
  int64_t pending() const { return int64_t(pending_.size()); }
  const std::vector<std::pair<std::string, ObjectBox>>& boxes() const { return boxes_; }

 private:
  std::string folder_, query_;
  bool with_boxes_;
  ImageManifest manifest_;
  std::vector<std::pair<std::string, ObjectBox>> boxes_;  // (file, box), in the order written
  std::vector<std::pair<std::string, Image>> pending_;    // (file, image) not yet written
  int64_t written_ = 0;
};

}  // namespace ember::vision
