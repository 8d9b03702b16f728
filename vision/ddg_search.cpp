// See ddg_search.h.
#include "vision/ddg_search.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unordered_set>

#include "tensor/error.h"
#include "tensor/io/json.h"
#include "vision/http.h"

namespace ember::vision {

namespace {

// The browser duckduckgo_search 2.x presented itself as; DuckDuckGo answers scripts that say
// "curl" or "Ember" with a block page more readily.
constexpr double kLongestBackoffSeconds = 60;  // however many tries are asked for

constexpr const char* kSearchUserAgent = "Mozilla/5.0 (Windows NT 10.0; rv:102.0) Gecko/20100101 Firefox/102.0";

std::string trimmed_base(const SearchOptions& options) {
  std::string base = options.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

HttpOptions search_http_options(const SearchOptions& options) {
  HttpOptions http;
  http.timeout_seconds = options.timeout_seconds;
  http.connect_timeout_seconds = options.connect_timeout_seconds;
  http.max_bytes = 16 << 20;  // a results page is tens of KB
  http.user_agent = kSearchUserAgent;
  http.headers = {"Referer: " + trimmed_base(options) + "/", "Accept-Language: en-US,en;q=0.5"};
  return http;
}

void pause(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// DuckDuckGo's block page is a redirect to a script named like "506-00.js" (duckduckgo_search
// 3.9+ checks the final URL against \d{3}-\d{2}\.js).
bool is_block_page(const std::string& final_url) {
  const std::string path = final_url.substr(0, final_url.find_first_of("?#"));
  const std::string name = path.substr(path.find_last_of('/') + 1);
  if (name.size() != 9 || name.compare(6, 3, ".js") != 0 || name[3] != '-') return false;
  for (int i : {0, 1, 2, 4, 5})
    if (!std::isdigit(static_cast<unsigned char>(name[size_t(i)]))) return false;
  return true;
}

// Whether waiting and asking again may help: "not now" answers and transfers that timed out or broke.
bool worth_retrying(const HttpResponse& r) {
  if (!r.ok()) return r.failure == HttpFailure::timed_out || r.failure == HttpFailure::other;
  const long s = r.status;
  return s == 202 || s == 403 || s == 418 || s == 429 || s >= 500 || is_block_page(r.final_url);
}

[[noreturn]] void throw_search_failure(const HttpResponse& r, const std::string& query, const std::string& url,
                                       int tries, const HttpOptions& http) {
  const std::string search = "the search for '" + query + "'";
  const std::string after = " after " + std::to_string(tries) + (tries == 1 ? " try" : " tries");
  if (!r.ok())
    throw Error("DuckDuckGo: " + search + " failed: GET " + url + ": " + describe_failure(r, http) +
                (tries > 1 ? " (" + std::to_string(tries) + " tries)" : ""));
  const std::string status = "HTTP " + std::to_string(r.status);
  if (r.status == 403 || r.status == 418 || is_block_page(r.final_url))
    throw Error("DuckDuckGo refused " + search + " (" + (r.status == 200 ? "block page " + r.final_url : status) +
                after + "): it blocks clients that search too often or look like scripts; try again later");
  if (r.status == 202 || r.status == 429)
    throw Error("DuckDuckGo is rate-limiting " + search + " (" + status + after +
                "); wait a while and try again later");
  if (r.status >= 500) throw Error("DuckDuckGo failed " + search + " (" + status + after + "); try again later");
  throw Error("DuckDuckGo answered " + status + " to GET " + url + " (" + search + ")");
}

// GET with the retry policy of ddg_search.h: the answer once it is a 200, else an Error.
std::string fetch_with_retries(const std::string& url, const std::string& query, const SearchOptions& options) {
  const HttpOptions http = search_http_options(options);
  const int tries = std::max(options.tries, 1);
  HttpResponse response;
  for (int attempt = 1; attempt <= tries; ++attempt) {
    response = http_fetch(url, http);
    if (response.ok() && response.status == 200 && !is_block_page(response.final_url)) return response.body;
    if (!worth_retrying(response) || attempt == tries) {
      throw_search_failure(response, query, url, attempt, http);
    }
    const double wait = std::min(kLongestBackoffSeconds, options.backoff_seconds * std::pow(2.0, attempt - 1));
    if (options.log) {
      const std::string what =
          response.ok() ? "HTTP " + std::to_string(response.status) : describe_failure(response, http);
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%g", wait);
      options.log("DuckDuckGo: " + what + " for '" + query + "'; trying again in " + seconds + " s (try " +
                  std::to_string(attempt + 1) + " of " + std::to_string(tries) + ")");
    }
    pause(wait);
  }
  throw_search_failure(response, query, url, tries, http);  // not reached: the loop returns or throws
}

bool is_token_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// The text between the first `open` and the next `close` after it, if it looks like a token.
std::string token_between(std::string_view page, std::string_view open, char close) {
  const size_t start = page.find(open);
  if (start == std::string_view::npos) return "";
  const size_t begin = start + open.size();
  const size_t end = page.find(close, begin);
  if (end == std::string_view::npos || end == begin || end - begin > 256) return "";
  const std::string_view token = page.substr(begin, end - begin);
  for (char c : token)
    if (!is_token_char(c)) return "";
  return std::string(token);
}

std::string string_field(const json::Value& object, std::string_view key) {
  const json::Value* value = object.find(key);
  return value && value->is_string() ? value->as_string() : "";
}

int64_t integer_field(const json::Value& object, std::string_view key) {
  const json::Value* value = object.find(key);
  return value && value->is_number() ? static_cast<int64_t>(value->as_double()) : 0;
}

}  // namespace

std::string SearchOptions::default_search_base_url() {
  if (const char* url = std::getenv("EMBER_DDG_URL"); url && *url) return url;
  return "https://duckduckgo.com";
}

std::string extract_vqd(std::string_view page) {
  for (auto [open, close] : {std::pair<std::string_view, char>{"vqd=\"", '"'}, {"vqd=", '&'}, {"vqd='", '\''}})
    if (std::string token = token_between(page, open, close); !token.empty()) return token;
  return "";
}

std::string url_encode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '_' || c == '.' || c == '-' || c == '~')
      out += c;
    else if (c == ' ')
      out += '+';
    else
      out += {'%', kHex[byte >> 4], kHex[byte & 15]};
  }
  return out;
}

std::string image_page_url(const SearchOptions& options, const std::string& query, const std::string& vqd,
                           const std::string& offset) {
  std::string url = trimmed_base(options) + "/i.js?l=" + url_encode(options.region) + "&o=json&q=" + url_encode(query) +
                    "&vqd=" + url_encode(vqd) + "&f=,,,,,&p=" + url_encode(options.safesearch);
  if (!offset.empty()) url += "&s=" + url_encode(offset);
  return url;
}

ImagePage parse_image_page(std::string_view json_text, const std::string& source) {
  json::Value page;  // kept alive while its results are read
  try {
    page = json::parse(json_text);
  } catch (const Error& e) {
    throw Error("DuckDuckGo's answer from " + source + " is not JSON: " + e.what());
  }
  const json::Value* results = page.is_object() ? page.find("results") : nullptr;
  if (!results || !results->is_array())
    throw Error("DuckDuckGo's answer from " + source + " has no \"results\" list (" +
                (page.is_object() ? "an object without it" : std::string("a JSON ") + json::type_name(page.type())) +
                "): the search is blocked or its format changed");
  ImagePage out;
  for (const json::Value& item : results->as_array()) {
    if (!item.is_object()) continue;
    ImageResult r{string_field(item, "title"), string_field(item, "image"),  string_field(item, "thumbnail"),
                  string_field(item, "url"),   string_field(item, "source"), integer_field(item, "height"),
                  integer_field(item, "width")};
    if (!r.image.empty()) out.results.push_back(std::move(r));
  }
  out.next = string_field(page, "next");
  return out;
}

std::string offset_from_next(const std::string& next) {
  const size_t question = next.find('?');
  std::string_view query =
      question == std::string::npos ? std::string_view(next) : std::string_view(next).substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.rfind("s=", 0) == 0) return std::string(pair.substr(2));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

std::vector<ImageResult> search_images(const std::string& query, const SearchOptions& options) {
  EMBER_CHECK(!query.empty(), "search_images: the query is empty");
  const std::string page_url = trimmed_base(options) + "/?q=" + url_encode(query);
  const std::string vqd = extract_vqd(fetch_with_retries(page_url, query, options));
  EMBER_CHECK(!vqd.empty(), "DuckDuckGo answered without a vqd token for '" + query + "' (GET " + page_url +
                                "; the search is blocked or its page changed)");
  std::vector<ImageResult> found;
  std::unordered_set<std::string> seen;  // image URLs, across pages
  std::string offset;                    // s=, from the previous page's `next`
  for (int64_t page = 1; page <= options.max_pages; ++page) {
    pause(options.page_pause_seconds);
    const std::string url = image_page_url(options, query, vqd, offset);
    ImagePage parsed;
    try {
      parsed = parse_image_page(fetch_with_retries(url, query, options), url);
    } catch (const Error& e) {
      if (found.empty()) throw;
      if (options.log)
        options.log(std::string(e.what()) + "; keeping the " + std::to_string(found.size()) + " found so far");
      break;
    }
    int64_t new_images = 0;
    for (ImageResult& r : parsed.results) {
      if (static_cast<int64_t>(found.size()) >= options.max_results) break;
      if (!seen.insert(r.image).second) continue;
      found.push_back(std::move(r));
      ++new_images;
    }
    if (static_cast<int64_t>(found.size()) >= options.max_results || new_images == 0) break;
    offset = offset_from_next(parsed.next);
    if (offset.empty()) break;  // no `next`: the last page
  }
  return found;
}

}  // namespace ember::vision
