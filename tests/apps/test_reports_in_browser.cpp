// The reports open in a real browser: Debian's chromium (installed by scripts/setup), headless,
// loads each app's report.html and the demo's index.html, and every <img> must have loaded (no
// broken figure). The page is opened inside an iframe of a small checking page, which reads
// img.complete and img.naturalWidth once the report has loaded and writes the verdict into its
// own DOM; `chromium --dump-dom` prints that DOM. (--allow-file-access-from-files lets the checking
// page look into a file:// report; --virtual-time-budget lets the load finish before the dump.)
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "tensor/io/file.h"
#include "tests/apps/run_command.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace ember;
using ember::test::TempDir;

namespace {

// The GPU machine of scripts/gpu-check cannot install packages; it sets EMBER_BROWSER_TEST=skip.
// Everywhere else a missing chromium fails the test (scripts/setup installs it).
bool browser_test_skipped() {
  const char* value = std::getenv("EMBER_BROWSER_TEST");
  return value != nullptr && std::string(value) == "skip";
}

std::string chromium_path() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(candidate)) return candidate;
  return "";
}

struct PageCheck {
  int images = -1, broken = -1;
  std::string broken_list, raw;
};

// Loads `page` in headless chromium and counts its images and the broken ones.
PageCheck check_page(const std::string& chromium, const fs::path& page, const fs::path& scratch) {
  const fs::path checker = scratch / ("check_" + page.parent_path().filename().string() + ".html");
  write_file_atomically(checker.string(),
                        "<!DOCTYPE html><html><body><div id=\"result\">pending</div>\n"
                        "<iframe id=\"page\" src=\"file://" +
                            fs::absolute(page).string() +
                            "\" style=\"width:1200px;height:900px\"></iframe>\n<script>\n"
                            "document.getElementById('page').addEventListener('load', function () {\n"
                            "  var images = this.contentDocument.images, broken = [];\n"
                            "  for (var i = 0; i < images.length; ++i)\n"
                            "    if (!images[i].complete || images[i].naturalWidth === 0) "
                            "broken.push(images[i].getAttribute('src'));\n"
                            "  document.getElementById('result').textContent = 'images=' + images.length + "
                            "' broken=' + broken.length + ' [' + broken.join(' ') + ']';\n"
                            "});\n</script></body></html>\n",
                        "test");
  const test::CommandOutput r =
      test::run_command("timeout 120 " + chromium +
                        " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --allow-file-access-from-files "
                        "--virtual-time-budget=15000 --dump-dom file://" +
                        fs::absolute(checker).string());
  PageCheck check;
  check.raw = r.out.substr(0, 2000) + "\nstderr: " + r.err.substr(0, 2000);
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex("images=(\\d+) broken=(\\d+) \\[([^\\]]*)\\]"))) {
    check.images = std::stoi(m[1]);
    check.broken = std::stoi(m[2]);
    check.broken_list = m[3];
  }
  return check;
}

}  // namespace

TEST_CASE("every report (ex1, ex2, ex3) and the index open in chromium with all their figures") {
  const std::string chromium = chromium_path();
  if (chromium.empty() && browser_test_skipped()) {
    MESSAGE("skipped: no chromium on this machine and EMBER_BROWSER_TEST=skip");
    return;
  }
  // Not a skip: the demo's promise is reports that open in a browser, and scripts/setup installs it.
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: run scripts/setup (Debian package chromium)");
  TempDir dir("browser");
  const fs::path ex1 = dir.path / "ex1", ex2 = dir.path / "ex2", ex3 = dir.path / "ex3";
  // Small runs: the point is the pages, not the numbers.
  const auto r1 = test::run_command(std::string(EMBER_EX1_PATH) +
                                    " --data shapes --train 8 --test 4 --size 32 --epochs 1 --out " + ex1.string());
  REQUIRE_MESSAGE(r1.status == 0, r1.err);
  const auto r2 = test::run_command(std::string(EMBER_EX2_PATH) + " --restarts 1 --out " + ex2.string());
  REQUIRE_MESSAGE(r2.status == 0, r2.err);
  const auto r3 =
      test::run_command(std::string(EMBER_EX3_PATH) + " --epochs 200 --classifier-epochs 100 --out " + ex3.string());
  REQUIRE_MESSAGE(r3.status == 0, r3.err);
  const auto index = test::run_ember("index --out " + (dir.path / "index.html").string() + " " + ex1.string() + " " +
                                     ex2.string() + " " + ex3.string());
  REQUIRE_MESSAGE(index.status == 0, index.err);

  const std::vector<std::pair<fs::path, int>> pages = {
      {ex1 / "report.html", 6}, {ex2 / "report.html", 6}, {ex3 / "report.html", 4}, {dir.path / "index.html", 3}};
  for (const auto& [page, at_least] : pages) {
    CAPTURE(page);
    const PageCheck check = check_page(chromium, page, dir.path);
    INFO("chromium's output: ", check.raw);
    CHECK(check.images >= at_least);
    CHECK(check.broken == 0);
    CHECK(check.broken_list.empty());
  }
}

TEST_CASE("the browser check itself fails on a report whose figures are missing") {
  const std::string chromium = chromium_path();
  if (chromium.empty() && browser_test_skipped()) return;
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: run scripts/setup (Debian package chromium)");
  TempDir dir("browser_broken");
  write_file_atomically((dir.path / "report.html").string(),
                        "<!DOCTYPE html><html><body><img src=\"missing.png\"><img src=\"also%20missing.png\">"
                        "</body></html>",
                        "test");
  const PageCheck check = check_page(chromium, dir.path / "report.html", dir.path);
  INFO("chromium's output: ", check.raw);
  CHECK(check.images == 2);
  CHECK(check.broken == 2);
}
