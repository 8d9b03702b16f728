// HTTP(S) downloads through libcurl: the one network client of Ember (exercise 3's --data URL,
// later the image crawler and pretrained weights). Every failure is an ember::Error that names the
// URL and what went wrong, in words a user can act on:
//   "GET http://example.org/iris.csv: could not connect (Couldn't connect to server) — offline?"
//   "GET https://.../iris.csv: the server answered HTTP 404"
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/error.h"

namespace ember::vision {

struct HttpOptions {
  double timeout_seconds = 30;  // the whole transfer; 0: no limit
  double connect_timeout_seconds = 10;
  double stall_seconds = 0;     // > 0: give up (timed_out) when no byte of the body comes for this long
  size_t max_bytes = 64 << 20;  // a larger body is an error, not a full disk
  std::string user_agent = "Ember/0.1 (+https://github.com/ember; libcurl)";
  std::vector<std::string> headers;  // extra request headers, each "Name: value"
  long max_redirects = 10;
};

// Why a request brought back no complete answer (an HTTP error status is not one of these: the
// answer came; its status says what it is).
enum class HttpFailure {
  none,
  not_http,           // the URL is not http:// or https://
  could_not_resolve,  // DNS: unknown host, or no network
  could_not_connect,  // nothing listens there, or no network
  timed_out,          // the connect or the whole-transfer limit ran out
  too_large,          // Content-Length or the bytes received went over max_bytes
  other,              // TLS, a broken connection, too many redirects, ...
};

// One request's outcome, whatever its status: the crawler needs 202, 403 and 429 as values, not
// as exceptions, to decide whether to wait and try again.
struct HttpResponse {
  long status = 0;           // the last answer's HTTP status (after redirects); 0 when none came
  std::string body;          // what arrived (a complete body only when ok())
  std::string content_type;  // as the server said it, e.g. "image/jpeg"; empty when it did not
  std::string final_url;     // the URL that answered, after redirects
  HttpFailure failure = HttpFailure::none;
  std::string error;  // for a failure: libcurl's own words ("Operation timed out after 2001 ms ...")
  bool ok() const { return failure == HttpFailure::none; }
};

// GET `url` (redirects followed, http/https only, within the limits of `options`). Never throws for
// a network problem or an HTTP status: both are in the answer. Thread-safe: one libcurl handle per
// call, so a pool of threads may call it at once.
HttpResponse http_fetch(const std::string& url, const HttpOptions& options = {});

// "could not connect; are you offline, or is the server down? (Couldn't connect ...)": a failed
// fetch's problem in words, as http_get's errors put it (after "GET <url>: ").
std::string describe_failure(const HttpResponse& response, const HttpOptions& options);

// False when Ember was built without libcurl (then every fetch fails with a message saying so).
bool have_http_client();

// The body of a 2xx answer to GET `url` (redirects followed). Only http:// and https://.
std::string http_get(const std::string& url, const HttpOptions& options = {});

// http_get with a cache: the body is kept in `cache_dir` (default $EMBER_CACHE_DIR, else
// $XDG_CACHE_HOME/ember, else ~/.cache/ember) under a name made from the URL, written atomically,
// and read from there next time without touching the network. `verify` (may be null) is called on
// a fresh download before it is cached, and should throw when the bytes are not what was expected.
std::string download_cached(const std::string& url, void (*verify)(const std::string& bytes) = nullptr,
                            const std::string& cache_dir = "");

std::string default_cache_dir();       // $EMBER_CACHE_DIR, else $XDG_CACHE_HOME/ember, else ~/.cache/ember
bool is_url(const std::string& text);  // starts with http:// or https://

// ---- Streaming a large download to a file (pretrained weights) -------------------------------------

// A download that brought back no usable answer: the reason as a value, for callers that act on it
// (the app goes on without pretrained weights when it is offline). what() is "GET <url>: <reason>".
struct HttpError : Error {
  HttpError(const std::string& url, const std::string& reason, HttpFailure failure, long status)
      : Error("GET " + url + ": " + reason), reason(reason), failure(failure), status(status) {}
  std::string reason;   // "could not resolve the host name; are you offline? (...)", "the server answered HTTP 404"
  HttpFailure failure;  // none when an answer came, but with a status that is not 2xx
  long status;          // the last answer's HTTP status; 0 when none came
};

// Called as the bytes arrive: bytes_total is the answer's Content-Length, or -1 when it gave none.
using DownloadProgress = std::function<void(int64_t bytes_done, int64_t bytes_total)>;

struct DownloadedFile {
  std::string path;             // where the bytes are now
  std::string final_url;        // the URL that answered, after redirects
  long status = 0;              // its HTTP status (2xx)
  int64_t bytes = 0;            // bytes written
  int64_t content_length = -1;  // what the answer announced, -1 when it did not
  std::string sha256;           // SHA-256 of the bytes written, 64 lowercase hex digits
  // Every answer's header lines, redirects first, in order, names lowercased. Hugging Face puts the
  // file's SHA-256 on its redirect ("x-linked-etag"), not on the CDN's final answer.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& name) const;  // the first value of `name` (lowercase), "" when none
};

// Checks a finished download before it is renamed into place (the bytes are at temporary_path).
// It throws to reject it: then nothing is left behind.
using DownloadCheck = std::function<void(const DownloadedFile& download, const std::string& temporary_path)>;

// GET `url` (redirects followed, no compression) streamed into `path` through an AtomicFile, hashed
// (SHA-256) on the way, with progress reports: for files too large to hold in memory.
//   HttpOptions options;
//   options.timeout_seconds = 0;  // no limit on the whole transfer, but
//   options.stall_seconds = 30;   // 30 s without a byte is the end
//   options.max_bytes = size_t(1) << 31;
//   DownloadedFile d = http_download_to_file(url, "w.safetensors", options, progress);
// Throws HttpError for a network failure, a non-2xx status, more than options.max_bytes, or a body
// shorter than its Content-Length; ember::Error when the file cannot be written; whatever `check`
// or `progress` throws. In every such case `path` is left as it was and no temporary file remains.
DownloadedFile http_download_to_file(const std::string& url, const std::string& path, const HttpOptions& options = {},
                                     const DownloadProgress& progress = nullptr, const DownloadCheck& check = nullptr);

}  // namespace ember::vision
