// See http.h. One easy handle per request: simple, thread-safe, and enough for the apps' handful of
// requests and the crawler's pool of download threads.
#include "vision/http.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>

#include "tensor/error.h"
#include "tensor/io/file.h"

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

using SlistPtr = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

}  // namespace

bool have_http_client() { return true; }

HttpResponse http_fetch(const std::string& url, const HttpOptions& options) {
  HttpResponse response;
  if (!is_url(url)) {
    response.failure = HttpFailure::not_http;
    response.error = "only http:// and https:// URLs can be downloaded";
    return response;
  }
  init_curl_once();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  EMBER_CHECK(curl != nullptr, "GET " + url + ": libcurl could not create a handle");
  SlistPtr headers(nullptr, curl_slist_free_all);
  for (const std::string& header : options.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), header.c_str());
    EMBER_CHECK(appended != nullptr, "GET " + url + ": libcurl could not add a header");
    headers.release();
    headers.reset(appended);
  }
  Body body{{}, options.max_bytes};
  char error[CURL_ERROR_SIZE] = "";
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, options.max_redirects);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever compression libcurl supports
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);         // safe in threaded programs
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
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
  response.failure = body.too_large ? HttpFailure::too_large : failure_of(code);
  if (!response.ok()) response.error = error[0] ? error : curl_easy_strerror(code);
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

#endif

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
