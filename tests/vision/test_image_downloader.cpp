// Image downloads (vision/image_downloader.h) and the folder crawl (vision/crawl.h) against the fake
// server: what lands on disk (exactly the good images, complete, with image suffixes, no temporary
// files), what the manifest says for every URL (status and reason), byte duplicates, and resuming.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <stdexcept>
#include <thread>

#include "tensor/io/file.h"
#include "tests/test_util.h"
#include "tests/vision/fake_ddg_server.h"
#include "vision/crawl.h"
#include "vision/http.h"
#include "vision/image.h"
#include "vision/image_downloader.h"
#include "vision/image_format.h"
#include "vision/sha256.h"

using namespace ember::vision;
using ember::read_file;
using ember::test::FakeResponse;
using ember::test::FakeServer;
using ember::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string test_image(const std::string& name) {
  return read_file(std::string(EMBER_TEST_DATA) + "/images/" + name, "test");
}

// A PNG made here (save_png, read back), different for each `seed`.
std::string made_png(int seed) {
  Image image(9 + seed, 7);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t(i * 31 + seed * 17);
  TempDir dir("png");
  save_png(image, dir.file("a.png"));
  return read_file(dir.file("a.png"), "test");
}

// The files in `folder` other than manifest.csv, sorted.
std::vector<std::string> image_files(const fs::path& folder) { return ember::test::file_names(folder, "manifest.csv"); }

std::map<std::string, ManifestEntry> by_url(const ImageManifest& manifest, const FakeServer& server) {
  std::map<std::string, ManifestEntry> out;
  for (const ManifestEntry& e : manifest.entries()) {
    std::string key = e.url;
    if (key.rfind(server.base_url(), 0) == 0) key = key.substr(server.base_url().size());
    out[key] = e;
  }
  return out;
}

}  // namespace

TEST_CASE("image downloads: the file suffix, fastai's rule made safe") {
  // fastai's rule, checked against Python: Path(url.split('?')[0]).suffix or '.jpg'.
  CHECK(fastai_suffix("https://a.com/x/iu.JPG?w=300") == ".JPG");
  CHECK(fastai_suffix("https://a.com/x/photo") == ".jpg");
  CHECK(fastai_suffix("https://a.com") == ".com");
  CHECK(fastai_suffix("https://a.com/x/") == ".jpg");
  CHECK(fastai_suffix("https://a.com/x/archive.tar.gz") == ".gz");
  CHECK(fastai_suffix("https://a.com/.hidden") == ".jpg");
  CHECK(fastai_suffix("https://a.com/x/name.") == ".jpg");
  CHECK(fastai_suffix("https://a.com/show.php?id=3.png") == ".php");
  // ... and made a suffix the dataset reads, of the image's real type.
  CHECK(image_file_suffix("https://a.com/x/iu.JPG?w=300", ImageFormat::jpeg) == ".JPG");
  CHECK(image_file_suffix("https://a.com/x/iu.jpeg", ImageFormat::jpeg) == ".jpeg");
  CHECK(image_file_suffix("https://a.com/show.php?id=3", ImageFormat::jpeg) == ".jpg");
  CHECK(image_file_suffix("https://a.com/show.php?id=3", ImageFormat::png) == ".png");
  CHECK(image_file_suffix("https://a.com/x/iu.jpg", ImageFormat::png) == ".png");  // a PNG named .jpg
  CHECK(image_file_suffix("https://a.com", ImageFormat::gif) == ".gif");
  CHECK(image_file_suffix("https://a.com/a.PGM", ImageFormat::pnm) == ".PGM");
}

TEST_CASE("image downloads: a body is kept only when it is a complete image that decodes") {
  auto check = [](std::string body, std::string url = "http://h/x.jpg") {
    DownloadedImage d;
    d.url = std::move(url);
    d.content_type = "image/jpeg";
    d.body = std::move(body);
    check_image_body(d);
    return d;
  };
  const std::string jpeg = test_image("photo_120x90.jpg");
  DownloadedImage good = check(jpeg);
  CHECK(good.ok);
  CHECK(good.suffix == ".jpg");
  CHECK(good.sha256 == sha256_hex(jpeg));
  CHECK(good.body == jpeg);
  CHECK(good.size == int64_t(jpeg.size()));

  DownloadedImage html = check("<!DOCTYPE html><html>Sorry</html>");
  CHECK_FALSE(html.ok);
  CHECK(html.reason == "not an image (image/jpeg; starts with '<!DOCTYPE html><html>Sor')");
  CHECK(html.reason_kind == "not an image");
  CHECK(html.body.empty());
  CHECK(check("").reason == "empty body (0 bytes)");
  DownloadedImage cut = check(jpeg.substr(0, jpeg.size() / 2));
  CHECK(cut.reason == "truncated JPEG (no end-of-image marker)");
  CHECK(cut.reason_kind == "truncated");
  const DownloadedImage webp = check(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16));
  CHECK(webp.reason == "WebP image, a format Ember's decoder (stb_image) does not read");
  CHECK(webp.reason_kind == "unsupported format");
  // A PNG with a sound header whose pixel data is garbage: the decoder is the judge.
  const std::string signature("\x89PNG\r\n\x1A\n", 8), iend("\0\0\0\0IEND\xAE\x42\x60\x82", 12);
  const std::string ihdr_4x4_rgb("\0\0\0\x0DIHDR\0\0\0\x04\0\0\0\x04\x08\x02\0\0\0crc!", 25);
  const DownloadedImage broken = check(signature + ihdr_4x4_rgb + std::string("\0\0\0\x06IDATgarbagecrc!", 18) + iend);
  CHECK(broken.reason_kind == "does not decode");
  CHECK(broken.reason.find("PNG") != std::string::npos);
  // A header that claims 1633837924 x 825373492 pixels: refused before decoding (a "bomb").
  const std::string ihdr_huge("\0\0\0\x0DIHDRabcd1234\x08\x02\0\0\0crc!", 25);
  const DownloadedImage bomb = check(signature + ihdr_huge + iend);
  CHECK(bomb.reason_kind == "does not decode");
  CHECK(bomb.reason.find("over the limit") != std::string::npos);
}

TEST_CASE("crawl: downloads into a folder; the manifest says what became of every URL") {
  REQUIRE_MESSAGE(have_http_client(), "built without libcurl");
  const std::string jpeg = test_image("photo_120x90.jpg"), png_a = made_png(1), png_b = made_png(2);
  FakeServer server;
  server.route("/good.jpg", FakeResponse::bytes(jpeg, "image/jpeg"));
  server.route("/same.jpg", FakeResponse::bytes(jpeg, "image/jpeg"));  // the same bytes again
  server.route("/photo.php", FakeResponse::bytes(png_a, "image/png"));
  server.route("/to-png", FakeResponse::redirect("/b.png"));
  server.route("/b.png", FakeResponse::bytes(png_b, "image/png"));
  server.route("/missing.jpg", FakeResponse::html("gone", 404));
  server.route("/error.jpg", FakeResponse::html("oops", 500));
  server.route("/page.jpg", FakeResponse::html("<!DOCTYPE html><html><body>not a picture</body></html>"));
  server.route("/cut.jpg", FakeResponse::bytes(jpeg.substr(0, jpeg.size() / 2), "image/jpeg"));
  server.route("/empty.jpg", FakeResponse::bytes("", "image/jpeg"));
  FakeResponse huge = FakeResponse::bytes(jpeg, "image/jpeg");
  huge.content_length = 50 << 20;  // announced: refused before the body
  server.route("/huge.jpg", huge);
  FakeResponse stream = FakeResponse::bytes(jpeg + std::string(300000, 'x'), "image/jpeg");
  stream.send_content_length = false;  // no length: counted while it streams
  server.route("/stream.jpg", stream);
  FakeResponse stall = FakeResponse::bytes(jpeg, "image/jpeg");
  stall.stall_after_bytes = 100;  // then nothing until the server stops
  server.route("/slow.jpg", stall);

  const std::vector<std::string> paths = {"/good.jpg",    "/same.jpg",  "/photo.php?id=3", "/to-png",
                                          "/missing.jpg", "/error.jpg", "/page.jpg",       "/cut.jpg",
                                          "/empty.jpg",   "/huge.jpg",  "/stream.jpg",     "/slow.jpg"};
  std::vector<std::string> urls;
  for (const std::string& path : paths) urls.push_back(server.url(path));
  urls.push_back("ftp://127.0.0.1/x.jpg");

  DownloadOptions options;
  options.workers = 4;
  options.timeout_seconds = 1;
  options.connect_timeout_seconds = 1;
  options.max_bytes = 200000;

  TempDir dir("crawl");
  const fs::path folder = dir.path / "images" / "train" / "iu";  // parents missing: created
  ImageManifest manifest(folder.string());
  int64_t progress_calls = 0;
  const FolderCrawlCounts counts =
      download_to_folder(urls, "iu kpop", manifest, options, [&](const FolderCrawlCounts&) { ++progress_calls; });
  CHECK(counts.urls == 13);
  CHECK(counts.kept == 3);
  CHECK(counts.duplicates == 1);
  CHECK(counts.failed == 9);
  CHECK(counts.already == 0);
  CHECK(progress_calls == 14);  // once before, once per URL
  CHECK(counts.failures == std::map<std::string, int64_t>{{"HTTP 404", 1},
                                                          {"HTTP 500", 1},
                                                          {"empty", 1},
                                                          {"not an image", 1},
                                                          {"not http(s)", 1},
                                                          {"timed out", 1},
                                                          {"too large", 2},
                                                          {"truncated", 1}});
  CHECK(counts.summary() ==
        "found 13 urls: kept 3, duplicates 1, failed 9 (HTTP 404: 1, HTTP 500: 1, empty: 1, not an image: 1, "
        "not http(s): 1, timed out: 1, too large: 2, truncated: 1), already had 0");

  // On disk: exactly the three different good images, complete, as <uuid4><suffix>; no temporary files.
  const std::vector<std::string> files = image_files(folder);
  REQUIRE(files.size() == 3);
  const std::regex uuid_name("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\.(jpg|png)");
  std::map<std::string, std::string> sha_of_file;
  for (const std::string& name : files) {
    INFO(name);
    CHECK(std::regex_match(name, uuid_name));
    CHECK(load_image((folder / name).string()).width > 0);
    sha_of_file[name] = sha256_hex(read_file((folder / name).string(), "test"));
  }

  // The manifest, read back from disk.
  const ImageManifest saved(folder.string());
  const auto entries = by_url(saved, server);
  REQUIRE(entries.size() == 13);
  // Of the two URLs with the same bytes, the first to finish is kept, the other is a duplicate of it.
  const ManifestEntry& good = entries.at("/good.jpg");
  const ManifestEntry& same = entries.at("/same.jpg");
  const ManifestEntry& kept_jpeg = good.status == "ok" ? good : same;
  const ManifestEntry& dup = good.status == "ok" ? same : good;
  CHECK(kept_jpeg.status == "ok");
  CHECK(dup.status == "duplicate");
  CHECK(dup.file.empty());
  CHECK(dup.reason == "same bytes as " + kept_jpeg.file);
  CHECK(dup.sha256 == sha256_hex(jpeg));
  CHECK(kept_jpeg.file.substr(kept_jpeg.file.size() - 4) == ".jpg");
  CHECK(sha_of_file.at(kept_jpeg.file) == sha256_hex(jpeg));
  CHECK(kept_jpeg.bytes == int64_t(jpeg.size()));
  CHECK(kept_jpeg.query == "iu kpop");

  const ManifestEntry& php = entries.at("/photo.php?id=3");  // fetched with its query string
  CHECK(php.status == "ok");
  CHECK(php.file.substr(php.file.size() - 4) == ".png");  // .php serving a PNG is saved as .png
  CHECK(sha_of_file.at(php.file) == sha256_hex(png_a));
  const ManifestEntry& redirected = entries.at("/to-png");
  CHECK(redirected.status == "ok");
  CHECK(sha_of_file.at(redirected.file) == sha256_hex(png_b));

  auto failed = [&](const std::string& path) {
    const ManifestEntry& e = entries.at(path);
    CHECK(e.status == "failed");
    CHECK(e.file.empty());
    return e.reason;
  };
  CHECK(failed("/missing.jpg") == "HTTP 404");
  CHECK(failed("/error.jpg") == "HTTP 500");
  CHECK(failed("/page.jpg") == "not an image (text/html; starts with '<!DOCTYPE html><html><bo')");
  CHECK(failed("/cut.jpg") == "truncated JPEG (no end-of-image marker)");
  CHECK(failed("/empty.jpg") == "empty body (0 bytes)");
  CHECK(failed("/huge.jpg") == "larger than 200000 bytes");
  CHECK(failed("/stream.jpg") == "larger than 200000 bytes");
  CHECK(failed("/slow.jpg") == "timed out after 1 s");
  const auto ftp = std::find_if(saved.entries().begin(), saved.entries().end(),
                                [](const ManifestEntry& e) { return e.url.rfind("ftp:", 0) == 0; });
  REQUIRE(ftp != saved.entries().end());
  CHECK(ftp->reason == "not an http:// or https:// URL");

  SUBCASE("a second run fetches only what failed, and keeps nothing twice") {
    std::map<std::string, int> hits_before;
    for (std::string path : {"/good.jpg", "/same.jpg", "/photo.php", "/to-png", "/missing.jpg", "/cut.jpg"})
      hits_before[path] = server.hits(path);
    ImageManifest again(folder.string());
    options.timeout_seconds = 0.5;
    const FolderCrawlCounts second = download_to_folder(urls, "iu", again, options);
    CHECK(second.already == 4);
    CHECK(second.kept == 0);
    CHECK(second.failed == 9);
    for (std::string path : {"/good.jpg", "/same.jpg", "/photo.php", "/to-png"})
      CHECK_MESSAGE(server.hits(path) == hits_before[path], path);          // not fetched again
    CHECK(server.hits("/missing.jpg") == hits_before["/missing.jpg"] + 1);  // failures are tried again
    CHECK(server.hits("/cut.jpg") == hits_before["/cut.jpg"] + 1);
    CHECK(image_files(folder) == files);
    CHECK(ImageManifest(folder.string()).entries().size() == 13);
  }
  SUBCASE("a kept file that was removed by hand is fetched again") {
    fs::remove(folder / php.file);
    ImageManifest again(folder.string());
    const std::vector<std::string> only = {server.url("/photo.php?id=3")};
    const FolderCrawlCounts second = download_to_folder(only, "iu", again, options);
    CHECK(second.kept == 1);
    CHECK(image_files(folder).size() == 3);
  }
}

TEST_CASE("crawl: an error from on_done stops the downloads; a file where the folder should be is a clear error") {
  REQUIRE(have_http_client());
  FakeServer server;
  server.route("/a.png", FakeResponse::bytes(made_png(3), "image/png"));
  TempDir dir("crawl_error");
  fs::create_directories(dir.path / "out");
  ImageManifest manifest((dir.path / "out").string());
  std::vector<std::string> urls = {server.url("/a.png")};
  int calls = 0;
  CHECK_THROWS_WITH_AS(download_images(urls, DownloadOptions{},
                                       [&](DownloadedImage&) {
                                         ++calls;
                                         throw std::runtime_error("disk full");
                                       }),
                       "disk full", std::runtime_error);
  CHECK(calls == 1);

  // A file where the folder should be: a clear error naming it.
  ember::write_file_atomically(dir.file("blocked"), "x", "test");
  ImageManifest blocked((dir.path / "blocked" / "iu").string());
  ember::test::check_throws([&] { download_to_folder(urls, "iu", blocked, DownloadOptions{}); },
                            {"cannot create the folder", "blocked"});
}

TEST_CASE("http: http_fetch reports statuses and failures as values; http_get keeps its errors") {
  REQUIRE(have_http_client());
  FakeServer server;
  server.route("/ok", FakeResponse::bytes("hello", "text/plain"));
  server.route("/missing", FakeResponse::html("no", 404));
  server.route("/big", FakeResponse::bytes(std::string(5000, 'x'), "application/octet-stream"));
  server.route("/hop", FakeResponse::redirect("/ok", 301));
  HttpOptions options;
  options.max_bytes = 1000;
  options.headers = {"X-Test: 1"};

  const HttpResponse ok = http_fetch(server.url("/hop"), options);
  CHECK(ok.ok());
  CHECK(ok.status == 200);
  CHECK(ok.body == "hello");
  CHECK(ok.content_type == "text/plain");
  CHECK(ok.final_url == server.url("/ok"));
  CHECK(server.requests().back().headers.at("x-test") == "1");

  const HttpResponse missing = http_fetch(server.url("/missing"), options);
  CHECK(missing.ok());  // an answer came: its status says what it is
  CHECK(missing.status == 404);
  CHECK(http_fetch(server.url("/big"), options).failure == HttpFailure::too_large);
  CHECK(http_fetch("file:///etc/passwd", options).failure == HttpFailure::not_http);
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(ember::test::unused_port()) + "/x";
  CHECK(http_fetch(nowhere, options).failure == HttpFailure::could_not_connect);

  CHECK(http_get(server.url("/ok"), options) == "hello");
  ember::test::check_throws([&] { http_get(server.url("/missing"), options); },
                            {"GET " + server.url("/missing"), "the server answered HTTP 404"});
  ember::test::check_throws([&] { http_get(server.url("/big"), options); }, {"larger than 1000 bytes"});
  ember::test::check_throws([&] { http_get(nowhere, options); }, {"could not connect", "offline"});
  ember::test::check_throws([&] { http_get("ftp://example.com/x", options); }, {"only http:// and https://"});
}

TEST_CASE("fake server: its destructor returns at once while an answer is stalled") {
  REQUIRE(have_http_client());
  HttpResponse response;
  std::thread client;
  auto start = std::chrono::steady_clock::now();
  {
    FakeServer server;
    FakeResponse stall = FakeResponse::bytes(std::string(1000, 'x'), "image/jpeg");
    stall.stall_after_bytes = 10;
    server.route("/stall", stall);
    HttpOptions options;
    options.timeout_seconds = 20;  // the client would wait this long; the server's stop must end it first
    client = std::thread([&] { response = http_fetch(server.url("/stall"), options); });
    while (server.hits("/stall") == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(server.hits("/stall") == 1);
    start = std::chrono::steady_clock::now();
  }  // ~FakeServer
  client.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));  // not the 20 s or the 30 s stall
  CHECK_FALSE(response.ok());  // the connection closed before the announced 1000 bytes
}

TEST_CASE("crawl: the manifest is saved while the downloads run, so a killed crawl keeps its record") {
  REQUIRE(have_http_client());
  FakeServer server;  // every URL answers 404: fast, and each one is a manifest row
  std::vector<std::string> urls;
  for (int i = 0; i < 40; ++i) {
    std::string path = "/";  // (not "/" + to_string(i): g++ 12 warns falsely on it, -Wrestrict)
    path += std::to_string(i) + ".jpg";
    urls.push_back(server.url(path));
  }
  TempDir dir("crawl_save");
  ImageManifest manifest(dir.path.string());
  DownloadOptions options;
  options.workers = 2;
  size_t rows_on_disk_midway = 0;
  download_to_folder(urls, "iu", manifest, options, [&](const FolderCrawlCounts& counts) {
    if (counts.done() == 20) rows_on_disk_midway = ImageManifest(dir.path.string()).entries().size();
  });
  CHECK(rows_on_disk_midway >= 16);  // saved at least every 16 results
  CHECK(rows_on_disk_midway < 40);
  CHECK(ImageManifest(dir.path.string()).entries().size() == 40);
}
