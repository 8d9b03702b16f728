// Tests of vision/report.h: escaping, the order of blocks and the merging of prints, relative
// figure paths, and the atomic save of report.html.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "../test_util.h"
#include "tensor/io/file.h"
#include "vision/report.h"

namespace fs = std::filesystem;
using ember::vision::html_escape;
using ember::vision::Report;

namespace {

// Reports create their own folder, so these directories start out missing.
struct TempDir : ember::test::TempDir {
  TempDir() : ember::test::TempDir("report", false) {}
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("html_escape escapes the five special characters") {
  CHECK(html_escape("a < b && c > \"d\" 'e'") == "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &#39;e&#39;");
  CHECK(html_escape("정답: 민정") == "정답: 민정");
}

TEST_CASE("blocks keep their order; consecutive prints share one <pre>") {
  TempDir dir;
  Report report((dir.path / "out").string(), "Exercise <2>");
  CHECK(fs::is_directory(dir.path / "out"));  // made by the constructor
  report.heading("1. fit");
  report.print("epoch 1 <loss> 0.5");
  report.print("epoch 2");
  report.figure("fit 1.png", "after & before");
  report.print("done");
  report.paragraph("정답: 규빈, 민정\n<script>");
  report.table({"epoch", "accuracy"}, {{"0", "0.95"}, {"1", "0.97 & more"}});
  const std::string html = report.html();

  CHECK(html.find("<meta charset=\"utf-8\">") != std::string::npos);
  CHECK(html.find("<title>Exercise &lt;2&gt;</title>") != std::string::npos);
  CHECK(html.find("<pre>epoch 1 &lt;loss&gt; 0.5\nepoch 2\n</pre>") != std::string::npos);
  CHECK(count_of(html, "<pre>") == 2);  // the two prints merged; "done" after the figure is its own
  CHECK(html.find("src=\"fit%201.png\"") != std::string::npos);
  CHECK(html.find("<figcaption>after &amp; before</figcaption>") != std::string::npos);
  CHECK(html.find("<p>정답: 규빈, 민정<br>\n&lt;script&gt;</p>") != std::string::npos);
  CHECK(html.find("<td>0.97 &amp; more</td>") != std::string::npos);
  CHECK(html.find("<script>") == std::string::npos);

  const size_t heading = html.find("<h2>1. fit</h2>"), first_pre = html.find("<pre>epoch 1"),
               figure = html.find("<figure>"), done = html.find("<pre>done"), paragraph = html.find("<p>정답"),
               table = html.find("<table>");
  REQUIRE(heading != std::string::npos);
  CHECK(heading < first_pre);
  CHECK(first_pre < figure);
  CHECK(figure < done);
  CHECK(done < paragraph);
  CHECK(paragraph < table);
}

TEST_CASE("save writes report.html atomically, again and again") {
  TempDir dir;
  Report report(dir.path.string(), "run");
  report.print("step 1");
  const std::string path = report.save();
  CHECK(path == (dir.path / "report.html").string());
  CHECK(ember::read_file(path, "test") == report.html());
  report.print("step 2");
  report.save();
  const std::string second = ember::read_file(path, "test");
  CHECK(second.find("step 2") != std::string::npos);
  CHECK(second.find("</html>") != std::string::npos);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);  // no temp files

  // report.html blocked by a directory: an error naming the path, the directory untouched, no temp file.
  TempDir other;
  Report blocked(other.path.string(), "blocked");
  fs::create_directories(other.path / "report.html" / "x");
  const std::string message = ember::test::error_of([&] { blocked.save(); });
  CHECK(message.find((other.path / "report.html").string()) != std::string::npos);
  CHECK(std::distance(fs::directory_iterator(other.path), fs::directory_iterator()) == 1);
}

TEST_CASE("report errors: figure paths must stay in the folder, tables must be rectangular") {
  TempDir dir;
  Report report(dir.path.string(), "run");
  CHECK(ember::test::error_of([&] { report.figure("../up.png"); }).find("'../up.png'") != std::string::npos);
  CHECK(ember::test::error_of([&] { report.figure("/tmp/abs.png"); }).find("relative") != std::string::npos);
  CHECK(ember::test::error_of([&] { report.table({"a", "b"}, {{"1"}}); }).find("1 cells") != std::string::npos);
  CHECK(ember::test::error_of([&] { report.heading("x", 7); }).find("level 7") != std::string::npos);
  report.figure("figs/a.png");  // a sub-folder is fine
  CHECK(report.html().find("src=\"figs/a.png\"") != std::string::npos);

  const fs::path file = dir.path / "a_file";
  ember::write_file_atomically(file.string(), "x", "test");
  CHECK(ember::test::error_of([&] { Report bad((file / "out").string(), "t"); }).find("cannot create") !=
        std::string::npos);
}
