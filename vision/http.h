// HTTP(S) downloads through libcurl: the one network client of Ember (exercise 3's --data URL,
// later the image crawler and pretrained weights). Every failure is an ember::Error that names the
// URL and what went wrong, in words a user can act on:
//   "GET http://example.org/iris.csv: could not connect (Couldn't connect to server) — offline?"
//   "GET https://.../iris.csv: the server answered HTTP 404"
#pragma once
#include <string>

namespace ember::vision {

struct HttpOptions {
  double timeout_seconds = 30;  // the whole transfer
  double connect_timeout_seconds = 10;
  size_t max_bytes = 64 << 20;  // a larger body is an error, not a full disk
  std::string user_agent = "Ember/0.1 (+https://github.com/ember; libcurl)";
};

// The body of a 2xx answer to GET `url` (redirects followed). Only http:// and https://.
std::string http_get(const std::string& url, const HttpOptions& options = {});

// http_get with a cache: the body is kept in `cache_dir` (default $EMBER_CACHE_DIR, else
// $XDG_CACHE_HOME/ember, else ~/.cache/ember) under a name made from the URL, written atomically,
// and read from there next time without touching the network. `verify` (may be null) is called on
// a fresh download before it is cached, and should throw when the bytes are not what was expected.
std::string download_cached(const std::string& url, void (*verify)(const std::string& bytes) = nullptr,
                            const std::string& cache_dir = "");

std::string default_cache_dir();
bool is_url(const std::string& text);  // starts with http:// or https://

}  // namespace ember::vision
