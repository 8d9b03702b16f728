// Pretrained weights (vision/pretrained.h) and the streaming download under them
// (http_download_to_file, vision/http.h), against the fake server: what lands in the cache (the
// served bytes and a sha256sum record, nothing else, never a partial file), each check failing on
// its own (size, the server's digest, the pinned digest, the model check), reuse without a
// request, a corrupted cache downloaded again, and the network failures (offline, 404/500, a stall).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "tensor/io/file.h"
#include "tensor/io/safetensors.h"
#include "tests/test_util.h"
#include "tests/vision/fake_ddg_server.h"
#include "vision/http.h"
#include "vision/pretrained.h"
#include "vision/sha256.h"

using namespace ember;
using namespace ember::vision;
using ember::test::contains;
using ember::test::FakeResponse;
using ember::test::FakeServer;
using ember::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A small safetensors file's bytes (a made-up "model": fc.weight and fc.bias), different per seed.
std::string tiny_weights(int seed) {
  TempDir dir("tiny_weights");
  manual_seed(uint64_t(seed));
  save_safetensors(dir.file("w.safetensors"), {{"fc.weight", randn({3, 4})}, {"fc.bias", randn({3})}});
  return read_file(dir.file("w.safetensors"), "test");
}

// The tiny model: its check loads the file and wants fc.weight in it.
PretrainedModel tiny_model() {
  PretrainedModel model;
  model.id = "tiny.test";
  model.path = "models/tiny/model.safetensors";
  model.sha256_env = "EMBER_TEST_TINY_SHA256";
  model.check = [](const std::string& file) {
    EMBER_CHECK(load_safetensors(file).tensors.count("fc.weight") == 1, "no fc.weight in " + file);
  };
  return model;
}

const char* kTinyPath = "/models/tiny/model.safetensors";

// Hugging Face's way: the resolve URL redirects to a CDN, and the redirect carries the digest.
void serve_like_hugging_face(FakeServer& server, const std::string& bytes, const std::string& linked_etag) {
  FakeResponse redirect = FakeResponse::redirect("/cdn/blob");
  redirect.body = "Found. Redirecting to /cdn/blob";  // as Hugging Face's: not part of the file
  redirect.headers.push_back({"X-Linked-Etag", "\"" + linked_etag + "\""});
  redirect.headers.push_back({"X-Linked-Size", std::to_string(bytes.size())});
  server.route(kTinyPath, redirect);
  FakeResponse blob = FakeResponse::bytes(bytes, "application/octet-stream");
  blob.headers.push_back({"ETag", "\"5d41402abc4b2a76b9719d911017c592-3\""});  // a CDN's tag, not a SHA-256
  server.route("/cdn/blob", blob);
}

struct Setup {
  FakeServer server;
  TempDir cache{"pretrained_cache", false};  // created by the code under test
  std::vector<std::string> log;
  std::vector<std::pair<int64_t, int64_t>> progress;

  PretrainedOptions options() {
    PretrainedOptions o;
    o.base_url = server.base_url();
    o.cache_dir = cache.path.string();
    o.http.stall_seconds = 1;  // a stalled server is cut off after 1 s
    o.log = [this](const std::string& line) { log.push_back(line); };
    o.progress = [this](int64_t done, int64_t total) { progress.push_back({done, total}); };
    return o;
  }
  std::string cached() const { return cache.file("tiny.test.safetensors"); }
  std::string record() const { return cache.file("tiny.test.safetensors.sha256"); }
  // Nothing in the cache folder (it may not even exist): no partial file, no temporary file.
  bool cache_empty() const { return !fs::exists(cache.path) || fs::is_empty(cache.path); }
};

std::string error_of(const std::function<void()>& fn, WeightsProblem* problem = nullptr) {
  try {
    fn();
  } catch (const PretrainedWeightsError& e) {
    if (problem) *problem = e.problem;
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("pretrained weights: downloaded through a redirect, checked, cached with a sha256sum record") {
  Setup s;
  const std::string bytes = tiny_weights(1);
  const std::string digest = sha256_hex(bytes);
  serve_like_hugging_face(s.server, bytes, digest);

  const std::string path = pretrained_weights_path(tiny_model(), s.options());
  CHECK(path == s.cached());
  CHECK(read_file(path, "test") == bytes);
  CHECK(read_file(s.record(), "test") == digest + "  tiny.test.safetensors\n");
  CHECK(s.cache.entries() == std::vector<std::string>{"tiny.test.safetensors", "tiny.test.safetensors.sha256"});
  CHECK(s.server.hits(kTinyPath) == 1);
  CHECK(s.server.hits("/cdn/blob") == 1);
  // Progress: growing byte counts out of the Content-Length, ending at all of it.
  REQUIRE(!s.progress.empty());
  CHECK(s.progress.back() == std::pair<int64_t, int64_t>(int64_t(bytes.size()), int64_t(bytes.size())));
  for (size_t i = 1; i < s.progress.size(); ++i) CHECK(s.progress[i].first > s.progress[i - 1].first);
  REQUIRE(s.log.size() == 1);
  CHECK(contains(s.log[0], "downloading " + s.server.url(kTinyPath)));

  SUBCASE("reused without a request, even with the server gone") {
    PretrainedOptions options = s.options();
    options.base_url = "http://127.0.0.1:" + std::to_string(test::unused_port());
    CHECK(pretrained_weights_path(tiny_model(), options) == s.cached());
    CHECK(s.server.hits(kTinyPath) == 1);
    CHECK(s.log.size() == 1);  // no message either
  }
  SUBCASE("a corrupted cached file is deleted and downloaded again") {
    std::string corrupted = bytes;
    corrupted[corrupted.size() / 2] ^= 1;
    write_file_atomically(s.cached(), corrupted, "test");
    CHECK(pretrained_weights_path(tiny_model(), s.options()) == s.cached());
    CHECK(read_file(s.cached(), "test") == bytes);
    CHECK(s.server.hits(kTinyPath) == 2);
    REQUIRE(s.log.size() == 3);
    CHECK(contains(s.log[1], "is corrupted: its SHA-256 is " + sha256_hex(corrupted) +
                                 ", but "
                                 "tiny.test.safetensors.sha256 says " +
                                 digest));
  }
  SUBCASE("a cached file without its record is downloaded again") {
    fs::remove(s.record());
    CHECK(pretrained_weights_path(tiny_model(), s.options()) == s.cached());
    CHECK(s.server.hits(kTinyPath) == 2);
    CHECK(read_file(s.record(), "test") == digest + "  tiny.test.safetensors\n");
  }
  SUBCASE("a cached file that is not the pinned one is replaced") {
    const std::string other = tiny_weights(2);
    serve_like_hugging_face(s.server, other, sha256_hex(other));
    PretrainedOptions options = s.options();
    options.sha256 = sha256_hex(other);
    CHECK(pretrained_weights_path(tiny_model(), options) == s.cached());
    CHECK(read_file(s.cached(), "test") == other);
    CHECK(s.server.hits(kTinyPath) == 2);
  }
}

TEST_CASE("pretrained weights: a download that fails a check leaves nothing in the cache") {
  Setup s;
  const std::string bytes = tiny_weights(3);
  const std::string digest = sha256_hex(bytes);
  const std::string wrong = sha256_hex("something else");
  WeightsProblem problem = WeightsProblem::offline;

  SUBCASE("the server's X-Linked-Etag differs") {
    serve_like_hugging_face(s.server, bytes, wrong);
    const std::string message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "the download of " + s.server.url(kTinyPath) + " has SHA-256 " + digest +
                                ", but the server's X-Linked-Etag says " + wrong));
  }
  SUBCASE("a plain ETag of 64 hex digits differs (no redirect)") {
    FakeResponse answer = FakeResponse::bytes(bytes, "application/octet-stream");
    answer.headers.push_back({"ETag", "\"" + wrong + "\""});
    s.server.route(kTinyPath, answer);
    const std::string message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "but the server's ETag says " + wrong));
  }
  SUBCASE("the pinned digest differs (option, then environment variable)") {
    serve_like_hugging_face(s.server, bytes, digest);
    PretrainedOptions options = s.options();
    options.sha256 = wrong;
    std::string message = error_of([&] { pretrained_weights_path(tiny_model(), options); }, &problem);
    CHECK(contains(message, "has SHA-256 " + digest + ", not " + wrong + " (the pinned digest)"));
    CHECK(s.cache_empty());
    ::setenv("EMBER_TEST_TINY_SHA256", wrong.c_str(), 1);
    message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); });
    ::unsetenv("EMBER_TEST_TINY_SHA256");
    CHECK(contains(message, "not " + wrong + " ($EMBER_TEST_TINY_SHA256)"));
  }
  SUBCASE("X-Linked-Size differs from what came") {
    FakeResponse answer = FakeResponse::bytes(bytes, "application/octet-stream");
    answer.headers.push_back({"X-Linked-Size", std::to_string(bytes.size() + 1)});
    s.server.route(kTinyPath, answer);
    const std::string message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "has " + std::to_string(bytes.size()) + " bytes, but the server's X-Linked-Size says " +
                                std::to_string(bytes.size() + 1)));
  }
  SUBCASE("the file is not the model's weights (the real ResNet34 check)") {
    FakeResponse answer = FakeResponse::bytes(bytes, "application/octet-stream");
    s.server.route("/timm/resnet34.tv_in1k/resolve/main/model.safetensors", answer);
    const std::string message = error_of([&] { pretrained_resnet34_path(s.options()); }, &problem);
    CHECK(contains(message, "is not resnet34.tv_in1k's weights"));
    CHECK(contains(message, "conv1.weight"));  // load_torchvision_weights names the missing keys
  }
  INFO(s.log.size());
  CHECK(problem == WeightsProblem::failed_check);
  CHECK(s.cache_empty());
}

TEST_CASE("pretrained weights: network failures, each in one line, nothing left behind") {
  Setup s;
  const std::string bytes = tiny_weights(4);
  WeightsProblem problem = WeightsProblem::failed_check;
  std::string message;

  SUBCASE("offline: nothing listens") {
    const std::string base = "http://127.0.0.1:" + std::to_string(test::unused_port());
    PretrainedOptions options = s.options();
    options.base_url = base;
    message = error_of([&] { pretrained_resnet34_path(options); }, &problem);
    CHECK(message.rfind("pretrained weights: cannot download " + base +
                            "/timm/resnet34.tv_in1k/resolve/main/model.safetensors: could not connect; are you "
                            "offline, or is the server down?",
                        0) == 0);
    CHECK(contains(message, ". Use --weights FILE for a local copy, or --allow-random-init to train from scratch"));
    CHECK(problem == WeightsProblem::offline);
  }
  SUBCASE("offline: the host name does not resolve") {
    PretrainedOptions options = s.options();
    options.base_url = "http://ember-no-such-host.invalid";
    options.http.connect_timeout_seconds = 3;  // a resolver that does not answer counts as a time out
    message = error_of([&] { pretrained_resnet34_path(options); }, &problem);
    if (contains(message, "timed out")) {
      MESSAGE("this machine's resolver did not answer within 3 s: " << message);
    } else {
      CHECK(message.rfind("pretrained weights: cannot download http://ember-no-such-host.invalid/timm/"
                          "resnet34.tv_in1k/resolve/main/model.safetensors: could not resolve the host name; "
                          "are you offline?",
                          0) == 0);
      CHECK(problem == WeightsProblem::offline);
    }
    CHECK(contains(message, "--allow-random-init"));
  }
  SUBCASE("HTTP 404 and 500") {
    s.server.route(kTinyPath, FakeResponse::html("no such file", 404));
    message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "cannot download " + s.server.url(kTinyPath) + ": the server answered HTTP 404"));
    CHECK(problem == WeightsProblem::not_fetched);
    s.server.route(kTinyPath, FakeResponse::html("oops", 500));
    message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "the server answered HTTP 500"));
  }
  SUBCASE("the connection closes before Content-Length bytes came") {
    FakeResponse answer = FakeResponse::bytes(bytes, "application/octet-stream");
    answer.content_length = int64_t(bytes.size()) + 100;
    s.server.route(kTinyPath, answer);
    message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "the server announced " + std::to_string(bytes.size() + 100) + " bytes but sent " +
                                std::to_string(bytes.size())));
    CHECK(problem == WeightsProblem::not_fetched);
  }
  SUBCASE("the server stalls in the middle (cut off after 1 s)") {
    FakeResponse answer = FakeResponse::bytes(bytes, "application/octet-stream");
    answer.stall_after_bytes = bytes.size() / 2;
    s.server.route(kTinyPath, answer);
    message = error_of([&] { pretrained_weights_path(tiny_model(), s.options()); }, &problem);
    CHECK(contains(message, "timed out"));
    CHECK(problem == WeightsProblem::not_fetched);
  }
  INFO(message);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(s.cache_empty());
}

TEST_CASE("pretrained weights: a bad pinned digest is named before anything is fetched") {
  Setup s;
  PretrainedOptions options = s.options();
  options.sha256 = "not-a-digest";
  test::check_throws([&] { pretrained_weights_path(tiny_model(), options); },
                     {"the pinned digest 'not-a-digest' is not a SHA-256 (64 hex digits)"});
  CHECK(s.server.requests().empty());
}

TEST_CASE("pretrained weights: $EMBER_WEIGHTS_URL and $EMBER_CACHE_DIR say where from and where to") {
  FakeServer server;
  TempDir cache("pretrained_env");
  const std::string bytes = tiny_weights(5);
  server.route(kTinyPath, FakeResponse::bytes(bytes, "application/octet-stream"));
  ::setenv("EMBER_WEIGHTS_URL", (server.base_url() + "/").c_str(), 1);  // a trailing slash is fine
  ::setenv("EMBER_CACHE_DIR", cache.path.c_str(), 1);
  PretrainedOptions options;
  options.log = [](const std::string&) {};
  std::string path;
  const std::string message = test::error_of([&] { path = pretrained_weights_path(tiny_model(), options); });
  ::unsetenv("EMBER_WEIGHTS_URL");
  ::unsetenv("EMBER_CACHE_DIR");
  CHECK(message == "(no error)");
  CHECK(path == (cache.path / "weights" / "tiny.test.safetensors").string());
  CHECK(server.hits(kTinyPath) == 1);
  CHECK(read_file(path, "test") == bytes);
}

TEST_CASE("pretrained weights: the download limits fit ResNet34's 87.3 MB, and a stall ends it") {
  // http_get's default limit (64 MB) would refuse the file; a dead connection must not hang the app.
  const HttpOptions options = weights_http_options();
  CHECK(options.max_bytes >= size_t(87.3e6) * 2);
  CHECK(options.timeout_seconds == 0);  // slow links: no limit on the whole transfer...
  CHECK(options.stall_seconds > 0);     // ... but a limit on silence
  CHECK(PretrainedOptions().http.stall_seconds == options.stall_seconds);
}

TEST_CASE("http_download_to_file: limits, a failing check, an unwritable target, headers") {
  FakeServer server;
  TempDir dir("download");
  std::string body(3 << 20, 'x');  // 3 MB: many progress reports
  for (size_t i = 0; i < body.size(); i += 4099) body[i] = char(i / 4099);
  FakeResponse answer = FakeResponse::bytes(body, "application/octet-stream");
  answer.headers.push_back({"X-Extra", "  spaced value  "});
  server.route("/f", answer);

  std::vector<std::pair<int64_t, int64_t>> reports;
  DownloadedFile d = http_download_to_file(server.url("/f"), dir.file("f"), {}, [&](int64_t done, int64_t total) {
    reports.push_back({done, total});
  });
  CHECK(reports.size() > 10);
  CHECK(reports.back() == std::pair<int64_t, int64_t>(int64_t(body.size()), int64_t(body.size())));
  CHECK(read_file(dir.file("f"), "test") == body);
  CHECK(d.bytes == int64_t(body.size()));
  CHECK(d.content_length == int64_t(body.size()));
  CHECK(d.sha256 == sha256_hex(body));
  CHECK(d.status == 200);
  CHECK(d.header("x-extra") == "spaced value");
  CHECK(d.header("content-type") == "application/octet-stream");
  CHECK(d.header("x-missing") == "");

  HttpOptions small;
  small.max_bytes = 1000;
  test::check_throws([&] { http_download_to_file(server.url("/f"), dir.file("g"), small); },
                     {"GET " + server.url("/f"), "larger than 1000 bytes"});
  test::check_throws(
      [&] {
        http_download_to_file(server.url("/f"), dir.file("g"), {}, nullptr,
                              [](const DownloadedFile&, const std::string& tmp) {
                                CHECK(fs::file_size(tmp) == 3 << 20);  // the bytes are there, not yet renamed
                                throw Error("rejected");
                              });
      },
      {"rejected"});
  test::check_throws([&] { http_download_to_file(server.url("/f"), dir.file("no/such/dir/g")); },
                     {"cannot create the temporary file", "no/such/dir/g"});
  test::check_throws([&] { http_download_to_file("ftp://example.org/x", dir.file("g")); },
                     {"only http:// and https://"});
  CHECK(dir.entries() == std::vector<std::string>{"f"});  // no "g", no temporary files
}

TEST_CASE("http: stall_seconds cuts off a silent server within about a second of the limit") {
  FakeServer server;
  FakeResponse answer = FakeResponse::bytes(std::string(1000, 'x'), "application/octet-stream");
  answer.stall_after_bytes = 500;
  server.route("/stall", answer);
  HttpOptions options;
  options.stall_seconds = 1;
  options.timeout_seconds = 20;  // what would end it without the stall limit
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse response = http_fetch(server.url("/stall"), options);
  CHECK(response.failure == HttpFailure::timed_out);
  CHECK(response.error == "no data came for 1 s");
  TempDir dir("stall");
  test::check_throws([&] { http_download_to_file(server.url("/stall"), dir.file("s"), options); },
                     {"GET " + server.url("/stall") + ": timed out (no data came for 1 s)"});
  CHECK(dir.entries().empty());
  // Both cut off well before the 20 s limit (1 s each, plus up to a second for libcurl to look).
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 10);
}
