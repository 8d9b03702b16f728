// See image_downloader.h.
#include "vision/image_downloader.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include "tensor/error.h"
#include "vision/http.h"
#include "vision/image.h"
#include "vision/sha256.h"

namespace ember::vision {

namespace {

// fastcore's url_default_headers (what fastai's downloads sent): a desktop Chrome. The Accept line
// is ours: it asks for the formats Ember decodes first, so a server that can choose sends a JPEG
// or PNG rather than a WebP.
constexpr const char* kDownloadUserAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 "
    "Safari/537.36";

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

// The first bytes as text a reader can recognise in a reason ("<!DOCTYPE html><html"): printable
// ASCII kept, anything else as '.'.
std::string preview(std::string_view bytes) {
  std::string out;
  for (char c : bytes.substr(0, 24)) out += (c >= 32 && c < 127 && c != '\'') ? c : '.';
  return out;
}

void fail(DownloadedImage& d, std::string kind, std::string reason) {
  d.ok = false;
  d.reason_kind = std::move(kind);
  d.reason = std::move(reason);
  d.body.clear();
  d.body.shrink_to_fit();
}

// The transfer's failure in a manifest's words.
void fail_transfer(DownloadedImage& d, const HttpResponse& r, const DownloadOptions& options) {
  switch (r.failure) {
  case HttpFailure::not_http: return fail(d, "not http(s)", "not an http:// or https:// URL");
  case HttpFailure::could_not_resolve: return fail(d, "unknown host", "could not resolve the host (" + r.error + ")");
  case HttpFailure::could_not_connect: return fail(d, "could not connect", "could not connect (" + r.error + ")");
  case HttpFailure::too_large:
    return fail(d, "too large", "larger than " + std::to_string(options.max_bytes) + " bytes");
  case HttpFailure::timed_out:
    if (r.error.find("onnect") != std::string::npos)  // curl: "Connection timed out after 2001 milliseconds"
      return fail(d, "timed out", "could not connect within " + seconds_text(options.connect_timeout_seconds) + " s");
    return fail(d, "timed out", "timed out after " + seconds_text(options.timeout_seconds) + " s");
  default: return fail(d, "transfer failed", "transfer failed (" + r.error + ")");
  }
}

}  // namespace

std::string fastai_suffix(const std::string& url) {
  std::string path = url.substr(0, url.find('?'));
  while (!path.empty() && path.back() == '/') path.pop_back();  // pathlib drops a trailing slash
  const std::string name = path.substr(path.find_last_of('/') + 1);
  const size_t dot = name.find_last_of('.');
  // pathlib: a suffix needs a dot that is neither the first nor the last character of the name.
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return ".jpg";
  return name.substr(dot);
}

std::string image_file_suffix(const std::string& url, ImageFormat format) {
  const std::string given = fastai_suffix(url), lower = lowercase(given);
  auto one_of = [&](std::initializer_list<const char*> names) {
    return std::find(names.begin(), names.end(), lower) != names.end();
  };
  switch (format) {
  case ImageFormat::jpeg: return one_of({".jpg", ".jpeg", ".jpe"}) ? given : ".jpg";
  case ImageFormat::png: return one_of({".png"}) ? given : ".png";
  case ImageFormat::gif: return one_of({".gif"}) ? given : ".gif";
  case ImageFormat::bmp: return one_of({".bmp"}) ? given : ".bmp";
  case ImageFormat::pnm: return one_of({".pnm", ".ppm", ".pgm"}) ? given : ".pnm";
  default: return given;  // not a format Ember decodes: never saved
  }
}

void check_image_body(DownloadedImage& d) {
  d.size = static_cast<int64_t>(d.body.size());
  if (d.body.empty()) return fail(d, "empty", "empty body (0 bytes)");
  const ImageFormat format = sniff_image_format(d.body);
  const std::string said = d.content_type.empty() ? "no Content-Type" : d.content_type;
  if (format == ImageFormat::unknown || format == ImageFormat::html)
    return fail(d, "not an image", "not an image (" + said + "; starts with '" + preview(d.body) + "')");
  if (!ember_decodes(format))
    return fail(d, "unsupported format",
                std::string(image_format_name(format)) + " image, a format Ember's decoder (stb_image) does not read");
  if (format == ImageFormat::jpeg && !jpeg_reaches_end_marker(d.body))
    return fail(d, "truncated", "truncated JPEG (no end-of-image marker)");
  try {
    decode_image(d.body, d.url);
  } catch (const ImageDecodeError& e) {
    return fail(d, "does not decode", e.reason);
  } catch (const Error& e) {
    return fail(d, "does not decode", e.what());
  } catch (const std::bad_alloc&) {
    return fail(d, "does not decode", "out of memory while decoding");
  }
  d.ok = true;
  d.suffix = image_file_suffix(d.url, format);
  d.sha256 = sha256_hex(d.body);
}

DownloadedImage download_image(const std::string& url, const DownloadOptions& options) {
  DownloadedImage d;
  d.url = url;
  HttpOptions http;
  http.timeout_seconds = options.timeout_seconds;
  http.connect_timeout_seconds = options.connect_timeout_seconds;
  http.max_bytes = static_cast<size_t>(std::max<int64_t>(options.max_bytes, 0));
  http.max_redirects = options.max_redirects;
  http.user_agent = kDownloadUserAgent;
  http.headers = {"Accept: image/jpeg,image/png,image/gif,image/bmp;q=0.9,image/*;q=0.8,*/*;q=0.5",
                  "Accept-Language: en-US,en;q=0.9"};
  std::string fetched = url;  // a space is not allowed in a URL; search results sometimes have one
  for (size_t at; (at = fetched.find(' ')) != std::string::npos;) fetched.replace(at, 1, "%20");
  HttpResponse response = http_fetch(fetched, http);
  d.content_type = response.content_type;
  d.size = static_cast<int64_t>(response.body.size());
  if (!response.ok()) {
    fail_transfer(d, response, options);
    return d;
  }
  if (response.status < 200 || response.status >= 300) {
    fail(d, "HTTP " + std::to_string(response.status), "HTTP " + std::to_string(response.status));
    return d;
  }
  d.body = std::move(response.body);
  check_image_body(d);
  return d;
}

void download_images(const std::vector<std::string>& urls, const DownloadOptions& options,
                     const std::function<void(DownloadedImage&)>& on_done) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex done_mutex;  // one on_done call at a time
  std::exception_ptr failure;
  auto work = [&] {
    for (size_t i; !stop && (i = next++) < urls.size();) {
      DownloadedImage d = download_image(urls[i], options);
      std::lock_guard<std::mutex> lock(done_mutex);
      if (stop) return;
      try {
        on_done(d);
      } catch (...) {
        failure = std::current_exception();
        stop = true;
      }
    }
  };
  const size_t threads = std::min<size_t>(urls.size(), size_t(std::max<int64_t>(options.workers, 1)));
  std::vector<std::thread> pool;
  try {
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  } catch (...) {  // the system refused a thread: stop the ones that run, then report it
    stop = true;
    for (std::thread& thread : pool) thread.join();
    throw;
  }
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ember::vision
