// `ember crawl`: step 1 of exercise 1. Search DuckDuckGo images for one or more queries and
// download up to --max images per query into <out>/<split>/<label>/, as the seed did with
// ddg_images(...) + download_images(...):
//
//   ember crawl --label iu --query iu --query "iu kpop"             -> images/train/iu/
//   ember crawl --label iu --query "iu photo" --split test           -> images/test/iu/
//
// What it does, and where it differs from fastai (vision/ddg_search.h, vision/image_downloader.h
// and vision/crawl.h have the details):
//   - the search pages through i.js results (the vqd token first), at most --max URLs per query;
//   - --workers threads download them, each image with --connect-timeout and --timeout limits and
//     at most --max-bytes; only complete images that decode are kept, as <uuid4><suffix>, written
//     under a temporary name and renamed when whole;
//   - manifest.csv in the folder records every URL (ok, failed + reason, duplicate bytes); a second
//     run skips what it already has and tries failures again;
//   - the folder and its parents are created (fastai's dest.mkdir needs the parent to exist);
//   - URLs are fetched with their query string (fastai drops it);
//   - --pause seconds pass between searches (the seed's time.sleep(10)); the pages of one search
//     wait min(0.75, --pause) s each; answers that mean "not now" (202, 403, 429, 5xx) are tried
//     again after --backoff, 2x --backoff, ... seconds, --tries times in all.
//
// Exit status: 0 when the searches ran (even if some downloads failed), 1 when a search failed
// (blocked, offline, no token) or the folder could not be written, 2 on a usage error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "apps/commands.h"
#include "apps/common/cli.h"
#include "apps/common/crawl_query.h"
#include "tensor/error.h"
#include "vision/crawl.h"
#include "vision/ddg_search.h"
#include "vision/http.h"

namespace ember::app {

namespace {

// A label is one folder name that the folder datasets will read (they skip hidden folders).
std::string label_problem(const std::string& label) {
  if (label.empty()) return "--label is required (the folder name, e.g. --label iu)";
  if (label.find('/') != std::string::npos || label.find('\\') != std::string::npos)
    return "--label '" + label + "' must be a single folder name, without '/'";
  if (label[0] == '.')
    return "--label '" + label + "' must not start with '.' (hidden folders are not read as classes)";
  return "";
}

}  // namespace

int run_crawl(int argc, char** argv) {
  Cli cli("ember crawl",
          "Search DuckDuckGo images and download them into OUT/SPLIT/LABEL/ with a manifest.csv.\n"
          "Exit status: 0 the searches ran (some downloads may have failed), 1 a search failed, 2 usage error.");
  std::string label, split = "train", out = "images", search_url = vision::SearchOptions::default_search_base_url();
  int64_t max_images = 200, workers = 8, max_bytes = 20 << 20, tries = 3;
  double pause = 10, timeout = 20, connect_timeout = 10, backoff = 2;
  cli.option("--label", &label, "the class: the folder the images go into (required)");
  std::vector<std::string> queries;
  cli.repeated("--query", &queries, "a search (default: the label)");
  cli.option("--split", &split, "train or test");
  cli.option("--out", &out, "the dataset folder");
  cli.option("--max", &max_images, "image URLs to take from each search", 1);
  cli.option("--workers", &workers, "parallel downloads", 1);
  cli.option("--timeout", &timeout, "seconds per image, the whole transfer");
  cli.option("--connect-timeout", &connect_timeout, "seconds to connect, per request");
  cli.option("--max-bytes", &max_bytes, "largest image kept, in bytes", 1);
  cli.option("--pause", &pause, "seconds between searches (0: no pauses at all)");
  cli.option("--backoff", &backoff, "seconds before a refused search request is tried again (doubled each time)");
  cli.option("--tries", &tries, "tries per search request", 1);
  cli.option("--search-url", &search_url, "DuckDuckGo's address (or $EMBER_DDG_URL)");

  if (!cli.parse(argc, argv)) return cli.exit_code();
  std::string problem = label_problem(label);
  if (problem.empty() && split != "train" && split != "test")
    problem = "--split must be train or test, got '" + split + "'";
  if (problem.empty() && !vision::is_url(search_url))
    problem = "--search-url must start with http:// or https://, got '" + search_url + "'";
  if (problem.empty() && (timeout <= 0 || connect_timeout <= 0 || pause < 0 || backoff < 0))
    problem = "--timeout and --connect-timeout must be positive, --pause and --backoff not negative";
  if (queries.empty()) queries.push_back(label);
  for (const std::string& query : queries)
    if (problem.empty() && query.empty()) problem = "--query must not be empty";
  if (!problem.empty()) {
    std::fprintf(stderr, "ember crawl: %s (see --help)\n", problem.c_str());
    return 2;
  }

  vision::SearchOptions search;
  search.base_url = search_url;
  search.max_results = max_images;
  search.page_pause_seconds = std::min(0.75, pause);
  search.tries = int(tries);
  search.backoff_seconds = backoff;
  search.connect_timeout_seconds = connect_timeout;
  search.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  vision::DownloadOptions download;
  download.workers = workers;
  download.timeout_seconds = timeout;
  download.connect_timeout_seconds = connect_timeout;
  download.max_bytes = max_bytes;

  const std::string folder = (std::filesystem::path(out) / split / label).string();
  try {
    vision::ImageManifest manifest(folder);
    for (size_t i = 0; i < queries.size(); ++i) {
      const std::string& query = queries[i];
      if (i > 0 && pause > 0) {
        std::fprintf(stderr, "waiting %g s before the next search (--pause)\n", pause);
        std::this_thread::sleep_for(std::chrono::duration<double>(pause));
      }
      const vision::FolderCrawlCounts counts = crawl_query(query, manifest, search, download);
      std::printf("%s: %s\n", query.c_str(), counts.summary().c_str());
      std::fflush(stdout);
    }
    int64_t kept = 0;
    for (const vision::ManifestEntry& entry : manifest.entries()) kept += entry.status == "ok";
    std::printf("%s: %lld images (%s)\n", folder.c_str(), static_cast<long long>(kept), manifest.path().c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "ember crawl: %s\n", e.what());
    return 1;
  }
}

}  // namespace ember::app
