// DuckDuckGo image search, as the Python package duckduckgo_search does it (spec section 1), so
// that `ember crawl` finds the same image URLs the exercise's ddg_images(...) found:
//
//   1. GET <base>/?q=iu+kpop                the search page; it carries a token, vqd="4-2121882807..."
//   2. GET <base>/i.js?l=wt-wt&o=json&q=iu+kpop&vqd=4-21...&f=,,,,,&p=1
//      -> {"results": [{"image": "https://...jpg", "title": ..., ...}], "next": "i.js?...&s=100&..."}
//   3. the same with &s=100 (the offset named in `next`), and so on, until enough images are in hand.
//
//   vision::SearchOptions options;                       // base URL: $EMBER_DDG_URL or duckduckgo.com
//   options.max_results = 200;
//   std::vector<vision::ImageResult> found = vision::search_images("iu kpop", options);
//   for (const auto& r : found) std::puts(r.image.c_str());
//
// Step 1 uses GET <base>/?q=..., as duckduckgo_search 8.x does (2.x POSTed the query as a form; both
// answer with the same page). A plain GET is the simpler request, easy to reproduce with curl when
// a reader wants to see what came back.
//
// Politeness and failure: every request has connect and total time limits; the pages of one search
// are `page_pause_seconds` apart (duckduckgo_search waits 0.75 s before each request); an answer
// that means "not now" (HTTP 202, 403, 418, 429, 5xx, DuckDuckGo's "506-00.js" block page, a
// timeout) is tried again after backoff_seconds, then twice that, ... (each wait at most 60 s), at
// most `tries` times in all. What still fails is an ember::Error in words a user can act on
// ("DuckDuckGo refused the search for 'iu' (HTTP 403 after 3 tries) ... try again later"). A page
// that cannot connect at all is not tried again ("could not connect; are you offline ...").
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ember::vision {

// One search result, reduced to the fields duckduckgo_search keeps.
struct ImageResult {
  std::string title, image, thumbnail, url, source;  // `image` is the picture's own URL
  int64_t height = 0, width = 0;
};

struct SearchOptions {
  std::string base_url = default_search_base_url();
  std::string region = "wt-wt";  // l=: no region (duckduckgo_search 2.x's default)
  std::string safesearch = "1";  // p=: 1 is "moderate", the default (2.4+: On/Moderate 1, Off -1)
  int64_t max_results = 200;     // the exercise's max_results
  int64_t max_pages = 10;        // duckduckgo_search 3.x's limit
  double page_pause_seconds = 0.75;
  int tries = 3;                // per request
  double backoff_seconds = 2;   // before the 2nd try; doubled before each later one
  double timeout_seconds = 20;  // per request, whole transfer
  double connect_timeout_seconds = 10;
  // Called with a line of news ("DuckDuckGo: HTTP 429 for 'iu'; trying again in 2 s (try 2 of 3)"); may be
  // empty.
  std::function<void(const std::string&)> log;

  static std::string default_search_base_url();  // $EMBER_DDG_URL, else https://duckduckgo.com
};

// Runs the search (steps 1-3 above): at most max_results results, each image URL once (the first
// time it appears), in the order DuckDuckGo gave them. Stops at max_results, at a page without
// `next`, at a page that brings no new image, or after max_pages pages. A page that is not JSON or
// has no "results" list ends the search with a logged warning when earlier pages gave results, and
// is an error when it is the first one.
std::vector<ImageResult> search_images(const std::string& query, const SearchOptions& options = {});

// ---- the pieces, public for tests and for readers ---------------------------------------------------

// The vqd token in the search page, in any of the forms duckduckgo_search has parsed over the years
// (8.x tries them in this order): vqd="4-123...", vqd=4-123...& and vqd='4-123...'. A candidate
// counts only when it looks like a token (1-256 characters of [A-Za-z0-9_-]); "" when none does.
std::string extract_vqd(std::string_view page);

// Query-string encoding as Python's urllib.parse.quote_plus: A-Z a-z 0-9 _ . - ~ kept, space -> '+',
// every other byte -> %XX ("iu kpop" -> "iu+kpop", "아이유" -> "%EC%95%84%EC%9D%B4%EC%9C%A0").
std::string url_encode(std::string_view text);

// The i.js URL for one page: <base>/i.js?l=..&o=json&q=..&vqd=..&f=,,,,,&p=..[&s=offset].
std::string image_page_url(const SearchOptions& options, const std::string& query, const std::string& vqd,
                           const std::string& offset);

struct ImagePage {
  std::vector<ImageResult> results;
  std::string next;  // "" when the page has none: the last page
};

// Parses one i.js answer. `source` (the URL) is named in errors: not JSON, not an object, no
// "results" list. Results without an "image" string are skipped; missing fields stay empty/0.
ImagePage parse_image_page(std::string_view json_text, const std::string& source);

// The s= value in a `next` link ("i.js?q=iu&o=json&p=1&s=100&u=bing" -> "100"); "" when absent.
std::string offset_from_next(const std::string& next);

}  // namespace ember::vision
