// See http.h. One easy handle per request: simple, and the apps make a handful of requests.
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

std::string hint_for(CURLcode code) {
  switch (code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return "could not resolve the host name; are you offline?";
  case CURLE_COULDNT_CONNECT: return "could not connect; are you offline, or is the server down?";
  case CURLE_OPERATION_TIMEDOUT: return "timed out";
  default: return "failed";
  }
}

}  // namespace

std::string http_get(const std::string& url, const HttpOptions& options) {
  const std::string where = "GET " + url;
  EMBER_CHECK(is_url(url), where + ": only http:// and https:// URLs can be downloaded");
  init_curl_once();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  EMBER_CHECK(curl != nullptr, where + ": libcurl could not create a handle");
  Body body{{}, options.max_bytes};
  char error[CURL_ERROR_SIZE] = "";
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_seconds * 1000));
  curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // whatever compression libcurl supports
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);         // safe in threaded programs
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  const CURLcode code = curl_easy_perform(h);
  if (body.too_large)
    throw Error(where + ": the answer is larger than " + std::to_string(options.max_bytes) + " bytes");
  if (code != CURLE_OK)
    throw Error(where + ": " + hint_for(code) + " (" + (error[0] ? error : curl_easy_strerror(code)) + ")");
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) throw Error(where + ": the server answered HTTP " + std::to_string(status));
  return std::move(body.bytes);
}

#else

std::string http_get(const std::string& url, const HttpOptions&) {
  throw Error("GET " + url +
              ": this build of Ember has no HTTP client (libcurl was not found at configure time; install "
              "libcurl4-openssl-dev with scripts/setup and rebuild)");
}

#endif

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
