// The crawl of one label folder: image URLs (from vision/ddg_search.h) downloaded into
// images/<split>/<label>/ with a manifest.csv that records every URL's fate, so that
//   * a file in the folder is a complete image (written to a temporary name, renamed when whole),
//   * the same URL is not fetched twice, and the same bytes are not kept twice, and
//   * a second run resumes: it skips what the manifest says it has and tries failures again.
//
//   vision::ImageManifest manifest("images/train/iu");
//   vision::FolderCrawlCounts counts =
//       vision::download_to_folder(urls, "iu kpop", manifest, vision::DownloadOptions{});
//   std::puts(counts.summary().c_str());   // "found 200 urls: kept 171, duplicates 4, failed 25 (...)"
//
// Files are named like fastai's: uuid4() + suffix (vision/image_downloader.h says which suffix).
// Unlike fastai, the folder and its parents are created when missing.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vision/image_downloader.h"
#include "vision/image_manifest.h"

namespace ember::vision {

struct FolderCrawlCounts {
  int64_t urls = 0;        // the URLs asked for
  int64_t already = 0;     // skipped: the manifest has them (ok with the file present, duplicate, or deleted)
  int64_t kept = 0;        // new files in the folder
  int64_t duplicates = 0;  // same bytes as a kept file: recorded, not written
  int64_t failed = 0;
  std::map<std::string, int64_t> failures;  // reason kind ("HTTP 404", "timed out", ...) -> count
  int64_t done() const { return already + kept + duplicates + failed; }
  // "found 200 urls: kept 171, duplicates 4, failed 25 (HTTP 404: 12, timed out: 3, ...), 0 already had"
  std::string summary() const;
};

// Downloads `urls` into manifest.folder() as described above. Each URL's outcome is added to the
// manifest (query = `query`), which is saved every few results and at the end (also when an error
// stops the crawl, e.g. a full disk: the error is rethrown after the save). on_progress, if set,
// is called after each URL with the counts so far.
FolderCrawlCounts download_to_folder(const std::vector<std::string>& urls, const std::string& query,
                                     ImageManifest& manifest, const DownloadOptions& options,
                                     const std::function<void(const FolderCrawlCounts&)>& on_progress = {});

}  // namespace ember::vision
