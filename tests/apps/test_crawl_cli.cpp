// `ember crawl` end to end against the fake DuckDuckGo (tests/vision/fake_ddg_server.h) with
// --pause 0: files on disk, the printed summary, the manifest, resuming, and the exit status and
// message when the search is blocked, offline or gets no token, or the flags are wrong.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "tensor/io/file.h"
#include "tests/apps/run_command.h"
#include "tests/test_util.h"
#include "tests/vision/fake_ddg_server.h"  // compiled into this program too (tests/CMakeLists.txt)
#include "vision/image.h"
#include "vision/image_manifest.h"

using namespace ember;
using ember::test::FakeRequest;
using ember::test::FakeResponse;
using ember::test::FakeServer;
using ember::test::TempDir;
namespace fs = std::filesystem;

namespace {

using Output = ember::test::CommandOutput;

// Runs `[environment] ember crawl <arguments>` through the shell.
Output run_crawl(const std::string& arguments, const std::string& environment = "") {
  return ember::test::run_command(environment + " " + std::string(EMBER_CLI_PATH) + " crawl " + arguments);
}

std::string test_image(const std::string& name) {
  return read_file(std::string(EMBER_TEST_DATA) + "/images/" + name, "test");
}

std::vector<std::string> image_files(const fs::path& folder) { return ember::test::file_names(folder, "manifest.csv"); }

const char* kTokenPage = "<script>vqd=\"4-77\";</script>";

// "iu" finds a JPEG and a 404; "iu kpop" finds the same JPEG again and a PNG.
void serve_two_searches(FakeServer& server) {
  server.route("/", FakeResponse::html(kTokenPage));
  const std::string base = server.base_url();
  server.route("/i.js", [base](const FakeRequest& r) {
    if (r.param("q") == "iu")
      return FakeResponse::json(test::image_page_json({base + "/a.jpg", base + "/gone.jpg"}, ""));
    return FakeResponse::json(test::image_page_json({base + "/a.jpg", base + "/b.png?size=large"}, ""));
  });
  server.route("/a.jpg", FakeResponse::bytes(test_image("photo_120x90.jpg"), "image/jpeg"));
  server.route("/b.png", FakeResponse::bytes(test_image("rgb_97x61.png"), "image/png"));
  server.route("/gone.jpg", FakeResponse::html("gone", 404));
}

}  // namespace

TEST_CASE("ember crawl: two queries into images/train/iu, then a second run that resumes") {
  FakeServer server;
  serve_two_searches(server);
  TempDir dir("crawl_cli");
  const std::string out = (dir.path / "images").string();
  const std::string args = "--label iu --query iu --query 'iu kpop' --out " + out +
                           " --pause 0 --timeout 5 --search-url " + server.base_url();
  const Output first = run_crawl(args);
  INFO("stderr: ", first.err);
  REQUIRE(first.status == 0);
  CHECK(first.out.find("iu: found 2 urls: kept 1, duplicates 0, failed 1 (HTTP 404: 1), already had 0\n") !=
        std::string::npos);
  CHECK(first.out.find("iu kpop: found 2 urls: kept 1, duplicates 0, failed 0, already had 1\n") != std::string::npos);
  CHECK(first.out.find("images/train/iu: 2 images") != std::string::npos);
  CHECK(first.err.find("searching DuckDuckGo images for 'iu kpop'") != std::string::npos);
  CHECK(server.hits("/i.js") == 2);
  CHECK(server.hits("/a.jpg") == 1);  // the second query's copy of the URL is not fetched again

  const fs::path folder = dir.path / "images" / "train" / "iu";
  const std::vector<std::string> files = image_files(folder);
  REQUIRE(files.size() == 2);
  for (const std::string& name : files) CHECK(vision::load_image((folder / name).string()).width > 0);
  CHECK(((files[0].size() > 4 && files[0].substr(files[0].size() - 4) == ".jpg") ||
         files[1].substr(files[1].size() - 4) == ".jpg"));
  const vision::ImageManifest manifest(folder.string());
  REQUIRE(manifest.entries().size() == 3);
  const vision::ManifestEntry* png = manifest.find_url(server.url("/b.png?size=large"));
  REQUIRE(png != nullptr);
  CHECK(png->status == "ok");
  CHECK(png->query == "iu kpop");
  CHECK(png->file.substr(png->file.size() - 4) == ".png");
  CHECK(manifest.find_url(server.url("/gone.jpg"))->reason == "HTTP 404");

  const Output second = run_crawl(args);
  REQUIRE(second.status == 0);
  CHECK(second.out.find("iu: found 2 urls: kept 0, duplicates 0, failed 1 (HTTP 404: 1), already had 1\n") !=
        std::string::npos);
  CHECK(second.out.find("iu kpop: found 2 urls: kept 0, duplicates 0, failed 0, already had 2\n") != std::string::npos);
  CHECK(server.hits("/a.jpg") == 1);
  CHECK(server.hits("/b.png") == 1);
  CHECK(server.hits("/gone.jpg") == 2);  // failures are tried again
  CHECK(image_files(folder) == files);
}

TEST_CASE("ember crawl: --split test, the label as the default query, EMBER_DDG_URL") {
  FakeServer server;
  serve_two_searches(server);
  TempDir dir("crawl_cli_env");
  const Output run = run_crawl("--label iu --split test --pause 0 --out " + (dir.path / "images").string(),
                               "EMBER_DDG_URL=" + server.base_url());
  INFO("stderr: ", run.err);
  REQUIRE(run.status == 0);
  CHECK(server.requests().at(0).target == "/?q=iu");
  CHECK(image_files(dir.path / "images" / "test" / "iu").size() == 1);
}

TEST_CASE("ember crawl: blocked, offline and token-less searches end with status 1 and a clear line") {
  FakeServer server;
  TempDir dir("crawl_cli_fail");
  const std::string common = "--label iu --pause 0 --backoff 0.01 --tries 2 --out " + (dir.path / "images").string();

  server.route("/", FakeResponse::html("blocked", 403));
  Output blocked = run_crawl(common + " --search-url " + server.base_url());
  CHECK(blocked.status == 1);
  CHECK(blocked.err.find("ember crawl: DuckDuckGo refused the search for 'iu' (HTTP 403 after 2 tries)") !=
        std::string::npos);
  CHECK(blocked.err.find("try again later") != std::string::npos);
  CHECK(server.hits("/") == 2);

  server.route("/", FakeResponse::html("<html>nothing to see</html>"));
  Output no_token = run_crawl(common + " --search-url " + server.base_url());
  CHECK(no_token.status == 1);
  CHECK(no_token.err.find("DuckDuckGo answered without a vqd token for 'iu'") != std::string::npos);

  const std::string nowhere = "http://127.0.0.1:" + std::to_string(test::unused_port());
  Output offline = run_crawl(common + " --search-url " + nowhere);
  CHECK(offline.status == 1);
  CHECK(offline.err.find("could not connect; are you offline") != std::string::npos);
  CHECK(offline.err.find(nowhere) != std::string::npos);

  // Nothing was written for the failed searches.
  const fs::path folder = dir.path / "images" / "train" / "iu";
  CHECK((!fs::exists(folder) || image_files(folder).empty()));
}

TEST_CASE("ember crawl: usage errors exit with 2 and name the flag") {
  struct Case {
    std::string arguments, fragment;
  };
  const Case cases[] = {
      {"--query iu", "--label is required"},
      {"--label iu --split valid", "--split must be train or test, got 'valid'"},
      {"--label ../iu", "must be a single folder name"},
      {"--label .hidden", "must not start with '.'"},
      {"--label iu --max 0", "--max must be at least 1"},
      {"--label iu --max many", "--max expects an integer"},
      {"--label iu --query", "--query needs a value"},
      {"--label iu --query ''", "--query must not be empty"},
      {"--label iu --search-url ftp://example.com", "--search-url must start with http:// or https://"},
      {"--label iu --timeout 0", "--timeout and --connect-timeout must be positive"},
      {"--label iu --colour red", "unknown flag '--colour'"},
  };
  for (const Case& c : cases) {
    INFO(c.arguments);
    const Output run = run_crawl(c.arguments, "EMBER_DDG_URL=http://127.0.0.1:9");  // never reached
    CHECK(run.status == 2);
    CHECK(run.err.find(c.fragment) != std::string::npos);
  }
  const Output help = run_crawl("--help");
  CHECK(help.status == 0);
  CHECK(help.out.find("--query") != std::string::npos);
}
