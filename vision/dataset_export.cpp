// See dataset_export.h.
#include "vision/dataset_export.h"

#include <filesystem>

#include "tensor/error.h"
#include "tensor/io/csv.h"
#include "tensor/io/file.h"
#include "vision/uuid.h"

namespace ember::vision {

namespace fs = std::filesystem;

namespace {

// `folder`, after creating it and its parents.
std::string created(const std::string& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  EMBER_CHECK(!error, "export: cannot create the folder '" + folder + "': " + error.message());
  return folder;
}

}  // namespace

LabelFolderExport::LabelFolderExport(std::string folder, std::string query, bool with_boxes)
    : folder_(created(folder)), query_(std::move(query)), with_boxes_(with_boxes), manifest_(folder_) {
  const std::string boxes_path = (fs::path(folder_) / kBoxesFileName).string();
  if (!with_boxes_ || !fs::exists(boxes_path)) return;
  const CsvTable table = parse_csv(read_file(boxes_path, "export"), boxes_path, /*allow_no_rows=*/true);
  const auto files = table.strings("file");
  const auto x0 = table.numbers("x0"), y0 = table.numbers("y0"), x1 = table.numbers("x1"), y1 = table.numbers("y1");
  for (size_t i = 0; i < files.size(); ++i)
    boxes_.push_back({files[i], {int64_t(x0[i]), int64_t(y0[i]), int64_t(x1[i]), int64_t(y1[i])}});
}

bool LabelFolderExport::has(const std::string& url) const {
  const ManifestEntry* entry = manifest_.find_url(url);
  if (entry == nullptr) return false;
  return entry->status != "ok" || fs::exists(fs::path(folder_) / entry->file);
}

void LabelFolderExport::add(const std::string& url, Image image, const ObjectBox& box) {
  const ManifestEntry* earlier = manifest_.find_url(url);
  const std::string file = earlier != nullptr && !earlier->file.empty() ? earlier->file : uuid4() + ".png";
  manifest_.add({url, file, "ok", 0, "", query_, ""});
  if (with_boxes_) {
    bool replaced = false;
    for (auto& [name, existing] : boxes_)
      if (name == file) existing = box, replaced = true;
    if (!replaced) boxes_.push_back({file, box});
  }
  pending_.push_back({file, std::move(image)});
}

void LabelFolderExport::flush() {
  if (pending_.empty()) return;
  std::vector<std::string> encoded;
  for (auto& [file, image] : pending_) {
    encoded.push_back(encode_png(image, (fs::path(folder_) / file).string()));
    manifest_.find_file(file)->bytes = int64_t(encoded.back().size());
  }
  manifest_.save();
  if (with_boxes_) {
    std::string text = csv_line({"file", "x0", "y0", "x1", "y1"});
    for (const auto& [file, b] : boxes_)
      text += csv_line({file, std::to_string(b.x0), std::to_string(b.y0), std::to_string(b.x1), std::to_string(b.y1)});
    write_file_atomically((fs::path(folder_) / kBoxesFileName).string(), text, "export");
  }
  for (size_t i = 0; i < pending_.size(); ++i)
    write_file_atomically((fs::path(folder_) / pending_[i].first).string(), encoded[i], "export");
  written_ += int64_t(pending_.size());
  pending_.clear();
}

}  // namespace ember::vision
