// See image_manifest.h.
#include "vision/image_manifest.h"

#include <filesystem>

#include "tensor/error.h"
#include "tensor/io/csv.h"
#include "tensor/io/file.h"

namespace ember::vision {

namespace {
const std::vector<std::string> kColumns = {"url", "file", "status", "bytes", "sha256", "query", "reason"};
}

ImageManifest::ImageManifest(std::string folder) : folder_(std::move(folder)) {
  const std::string file = path();
  if (!std::filesystem::exists(file)) return;
  const CsvTable table = parse_csv(read_file(file, "manifest"), file, /*allow_no_rows=*/true);
  for (const std::string& column : kColumns) table.column(column);  // an error names a missing column
  const std::vector<double> bytes = table.numbers("bytes");
  const auto urls = table.strings("url"), files = table.strings("file"), statuses = table.strings("status"),
             sha256s = table.strings("sha256"), queries = table.strings("query"), reasons = table.strings("reason");
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const std::string& status = statuses[i];
    EMBER_CHECK(status == "ok" || status == "failed" || status == "duplicate" || status == "deleted",
                file + ": line " + std::to_string(table.line_of_row[i]) + ": status '" + status +
                    "' is not one of ok, failed, duplicate, deleted");
    entries_.push_back({urls[i], files[i], status, static_cast<int64_t>(bytes[i]), sha256s[i], queries[i], reasons[i]});
  }
}

std::string ImageManifest::path() const { return (std::filesystem::path(folder_) / kFileName).string(); }

const ManifestEntry* ImageManifest::find_url(const std::string& url) const {
  for (const ManifestEntry& entry : entries_)
    if (entry.url == url) return &entry;
  return nullptr;
}

const ManifestEntry* ImageManifest::find_sha256(const std::string& sha256) const {
  if (sha256.empty()) return nullptr;
  for (const ManifestEntry& entry : entries_)
    if (entry.status == "ok" && entry.sha256 == sha256) return &entry;
  return nullptr;
}

ManifestEntry* ImageManifest::find_file(const std::string& file) {
  if (file.empty()) return nullptr;
  for (ManifestEntry& entry : entries_)
    if (entry.file == file) return &entry;
  return nullptr;
}

void ImageManifest::add(ManifestEntry entry) {
  for (ManifestEntry& existing : entries_)
    if (existing.url == entry.url) {
      existing = std::move(entry);
      return;
    }
  entries_.push_back(std::move(entry));
}

void ImageManifest::save() const {
  std::string text = csv_line(kColumns);
  for (const ManifestEntry& e : entries_)
    text += csv_line({e.url, e.file, e.status, std::to_string(e.bytes), e.sha256, e.query, e.reason});
  write_file_atomically(path(), text, "manifest");
}

}  // namespace ember::vision
