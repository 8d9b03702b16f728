// See text_draw.h.
#ifdef EMBER_HAVE_CAIRO
#include "vision/text_draw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "vision/markup.h"

namespace ember::vision::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;

void select_font(cairo_t* cr, const TextRun& run, double size_px) {
  cairo_select_font_face(cr, "DejaVu Sans", run.italic ? CAIRO_FONT_SLANT_OBLIQUE : CAIRO_FONT_SLANT_NORMAL,
                         run.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size_px * run.scale);
}

// Where each run goes relative to the text's origin (baseline, left end), and the ink it covers.
struct PlacedRun {
  TextRun run;
  double x = 0, baseline = 0;  // pixels; baseline is y down, so a raised run has baseline < 0
  cairo_text_extents_t ink{};
};

struct Layout {
  std::vector<PlacedRun> runs;
  TextBox box;
};

// The circumflex of \hat: a chevron over the run's ink, as wide as the glyph (at least 0.35 em).
struct Hat {
  double left, right, base, peak;
};
Hat hat_of(const PlacedRun& placed, double size_px) {
  const double em = size_px * placed.run.scale;
  const double ink_left = placed.x + placed.ink.x_bearing, ink_width = placed.ink.width;
  const double top = placed.baseline + placed.ink.y_bearing;
  const double slant = placed.run.italic ? 0.2 * (-placed.ink.y_bearing) : 0;  // follow the oblique glyph
  const double centre = ink_left + ink_width / 2 + slant * 0.5;
  const double half = std::max(ink_width * 0.45, 0.175 * em);
  const double base = top - 0.08 * em;
  return {centre - half, centre + half, base, base - 0.17 * em};
}

Layout layout_line(cairo_t* cr, const std::string& markup, double size_px, bool bold) {
  Layout layout;
  double x = 0, ascent = 0, descent = 0;
  {  // the minimum box: the ink of "lp" in the base font
    TextRun base;
    base.bold = bold;
    select_font(cr, base, size_px);
    cairo_text_extents_t lp;
    cairo_text_extents(cr, "lp", &lp);
    ascent = -lp.y_bearing, descent = lp.height + lp.y_bearing;
  }
  for (TextRun run : parse_markup(markup)) {
    run.bold = run.bold || bold;
    PlacedRun placed{run, x, -run.rise * size_px, {}};
    select_font(cr, run, size_px);
    cairo_text_extents(cr, run.text.c_str(), &placed.ink);
    double top = -(placed.baseline + placed.ink.y_bearing);
    if (run.hat) top = -hat_of(placed, size_px).peak + 0.05 * size_px;
    ascent = std::max(ascent, top);
    descent = std::max(descent, placed.baseline + placed.ink.y_bearing + placed.ink.height);
    x += placed.ink.x_advance + run.space_after * size_px;
    layout.runs.push_back(placed);
  }
  layout.box = {x, ascent, descent};
  return layout;
}

// Text with line breaks ("coat\npullover", fastai's show_results titles) as matplotlib stacks it:
// baselines 1.2 font sizes apart, each line placed in the block's width by `line_align` (0 left,
// 0.5 centred, 1 right). The box runs from the first line's ascent to the last line's descent.
Layout layout_text(cairo_t* cr, const std::string& markup, double size_px, bool bold, double line_align = 0) {
  if (markup.find('\n') == std::string::npos) return layout_line(cr, markup, size_px, bold);
  std::vector<Layout> lines;
  for (size_t start = 0;;) {
    const size_t end = markup.find('\n', start);
    lines.push_back(layout_line(cr, markup.substr(start, end - start), size_px, bold));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  const double line_step = 1.2 * size_px;
  Layout block;
  for (const Layout& line : lines) block.box.width = std::max(block.box.width, line.box.width);
  for (size_t i = 0; i < lines.size(); ++i)
    for (PlacedRun placed : lines[i].runs) {
      placed.x += (block.box.width - lines[i].box.width) * line_align;
      placed.baseline += double(i) * line_step;
      block.runs.push_back(placed);
    }
  block.box.ascent = lines.front().box.ascent;
  block.box.descent = double(lines.size() - 1) * line_step + lines.back().box.descent;
  return block;
}

// The offset from the anchor to the text origin, in the text's own (unrotated) frame, such that
// the rotated box is aligned as asked.
void origin_offset(const TextBox& box, double rotation_degrees, HAlign halign, VAlign valign, double& ox, double& oy) {
  const double angle = rotation_degrees * kPi / 180;
  const double c = std::cos(angle), s = std::sin(angle);
  // Corners of the box relative to the origin (text frame, y down), rotated into the page frame.
  const double xs[4] = {0, box.width, box.width, 0}, ys[4] = {-box.ascent, -box.ascent, box.descent, box.descent};
  double min_x = 1e300, max_x = -1e300, min_y = 1e300, max_y = -1e300;
  for (int i = 0; i < 4; ++i) {
    const double px = xs[i] * c + ys[i] * s, py = -xs[i] * s + ys[i] * c;  // counter-clockwise on screen
    min_x = std::min(min_x, px), max_x = std::max(max_x, px);
    min_y = std::min(min_y, py), max_y = std::max(max_y, py);
  }
  ox = halign == HAlign::left ? -min_x : halign == HAlign::right ? -max_x : -(min_x + max_x) / 2;
  switch (valign) {
  case VAlign::top: oy = -min_y; break;
  case VAlign::bottom: oy = -max_y; break;
  case VAlign::center: oy = -(min_y + max_y) / 2; break;
  case VAlign::baseline: oy = 0; break;
  }
}

}  // namespace

void set_color(cairo_t* cr, const Color& color, double alpha) {
  cairo_set_source_rgba(cr, color.r, color.g, color.b, color.a * alpha);
}

TextBox measure_text(cairo_t* cr, const std::string& markup, double size_px, bool bold) {
  return layout_text(cr, markup, size_px, bold).box;
}

PixelRect rotated_size(const TextBox& box, double rotation_degrees) {
  const double angle = rotation_degrees * kPi / 180;
  const double c = std::abs(std::cos(angle)), s = std::abs(std::sin(angle));
  const double height = box.ascent + box.descent;
  return {0, 0, box.width * c + height * s, box.width * s + height * c};
}

PixelRect draw_text(cairo_t* cr, const std::string& markup, double x, double y, double size_px, const Color& color,
                    HAlign halign, VAlign valign, double rotation_degrees, bool bold) {
  if (markup.empty()) return {x, y, 0, 0};
  const double line_align = halign == HAlign::left ? 0 : halign == HAlign::right ? 1 : 0.5;
  const Layout layout = layout_text(cr, markup, size_px, bold, line_align);
  double ox = 0, oy = 0;
  origin_offset(layout.box, rotation_degrees, halign, valign, ox, oy);

  cairo_save(cr);
  cairo_translate(cr, x + ox, y + oy);
  cairo_rotate(cr, -rotation_degrees * kPi / 180);
  set_color(cr, color);
  for (const PlacedRun& placed : layout.runs) {
    select_font(cr, placed.run, size_px);
    cairo_move_to(cr, placed.x, placed.baseline);
    cairo_show_text(cr, placed.run.text.c_str());
    if (placed.run.hat) {
      const Hat hat = hat_of(placed, size_px);
      cairo_new_path(cr);
      cairo_move_to(cr, hat.left, hat.base);
      cairo_line_to(cr, (hat.left + hat.right) / 2, hat.peak);
      cairo_line_to(cr, hat.right, hat.base);
      cairo_set_line_width(cr, size_px * placed.run.scale * (placed.run.bold ? 0.09 : 0.065));
      cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
      cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);

  const PixelRect size = rotated_size(layout.box, rotation_degrees);
  double left = x, top = y;
  if (halign == HAlign::center) left -= size.width / 2;
  if (halign == HAlign::right) left -= size.width;
  if (valign == VAlign::center) top -= size.height / 2;
  if (valign == VAlign::bottom) top -= size.height;
  if (valign == VAlign::baseline) top -= layout.box.ascent;
  return {left, top, size.width, size.height};
}

}  // namespace ember::vision::detail
#endif  // EMBER_HAVE_CAIRO
