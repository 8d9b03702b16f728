// See http.h. One easy handle per request: simple, thread-safe, and enough for the apps' handful of
// requests and the crawler's pool of download threads.
#include "vision/http.h"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>

#include "tensor/error.h"
#include "tensor/io/file.h"
#include "vision/sha256.h"

#ifdef EMBER_HAVE_CURL
#include <curl/curl.h>
#endif

namespace ember::vision {

bool is_url(const std::string& text) { return text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0; }

#ifdef EMBER_HAVE_CURL

namespace {

struct Body {
  std::string bytes;
  size_t max_bytes;
  bool too_large = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t n = size * count;
  if (body->bytes.size() + n > body->max_bytes) {
    body->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  body->bytes.append(data, n);
  return n;
}

// Once per program: curl_global_init is not thread-safe, so it is not left to the first request.
void init_curl_once() {
  static const bool initialised = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  EMBER_CHECK(initialised, "http: libcurl failed to initialise");
}

HttpFailure failure_of(CURLcode code) {
  switch (code) {
  case CURLE_OK: return HttpFailure::none;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return HttpFailure::could_not_resolve;
  case CURLE_COULDNT_CONNECT: return HttpFailure::could_not_connect;
  case CURLE_OPERATION_TIMEDOUT: return HttpFailure::timed_out;
  case CURLE_FILESIZE_EXCEEDED: return HttpFailure::too_large;  // Content-Length said so, before the body
  default: return HttpFailure::other;
  }
}

using CurlPtr = std::unique_ptr<CURL, void (*)(CURL*)>;
using SlistPtr = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

CurlPtr new_handle(const std::string& url) {
  init_curl_once();
  CurlPtr curl(curl_easy_init(), curl_easy_cleanup);
  EMBER_CHECK(curl != nullptr, "GET " + url + ": libcurl could not create a handle");
  return curl;
}

SlistPtr header_list(const std::string& url, const HttpOptions& options) {
  SlistPtr headers(nullptr, curl_slist_free_all);
  for (const std::string& header : options.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), header.c_str());
    EMBER_CHECK(appended != nullptr, "GET " + url + ": libcurl could not add a header");
    headers.release();
    headers.reset(appended);
  }
  return headers;
}

// Cuts a transfer off when no byte of the body has come for `limit_seconds` (from the start, or
// since the last byte). libcurl's own LOW_SPEED check averages the speed over about 5 s, too
// coarse for a limit of 1-2 s; its progress callback runs often while bytes come and about once a
// second while none do, so a stall is seen within a second of the limit.
struct StallWatch {
  double limit_seconds = 0;
  curl_off_t bytes = 0;
  std::chrono::steady_clock::time_point last_change = std::chrono::steady_clock::now();
  bool stalled = false;
  std::string message() const {
    std::ostringstream text;
    text << "no data came for " << limit_seconds << " s";
    return text.str();
  }
};

int on_progress(void* user, curl_off_t, curl_off_t bytes_now, curl_off_t, curl_off_t) {
  auto* watch = static_cast<StallWatch*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (bytes_now != watch->bytes) {
    watch->bytes = bytes_now;
    watch->last_change = now;
  } else if (std::chrono::duration<double>(now - watch->last_change).count() >= watch->limit_seconds) {
    watch->stalled = true;
    return 1;  // makes curl stop with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

// What every request sets: the URL, redirects (http/https only), the limits of `options` (the stall
// limit through `watch`), and where libcurl writes its error message.
void configure(CURL* h, const std::string& url, const HttpOptions& options, curl_slist* headers, char* error,
               StallWatch& watch) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, options.max_redirects);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_seconds * 1000));
  if (options.stall_seconds > 0) {
    watch.limit_seconds = options.stall_seconds;
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &watch);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  }
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // safe in threaded programs
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
}

}  // namespace

bool have_http_client() { return true; }

HttpResponse http_fetch(const std::string& url, const HttpOptions& options) {
  HttpResponse response;
  if (!is_url(url)) {
    response.failure = HttpFailure::not_http;
    response.error = "only http:// and https:// URLs can be downloaded";
    return response;
  }
  CurlPtr curl = new_handle(url);
  SlistPtr headers = header_list(url, options);
  Body body{{}, options.max_bytes};
  char error[CURL_ERROR_SIZE] = "";
  StallWatch watch;
  CURL* h = curl.get();
  configure(h, url, options, headers.get(), error, watch);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever compression libcurl supports
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  const char* content_type = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type)
    response.content_type = content_type;
  const char* final_url = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &final_url) == CURLE_OK && final_url) response.final_url = final_url;
  response.body = std::move(body.bytes);
  response.failure = body.too_large  ? HttpFailure::too_large
                     : watch.stalled ? HttpFailure::timed_out
                                     : failure_of(code);
  if (!response.ok()) response.error = watch.stalled ? watch.message() : error[0] ? error : curl_easy_strerror(code);
  return response;
}

std::string http_get(const std::string& url, const HttpOptions& options) {
  const std::string where = "GET " + url;
  HttpResponse response = http_fetch(url, options);
  if (!response.ok()) throw Error(where + ": " + describe_failure(response, options));
  const long status = response.status;
  if (status < 200 || status >= 300) throw Error(where + ": the server answered HTTP " + std::to_string(status));
  return std::move(response.body);
}

// ---- http_download_to_file -----------------------------------------------------------------------

namespace {

// Where libcurl's callbacks put things. Exceptions must not cross libcurl's C frames: a callback
// keeps the first one here and returns a value that makes curl_easy_perform stop.
struct FileSink {
  CURL* handle = nullptr;
  AtomicFile* file = nullptr;
  Sha256 hash;
  int64_t bytes = 0;
  size_t max_bytes = 0;
  const DownloadProgress* progress = nullptr;
  bool too_large = false;
  std::exception_ptr error;
  std::vector<std::pair<std::string, std::string>> headers;
};

size_t on_file_data(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<FileSink*>(user);
  const size_t n = size * count;
  if (uint64_t(sink->bytes) + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  try {
    sink->file->write(data, n);
    sink->hash.update(std::string_view(data, n));
    sink->bytes += int64_t(n);
    if (*sink->progress) {
      curl_off_t total = -1;  // this answer's Content-Length, -1 when unknown
      curl_easy_getinfo(sink->handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
      (*sink->progress)(sink->bytes, int64_t(total));
    }
  } catch (...) {
    sink->error = std::current_exception();
    return 0;
  }
  return n;
}

// One header line of any answer ("HTTP/1.1 302 Found", "X-Linked-Etag: \"ab12...\"", the blank line
// that ends them): name lowercased, value without surrounding spaces.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<FileSink*>(user);
  const std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon == std::string::npos || line.rfind("HTTP/", 0) == 0) return size * count;
  std::string name = line.substr(0, colon);
  for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  const size_t begin = line.find_first_not_of(" \t", colon + 1);
  const size_t end = line.find_last_not_of(" \t\r\n");
  sink->headers.emplace_back(name,
                             begin == std::string::npos || end < begin ? "" : line.substr(begin, end - begin + 1));
  return size * count;
}

}  // namespace

DownloadedFile http_download_to_file(const std::string& url, const std::string& path, const HttpOptions& options,
                                     const DownloadProgress& progress, const DownloadCheck& check) {
  if (!is_url(url)) throw HttpError(url, "only http:// and https:// URLs can be downloaded", HttpFailure::not_http, 0);
  CurlPtr curl = new_handle(url);
  SlistPtr headers = header_list(url, options);
  AtomicFile file(path, "GET " + url);
  FileSink sink;
  sink.handle = curl.get();
  sink.file = &file;
  sink.max_bytes = options.max_bytes;
  sink.progress = &progress;
  char error[CURL_ERROR_SIZE] = "";
  StallWatch watch;
  CURL* h = curl.get();
  configure(h, url, options, headers.get(), error, watch);
  // No Accept-Encoding: the bytes written are the bytes announced by Content-Length and hashed by the server.
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);  // an error status: stop before its body is written
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_file_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  const CURLcode code = curl_easy_perform(h);
  if (sink.error) std::rethrow_exception(sink.error);

  DownloadedFile download;
  download.path = path;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &download.status);
  if (const char* final_url = nullptr;
      curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &final_url) == CURLE_OK && final_url)
    download.final_url = final_url;
  curl_off_t length = -1;
  curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  download.content_length = int64_t(length);
  download.bytes = sink.bytes;
  download.headers = std::move(sink.headers);
  const std::string announced = std::to_string(download.content_length);
  const std::string received = std::to_string(download.bytes);

  if (code == CURLE_HTTP_RETURNED_ERROR)
    throw HttpError(url, "the server answered HTTP " + std::to_string(download.status), HttpFailure::none,
                    download.status);
  if (code == CURLE_PARTIAL_FILE)  // the connection closed before Content-Length bytes came
    throw HttpError(url, "incomplete: the server announced " + announced + " bytes but sent " + received,
                    HttpFailure::other, download.status);
  if (sink.too_large || code != CURLE_OK) {
    HttpResponse response;  // to describe the failure in http_get's words
    response.failure = sink.too_large  ? HttpFailure::too_large
                       : watch.stalled ? HttpFailure::timed_out
                                       : failure_of(code);
    response.error = watch.stalled ? watch.message() : error[0] ? error : curl_easy_strerror(code);
    throw HttpError(url, describe_failure(response, options), response.failure, download.status);
  }
  if (download.status < 200 || download.status >= 300)
    throw HttpError(url, "the server answered HTTP " + std::to_string(download.status), HttpFailure::none,
                    download.status);
  if (download.content_length >= 0 && download.bytes != download.content_length)
    throw HttpError(url, "incomplete: the server announced " + announced + " bytes but sent " + received,
                    HttpFailure::other, download.status);
  download.sha256 = sink.hash.hex_digest();
  if (check) check(download, file.temporary_path());
  file.commit();
  return download;
}

#else

namespace {
constexpr const char* kNoCurl =
    "this build of Ember has no HTTP client (libcurl was not found at configure time; install "
    "libcurl4-openssl-dev with scripts/setup and rebuild)";
}

bool have_http_client() { return false; }

HttpResponse http_fetch(const std::string&, const HttpOptions&) {
  HttpResponse response;
  response.failure = HttpFailure::other;
  response.error = kNoCurl;
  return response;
}

std::string http_get(const std::string& url, const HttpOptions&) { throw Error("GET " + url + ": " + kNoCurl); }

DownloadedFile http_download_to_file(const std::string& url, const std::string&, const HttpOptions&,
                                     const DownloadProgress&, const DownloadCheck&) {
  throw HttpError(url, kNoCurl, HttpFailure::other, 0);
}

#endif

std::string DownloadedFile::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return "";
}

std::string describe_failure(const HttpResponse& response, const HttpOptions& options) {
  const std::string detail = " (" + response.error + ")";
  switch (response.failure) {
  case HttpFailure::none: return "no failure";
  case HttpFailure::not_http: return response.error;
  case HttpFailure::could_not_resolve: return "could not resolve the host name; are you offline?" + detail;
  case HttpFailure::could_not_connect: return "could not connect; are you offline, or is the server down?" + detail;
  case HttpFailure::timed_out: return "timed out" + detail;
  case HttpFailure::too_large: return "the answer is larger than " + std::to_string(options.max_bytes) + " bytes";
  case HttpFailure::other: return "failed" + detail;
  }
  return "failed" + detail;
}

std::string default_cache_dir() {
  if (const char* dir = std::getenv("EMBER_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/ember";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/ember";
  return ".ember-cache";
}

std::string download_cached(const std::string& url, void (*verify)(const std::string&), const std::string& cache_dir) {
  namespace fs = std::filesystem;
  const fs::path dir = cache_dir.empty() ? default_cache_dir() : cache_dir;
  // The file name: a hash of the whole URL (two URLs may end in the same name) + its last part.
  std::string last = url.substr(url.find_last_of('/') + 1);
  last = last.substr(0, last.find_first_of("?#"));
  for (char& c : last)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  std::ostringstream name;
  name << std::hex << std::hash<std::string>{}(url) << "-" << (last.empty() ? "download" : last);
  const fs::path path = dir / name.str();
  if (fs::exists(path)) return read_file(path.string(), "download cache");
  std::string bytes = http_get(url);
  if (verify) verify(bytes);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) {
    try {
      write_file_atomically(path.string(), bytes, "download cache");
    } catch (const Error&) {
      // a cache that cannot be written is no reason to fail: the bytes are in hand
    }
  }
  return bytes;
}

}  // namespace ember::vision
