// See crawl.h.
#include "vision/crawl.h"

#include <chrono>
#include <filesystem>
#include <unordered_set>

#include "tensor/error.h"
#include "tensor/io/file.h"
#include "vision/uuid.h"

namespace ember::vision {

namespace {

namespace fs = std::filesystem;

// How often the manifest is saved while downloads run, so that a killed crawl keeps its record.
constexpr int kSaveEveryResults = 16;
constexpr auto kSaveEveryTime = std::chrono::seconds(5);

// Whether the manifest says this URL needs no new download.
bool already_have(const ManifestEntry* entry, const fs::path& folder) {
  if (!entry) return false;
  if (entry->status == "duplicate" || entry->status == "deleted") return true;  // deleted: removed on purpose
  return entry->status == "ok" && !entry->file.empty() && fs::exists(folder / entry->file);
}

}  // namespace

std::string FolderCrawlCounts::summary() const {
  std::string text = "found " + std::to_string(urls) + " urls: kept " + std::to_string(kept) + ", duplicates " +
                     std::to_string(duplicates) + ", failed " + std::to_string(failed);
  if (!failures.empty()) {
    text += " (";
    for (auto it = failures.begin(); it != failures.end(); ++it)
      text += (it == failures.begin() ? "" : ", ") + it->first + ": " + std::to_string(it->second);
    text += ")";
  }
  return text + ", already had " + std::to_string(already);
}

FolderCrawlCounts download_to_folder(const std::vector<std::string>& urls, const std::string& query,
                                     ImageManifest& manifest, const DownloadOptions& options,
                                     const std::function<void(const FolderCrawlCounts&)>& on_progress) {
  const fs::path folder = manifest.folder();
  std::error_code error;
  fs::create_directories(folder, error);
  EMBER_CHECK(!error && fs::is_directory(folder),
              "crawl: cannot create the folder '" + folder.string() +
                  "': " + (error ? error.message() : std::string("a file of that name is in the way")));

  FolderCrawlCounts counts;
  counts.urls = static_cast<int64_t>(urls.size());
  std::vector<std::string> to_fetch;
  std::unordered_set<std::string> queued;
  for (const std::string& url : urls) {
    if (!queued.insert(url).second || already_have(manifest.find_url(url), folder))
      ++counts.already;
    else
      to_fetch.push_back(url);
  }
  if (on_progress) on_progress(counts);

  int unsaved = 0;
  auto last_save = std::chrono::steady_clock::now();
  // Called for one download at a time (download_images holds a lock), so the checks for equal
  // bytes and the writes cannot race.
  auto record = [&](DownloadedImage& d) {
    ManifestEntry entry{d.url, "", "failed", d.size, "", query, d.reason};
    if (!d.ok) {
      ++counts.failed;
      ++counts.failures[d.reason_kind];
    } else if (const ManifestEntry* same = manifest.find_sha256(d.sha256); same && fs::exists(folder / same->file)) {
      entry.sha256 = d.sha256;
      entry.status = "duplicate";
      entry.reason = "same bytes as " + same->file;
      ++counts.duplicates;
    } else {
      const std::string name = uuid4() + d.suffix;
      AtomicFile file((folder / name).string(), "crawl");  // "<name>.tmp-<pid>" until complete
      file.write(d.body);
      file.commit();
      entry.file = name;
      entry.sha256 = d.sha256;
      entry.status = "ok";
      ++counts.kept;
    }
    manifest.add(std::move(entry));
    const auto now = std::chrono::steady_clock::now();
    if (++unsaved >= kSaveEveryResults || now - last_save >= kSaveEveryTime) {
      manifest.save();
      unsaved = 0;
      last_save = now;
    }
    if (on_progress) on_progress(counts);
  };
  try {
    download_images(to_fetch, options, record);
  } catch (...) {
    try {
      manifest.save();  // keep the record of what was done before the error
    } catch (const Error&) {
    }
    throw;
  }
  manifest.save();
  return counts;
}

}  // namespace ember::vision
