// The HTML report of an app run, like the notebook it replaces: headings, printed output, figures
// and tables in the order the app produced them, in out_dir/report.html next to the PNGs.
//
//   Report report("out", "Exercise 2: an over-parameterised linear model");
//   report.heading("1. y = b0 + b1 x");
//   report.print("epoch 10: loss 1.02");      // also written to stdout, like the notebook's print
//   fig.save_png("out/fit1.png");
//   report.figure("fit1.png", "the fit after 100 epochs");
//   report.save();                            // after each step too: a partial run leaves a valid page
//
// Invariants: every piece of text is HTML-escaped (raw_html is the one exception, for the caller's
// own markup); consecutive print() calls share one <pre> block; figures are referred to by
// relative path so the folder can be moved or zipped; save() writes the whole page atomically, so
// report.html is always a complete page. The page is UTF-8 (Korean text shows as is). Needs no cairo.
#pragma once
#include <string>
#include <vector>

namespace ember::vision {

class Report {
 public:
  // Creates out_dir (and its parents) if it does not exist.
  Report(std::string out_dir, std::string title);

  void heading(const std::string& text, int level = 2);  // level 1..6; the page title is the one <h1>
  // Printed output: written to stdout with a newline (like Python's print) and kept in a <pre> block.
  void print(const std::string& text);
  // A PNG in out_dir (a relative path such as "fit.png" or "figs/fit.png"), shown with a caption.
  void figure(const std::string& png_file_name, const std::string& caption = "");
  void paragraph(const std::string& text);  // plain text, escaped; blank lines are kept as line breaks
  void raw_html(const std::string& html);   // trusted markup, inserted as is
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

  // out_dir/report.html, written atomically; returns its path.
  std::string save() const;
  std::string html() const;
  const std::string& out_dir() const { return out_dir_; }

 private:
  enum class Kind { html, pre };
  struct Block {
    Kind kind;
    std::string content;  // html: ready markup; pre: the raw printed text (escaped when rendered)
  };
  std::string out_dir_, title_;
  std::vector<Block> blocks_;
};

// "a < b & c" -> "a &lt; b &amp; c" (also " and ').
std::string html_escape(const std::string& text);
// Percent-encodes what may not stand in a URL path as is (spaces, quotes, '#', '?', non-ASCII
// bytes), keeping '/': "figs/a b.png" -> "figs/a%20b.png".
std::string url_path(const std::string& path);

// The demo's front page: one link per report folder (its report.html), titled with the report's
// <title> and shown with its first figure as a thumbnail. Links are relative to the index's folder.
// Written atomically; a folder without report.html is an error naming it.
void write_report_index(const std::string& index_path, const std::string& title,
                        const std::vector<std::string>& report_dirs);

}  // namespace ember::vision
