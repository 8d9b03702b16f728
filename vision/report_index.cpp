// See report.h: write_report_index, the front page of the demo's three reports.
#include <filesystem>

#include "tensor/error.h"
#include "tensor/io/file.h"
#include "vision/report.h"

namespace ember::vision {

namespace {

// The text between `open` and `close` in `html` ("" when absent). Reports are ours, so their
// markup is known: one <title>, figures as <img src="...">.
std::string between(const std::string& html, const std::string& open, const std::string& close) {
  const size_t start = html.find(open);
  if (start == std::string::npos) return "";
  const size_t end = html.find(close, start + open.size());
  return end == std::string::npos ? "" : html.substr(start + open.size(), end - start - open.size());
}

}  // namespace

void write_report_index(const std::string& index_path, const std::string& title,
                        const std::vector<std::string>& report_dirs) {
  namespace fs = std::filesystem;
  const fs::path index_dir = fs::absolute(fs::path(index_path)).parent_path();
  std::string items;
  for (const std::string& dir : report_dirs) {
    const fs::path report = fs::path(dir) / "report.html";
    EMBER_CHECK(fs::exists(report), "report index: '" + report.string() + "' does not exist (run the app first)");
    const std::string html = read_file(report.string(), "report index");
    // The <title> is already escaped in the report; the figure's src is already a URL path.
    const std::string report_title = between(html, "<title>", "</title>");
    const std::string first_figure = between(html, "<img src=\"", "\"");
    const fs::path relative = fs::relative(fs::absolute(report).parent_path(), index_dir);
    const std::string href = url_path((relative / "report.html").generic_string());
    items += "<li><a href=\"" + href + "\">";
    if (!first_figure.empty())
      items += "<img src=\"" + url_path(relative.generic_string()) + "/" + first_figure + "\" alt=\"\">";
    items += "<span>" + (report_title.empty() ? html_escape(dir) : report_title) + "</span></a></li>\n";
  }
  const std::string page =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
      "</title>\n<style>\nbody { font-family: \"DejaVu Sans\", sans-serif; max-width: 62em; margin: 2em auto; "
      "padding: 0 1em; color: #222; }\nh1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }\n"
      "ul { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(16em, 1fr)); "
      "gap: 1em; }\nli a { display: block; border: 1px solid #ddd; border-radius: 6px; padding: .8em; color: #0645ad; "
      "text-decoration: none; }\nli a:hover { background: #f6f8fa; }\nli img { width: 100%; height: 12em; "
      "object-fit: contain; display: block; margin-bottom: .5em; }\n</style>\n</head>\n<body>\n<h1>" +
      html_escape(title) + "</h1>\n<ul>\n" + items + "</ul>\n</body>\n</html>\n";
  write_file_atomically(index_path, page, "report index");
}

}  // namespace ember::vision
