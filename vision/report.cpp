// See report.h.
#include "vision/report.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "tensor/error.h"
#include "tensor/io/file.h"

namespace ember::vision {
namespace {

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo",
       sans-serif; max-width: 62em; margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2, h3 { margin-top: 1.6em; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: .7em 1em; overflow-x: auto;
      font-family: "DejaVu Sans Mono", "Noto Sans Mono CJK KR", monospace; font-size: 90%; line-height: 1.35; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 92%; margin-top: .3em; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25em .7em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
)";

}  // namespace

// Percent-encodes what may not stand in a URL path as is (spaces, quotes, '#', '?', non-ASCII
// bytes of a Korean file name), keeping '/' so that sub-folders work.
std::string url_path(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

Report::Report(std::string out_dir, std::string title) : out_dir_(std::move(out_dir)), title_(std::move(title)) {
  EMBER_CHECK(!out_dir_.empty(), "Report: the output folder is empty; give a folder such as 'out'");
  std::error_code error;
  std::filesystem::create_directories(out_dir_, error);
  EMBER_CHECK(!error, "Report: cannot create the output folder '" + out_dir_ + "': " + error.message());
}

void Report::heading(const std::string& text, int level) {
  EMBER_CHECK(level >= 1 && level <= 6, "Report::heading: level " + std::to_string(level) + " is not 1..6");
  const std::string n = std::to_string(level);
  std::string html = "<h";
  html.append(n).append(">").append(html_escape(text)).append("</h").append(n).append(">");
  blocks_.push_back({Kind::html, html});
}

void Report::print(const std::string& text) {
  std::cout << text << std::endl;  // flushed: a long run shows its progress as it goes
  if (!blocks_.empty() && blocks_.back().kind == Kind::pre) {
    blocks_.back().content += text + "\n";
  } else {
    blocks_.push_back({Kind::pre, text + "\n"});
  }
}

void Report::figure(const std::string& png_file_name, const std::string& caption) {
  const std::filesystem::path path(png_file_name);
  bool escapes = false;
  for (const auto& part : path) escapes = escapes || part == "..";
  EMBER_CHECK(!png_file_name.empty() && path.is_relative() && !escapes,
              "Report::figure: '" + png_file_name +
                  "' must be a path relative to the report's folder (like 'fit.png'), without '..'");
  std::string html = "<figure><img src=\"" + html_escape(url_path(png_file_name)) + "\" alt=\"" +
                     html_escape(caption.empty() ? png_file_name : caption) + "\">";
  if (!caption.empty()) html += "<figcaption>" + html_escape(caption) + "</figcaption>";
  blocks_.push_back({Kind::html, html + "</figure>"});
}

void Report::paragraph(const std::string& text) {
  std::string escaped = html_escape(text), html;
  for (char c : escaped) html += c == '\n' ? std::string("<br>\n") : std::string(1, c);
  blocks_.push_back({Kind::html, "<p>" + html + "</p>"});
}

void Report::raw_html(const std::string& html) { blocks_.push_back({Kind::html, html}); }

void Report::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table>\n";
  if (!header.empty()) {
    html += "<thead><tr>";
    for (const std::string& cell : header) html += "<th>" + html_escape(cell) + "</th>";
    html += "</tr></thead>\n";
  }
  html += "<tbody>\n";
  for (const auto& row : rows) {
    EMBER_CHECK(header.empty() || row.size() == header.size(),
                "Report::table: a row has " + std::to_string(row.size()) + " cells but the header has " +
                    std::to_string(header.size()));
    html += "<tr>";
    for (const std::string& cell : row) html += "<td>" + html_escape(cell) + "</td>";
    html += "</tr>\n";
  }
  blocks_.push_back({Kind::html, html + "</tbody></table>"});
}

std::string Report::html() const {
  std::string page = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + html_escape(title_) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  page += "<h1>" + html_escape(title_) + "</h1>\n";
  for (const Block& block : blocks_) {
    page += block.kind == Kind::pre ? "<pre>" + html_escape(block.content) + "</pre>" : block.content;
    page += "\n";
  }
  return page + "</body>\n</html>\n";
}

std::string Report::save() const {
  const std::string path = (std::filesystem::path(out_dir_) / "report.html").string();
  write_file_atomically(path, html(), "Report::save: cannot write '" + path + "'");
  return path;
}

}  // namespace ember::vision
