// See crawl_query.h.
#include "apps/common/crawl_query.h"

#include <cstdio>
#include <vector>

#include "apps/common/progress.h"

namespace ember::app {

vision::FolderCrawlCounts crawl_query(const std::string& query, vision::ImageManifest& manifest,
                                      const vision::SearchOptions& search, const vision::DownloadOptions& download) {
  std::fprintf(stderr, "searching DuckDuckGo images for '%s'\n", query.c_str());
  std::vector<std::string> urls;
  for (const vision::ImageResult& result : vision::search_images(query, search)) urls.push_back(result.image);
  ProgressBar bar(query, int64_t(urls.size()));
  auto status = [](const vision::FolderCrawlCounts& c) {
    return "ok " + std::to_string(c.kept) + " failed " + std::to_string(c.failed) +
           (c.duplicates ? " duplicates " + std::to_string(c.duplicates) : "");
  };
  const vision::FolderCrawlCounts counts = vision::download_to_folder(
      urls, query, manifest, download, [&](const vision::FolderCrawlCounts& c) { bar.update(c.done(), status(c)); });
  bar.finish(status(counts));
  return counts;
}

}  // namespace ember::app
