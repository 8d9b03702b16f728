// The small piece of matplotlib's mathtext that Ember's figures need, so that tick labels and
// titles written for matplotlib (r"$X_1$", r"$\hat{X}_1$", r"First 10 obs of $\bf [X, Z, \hat{X}]$")
// look right. Outside $...$ text is plain (an underscore is an underscore). Inside $...$:
//
//   X_1  X_{12}   subscript (70% size, lowered);  X^2  X^{12}  superscript (70%, raised)
//   \hat{X}  \hat X   a circumflex accent drawn over the argument
//   \bf ...   bold for the rest of the group;  \mathbf{...}  bold;  \mathrm{...}  upright
//   {...}     a group;  \alpha \beta ... \omega \times \cdot \pm \infty  the usual symbols;
//   \$ \_ \{ \} \,  literal characters (\, a thin space)
//
// Like mathtext, letters are italic (upright in bold or \mathrm), spaces are ignored, a comma is
// followed by a thin space, and '-' is a real minus sign. A string with an unmatched '$' is plain
// text. The parser makes runs; vision/text_draw.cpp measures and draws them with cairo.
#pragma once
#include <string>
#include <vector>

namespace ember::vision {

struct TextRun {
  std::string text;  // UTF-8
  double scale = 1;  // of the font size: 0.7 per level of sub/superscript
  double rise = 0;   // baseline shift, in units of the base font size, positive = up
  bool bold = false;
  bool italic = false;
  bool hat = false;        // draw a circumflex over this run
  double space_after = 0;  // extra space after the run, in units of the base font size
};

std::vector<TextRun> parse_markup(const std::string& markup);

// The runs' text joined: what a screen reader or a test sees ("X1", "X̂1" is "X1" with hat=true).
std::string plain_text(const std::vector<TextRun>& runs);

}  // namespace ember::vision
