// Parallel image downloads that keep only real images: the crawler's download_images (fastai's,
// spec section 2), with the checks fastai leaves to a later verify_images.
//
//   vision::DownloadOptions options;                     // 8 threads, 20 s per image, 20 MiB at most
//   vision::download_images(urls, options, [&](vision::DownloadedImage& d) {
//     if (d.ok) write_somewhere(d.body, uuid4() + d.suffix);   // one call at a time
//     else std::printf("%s: %s\n", d.url.c_str(), d.reason.c_str());
//   });
//
// Each URL is fetched as given, query string included (fastai cuts it off at '?', which breaks
// URLs whose image is chosen by the query, e.g. "show.php?id=12"), with connect and total time
// limits, redirects followed (at most 5, http/https only) and a byte limit that stops the transfer
// early. A body is kept only when
//   1. its first bytes are a known image signature ("magic numbers": FF D8 FF is a JPEG,
//      89 'PNG' ... is a PNG, ...); the Content-Type header is recorded but not trusted,
//   2. it is of a type the folder datasets read (JPEG, PNG, GIF, BMP, PNM: vision/image_files.h's
//      extensions that stb_image decodes),
//   3. it reaches its format's end (a JPEG's end-of-image marker, a PNG's IEND chunk), so a
//      transfer cut short is not kept, and
//   4. it decodes completely (vision::decode_image, with its pixel limit against bombs).
// Anything else gets a reason in words: "HTTP 404", "timed out after 20 s", "larger than 20971520
// bytes", "not an image (text/html; starts with '<!DOCTYPE html>')", "truncated JPEG (no
// end-of-image marker)", ...
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vision/image_format.h"

namespace ember::vision {

struct DownloadOptions {
  int64_t workers = 8;          // threads, as fastai's n_workers=8
  double timeout_seconds = 20;  // per image, the whole transfer
  double connect_timeout_seconds = 10;
  int64_t max_bytes = 20 << 20;  // a larger body is cut off and not kept
  long max_redirects = 5;
};

// One URL's outcome.
struct DownloadedImage {
  std::string url;
  bool ok = false;           // the body is a complete image of a kept type that decodes
  std::string body;          // the bytes (emptied when !ok)
  int64_t size = 0;          // bytes received
  std::string sha256;        // hex digest of the body (when ok)
  std::string suffix;        // the file suffix to save it with (when ok), see image_file_suffix
  std::string content_type;  // what the server said the body was
  std::string reason;        // when !ok: why, in words
  std::string reason_kind;   // the reason without details, for counts: "HTTP 404", "timed out", ...
};

// Fetches one URL and checks the body (what each download thread does). Never throws.
DownloadedImage download_image(const std::string& url, const DownloadOptions& options);

// Runs download_image over `urls` on options.workers threads. on_done is called once per URL,
// one call at a time (under a lock) and in the order the downloads finish, so it may write files
// and update a manifest without locks of its own. If on_done throws, no new download starts, the
// running ones finish, and the exception is rethrown here.
void download_images(const std::vector<std::string>& urls, const DownloadOptions& options,
                     const std::function<void(DownloadedImage&)>& on_done);

// ---- the pieces, public for tests ----------------------------------------------------------------

// fastai's name suffix: Path(url.split('?')[0]).suffix or '.jpg' (the last component's text from
// its last dot, case kept; "http://a.com" gives ".com", "http://a.com/x/" gives ".jpg").
std::string fastai_suffix(const std::string& url);
// The suffix a kept image is saved with: fastai's when it names the image's real format (".jpg",
// ".JPG", ".jpeg", ".jpe" for a JPEG; ".png"; ...), else the format's own (".jpg", ".png", ".gif",
// ".bmp", ".pnm"), so that "photo.php" serving a PNG is saved as .png and every kept file has a
// suffix the dataset reads.
std::string image_file_suffix(const std::string& url, ImageFormat format);

// Checks 1-4 of the list above on a body already in hand: sets d.ok, d.suffix, d.sha256, or
// d.reason and d.reason_kind (and empties d.body when it is not kept).
void check_image_body(DownloadedImage& d);

}  // namespace ember::vision
