// One DuckDuckGo search's images into one label folder, with a progress bar: what `ember crawl`
// (apps/crawl.cpp) and ember_ex1 (apps/ex1_data.cpp) do for each query.
//
//   vision::ImageManifest manifest("images/train/iu");
//   vision::FolderCrawlCounts counts = app::crawl_query("iu kpop", manifest, search, download);
//   std::printf("%s\n", counts.summary().c_str());
#pragma once
#include <string>

#include "vision/crawl.h"
#include "vision/ddg_search.h"

namespace ember::app {

// search_images(query, search), then download_to_folder(...) of their image URLs; errors of the
// search (blocked, offline, no token) are thrown as they come.
vision::FolderCrawlCounts crawl_query(const std::string& query, vision::ImageManifest& manifest,
                                      const vision::SearchOptions& search, const vision::DownloadOptions& download);

}  // namespace ember::app
