// See axes_painter.h. Sizes follow matplotlib's rcParams: ticks 3.5 pt long and 0.8 pt wide with a
// 3.5 pt pad to their 10 pt labels, axis labels 4 pt further out, the title 6 pt above the box,
// spines 0.8 pt black.
#ifdef EMBER_HAVE_CAIRO
#include <algorithm>
#include <cmath>

#include "vision/axes_painter.h"
#include "vision/colormap.h"
#include "vision/text_draw.h"
#include "vision/ticks.h"

namespace ember::vision::detail {
namespace {

constexpr double kTickLength = 3.5, kTickPad = 3.5, kTickWidth = 0.8, kSpineWidth = 0.8;
constexpr double kLabelPad = 4, kTitlePad = 6, kTickFont = 10;

bool within(double v, double a, double b) {
  const double lo = std::min(a, b), hi = std::max(a, b), tolerance = (hi - lo) * 1e-9;
  return v >= lo - tolerance && v <= hi + tolerance;
}

}  // namespace

TickSet AxesPainter::ticks(bool x_axis, const PixelRect& box) const {
  const Ticks& user = x_axis ? axes_.xticks_ : axes_.yticks_;
  const auto [lo, hi] = x_axis ? axes_.xlim() : axes_.ylim();
  TickSet set;
  set.rotation = user.rotation;
  if (user.set) {
    for (size_t i = 0; i < user.positions.size(); ++i) {
      if (!within(user.positions[i], lo, hi)) continue;
      set.positions.push_back(user.positions[i]);
      if (!user.labels.empty()) set.labels.push_back(user.labels[i]);
    }
    if (user.labels.empty()) set.labels = format_ticks(set.positions);
    return set;
  }
  const double length_points = (x_axis ? box.width : box.height) * 72.0 / dpi_;
  set.positions = nice_ticks(lo, hi, auto_nbins(length_points, kTickFont, x_axis));
  set.labels = format_ticks(set.positions);
  return set;
}

PixelRect AxesPainter::apply_aspect(const PixelRect& box) const {
  if (!axes_.aspect_equal_) return box;
  const auto [x0, x1] = axes_.xlim();
  const auto [y0, y1] = axes_.ylim();
  const double data_ratio = std::abs(y1 - y0) / std::abs(x1 - x0);  // height / width in data units
  PixelRect out = box;
  if (box.height / box.width > data_ratio) {
    out.height = box.width * data_ratio;
    out.y = box.y + (box.height - out.height) / 2;
  } else {
    out.width = box.height / data_ratio;
    out.x = box.x + (box.width - out.width) / 2;
  }
  return out;
}

Margins AxesPainter::margins(const PixelRect& box) const {
  Margins m;
  if (!axes_.title_.text.empty()) {
    const TextBox title = measure_text(cr_, axes_.title_.text, points(axes_.title_.size));
    m.top = points(kTitlePad) + title.ascent + title.descent;
    m.left = m.right = std::max(0.0, (title.width - box.width) / 2);
  }
  if (!axes_.axis_on_) return m;
  const double tick_space = points(kTickLength + kTickPad);

  const TickSet xt = ticks(true, box);
  const Transform t = transform(box);
  double label_height = 0;
  for (size_t i = 0; i < xt.labels.size(); ++i) {
    const PixelRect size = rotated_size(measure_text(cr_, xt.labels[i], points(kTickFont)), xt.rotation);
    label_height = std::max(label_height, size.height);
    const double x = t.px(xt.positions[i]);
    m.left = std::max(m.left, box.x - (x - size.width / 2));  // labels that stick out of the box
    m.right = std::max(m.right, x + size.width / 2 - (box.x + box.width));
  }
  m.bottom = tick_space + label_height;
  if (!axes_.xlabel_.text.empty()) {
    const TextBox label = measure_text(cr_, axes_.xlabel_.text, points(axes_.xlabel_.size));
    m.bottom += points(kLabelPad) + label.ascent + label.descent;
  }

  const TickSet yt = ticks(false, box);
  double label_width = 0;
  for (size_t i = 0; i < yt.labels.size(); ++i) {
    const PixelRect size = rotated_size(measure_text(cr_, yt.labels[i], points(kTickFont)), yt.rotation);
    label_width = std::max(label_width, size.width);
    const double y = t.py(yt.positions[i]);
    m.top = std::max(m.top, box.y - (y - size.height / 2));
    m.bottom = std::max(m.bottom, y + size.height / 2 - (box.y + box.height));
  }
  m.left = std::max(m.left, tick_space + label_width);
  if (!axes_.ylabel_.text.empty()) {
    const TextBox label = measure_text(cr_, axes_.ylabel_.text, points(axes_.ylabel_.size));
    m.left += points(kLabelPad) + label.ascent + label.descent;
  }

  if (axes_.colorbar_label_) {
    const Image& image = axes_.images_.back();
    double widest = 0;
    for (const std::string& label : format_ticks(nice_ticks(image.vmin, image.vmax, 9)))
      widest = std::max(widest, measure_text(cr_, label, points(kTickFont)).width);
    m.right = colorbar_gap(box) + box.height / 20 + tick_space + widest;
    if (!axes_.colorbar_label_->empty()) m.right += points(kLabelPad + 12);
  }
  return m;
}

double AxesPainter::colorbar_gap(const PixelRect& box) const {
  return std::clamp(0.05 * box.width, points(8), points(24));
}

void AxesPainter::draw(const PixelRect& box) const {
  if (axes_.axis_on_) {  // the axes' white face
    cairo_rectangle(cr_, box.x, box.y, box.width, box.height);
    cairo_set_source_rgb(cr_, 1, 1, 1);
    cairo_fill(cr_);
  }
  cairo_save(cr_);
  cairo_rectangle(cr_, box.x, box.y, box.width, box.height);
  cairo_clip(cr_);
  draw_images(box);
  if (axes_.grid_ && axes_.axis_on_) {
    const Transform t = transform(box);
    cairo_set_source_rgb(cr_, 0xb0 / 255.0, 0xb0 / 255.0, 0xb0 / 255.0);
    cairo_set_line_width(cr_, points(0.8));
    for (double x : ticks(true, box).positions)
      cairo_move_to(cr_, t.px(x), box.y), cairo_line_to(cr_, t.px(x), box.y + box.height);
    for (double y : ticks(false, box).positions)
      cairo_move_to(cr_, box.x, t.py(y)), cairo_line_to(cr_, box.x + box.width, t.py(y));
    cairo_stroke(cr_);
  }
  draw_lines(box);
  cairo_restore(cr_);

  draw_axis(box);

  const Transform t = transform(box);
  for (const Text& text : axes_.texts_) {
    draw_text(cr_, text.text, t.px(text.x), t.py(text.y), points(text.style.size), parse_color(text.style.color),
              text.style.halign, text.style.valign, text.style.rotation, text.style.bold);
  }
  if (axes_.legend_loc_) draw_legend(box);
  if (axes_.colorbar_label_) draw_colorbar(box);
}

void AxesPainter::draw_axis(const PixelRect& box) const {
  if (!axes_.title_.text.empty()) {
    draw_text(cr_, axes_.title_.text, box.x + box.width / 2, box.y - points(kTitlePad), points(axes_.title_.size),
              parse_color(axes_.title_.color), HAlign::center, VAlign::bottom);
  }
  if (!axes_.axis_on_) return;
  const Transform t = transform(box);
  const Color black{0, 0, 0, 1};

  cairo_set_source_rgb(cr_, 0, 0, 0);
  cairo_set_line_width(cr_, points(kSpineWidth));
  cairo_set_line_cap(cr_, CAIRO_LINE_CAP_SQUARE);
  cairo_rectangle(cr_, box.x, box.y, box.width, box.height);
  cairo_stroke(cr_);

  cairo_set_line_width(cr_, points(kTickWidth));
  cairo_set_line_cap(cr_, CAIRO_LINE_CAP_BUTT);
  const double label_offset = points(kTickLength + kTickPad);
  const double bottom = box.y + box.height;
  const TickSet xt = ticks(true, box);
  double tallest = 0;
  for (size_t i = 0; i < xt.positions.size(); ++i) {
    const double x = t.px(xt.positions[i]);
    cairo_move_to(cr_, x, bottom);
    cairo_line_to(cr_, x, bottom + points(kTickLength));
    cairo_stroke(cr_);
    const PixelRect drawn = draw_text(cr_, xt.labels[i], x, bottom + label_offset, points(kTickFont), black,
                                      HAlign::center, VAlign::top, xt.rotation);
    tallest = std::max(tallest, drawn.height);
  }
  const TickSet yt = ticks(false, box);
  double widest = 0;
  for (size_t i = 0; i < yt.positions.size(); ++i) {
    const double y = t.py(yt.positions[i]);
    cairo_move_to(cr_, box.x, y);
    cairo_line_to(cr_, box.x - points(kTickLength), y);
    cairo_stroke(cr_);
    const PixelRect drawn = draw_text(cr_, yt.labels[i], box.x - label_offset, y, points(kTickFont), black,
                                      HAlign::right, VAlign::center, yt.rotation);
    widest = std::max(widest, drawn.width);
  }
  if (!axes_.xlabel_.text.empty()) {
    draw_text(cr_, axes_.xlabel_.text, box.x + box.width / 2, bottom + label_offset + tallest + points(kLabelPad),
              points(axes_.xlabel_.size), black, HAlign::center, VAlign::top);
  }
  if (!axes_.ylabel_.text.empty()) {
    draw_text(cr_, axes_.ylabel_.text, box.x - label_offset - widest - points(kLabelPad), box.y + box.height / 2,
              points(axes_.ylabel_.size), black, HAlign::right, VAlign::center, 90);
  }
}

void AxesPainter::draw_colorbar(const PixelRect& box) const {
  const Image& image = axes_.images_.back();
  const Colormap& map = colormap(image.style.cmap);
  const PixelRect bar{box.x + box.width + colorbar_gap(box), box.y, std::max(box.height / 20, points(6)), box.height};
  // One row of colour per pixel row: value = vmin at the bottom edge, vmax at the top.
  const int rows = std::max(1, static_cast<int>(std::ceil(bar.height)));
  for (int r = 0; r < rows; ++r) {
    const double frac = 1 - (r + 0.5) / rows;
    const Rgb c = map(frac);
    cairo_rectangle(cr_, bar.x, bar.y + r * bar.height / rows, bar.width, bar.height / rows + 0.5);
    cairo_set_source_rgb(cr_, c.r, c.g, c.b);
    cairo_fill(cr_);
  }
  cairo_set_source_rgb(cr_, 0, 0, 0);
  cairo_set_line_width(cr_, points(kSpineWidth));
  cairo_rectangle(cr_, bar.x, bar.y, bar.width, bar.height);
  cairo_stroke(cr_);
  const double span = image.vmax - image.vmin;
  if (span <= 0) return;
  const std::vector<double> positions =
      nice_ticks(image.vmin, image.vmax, auto_nbins(bar.height * 72 / dpi_, kTickFont, false));
  const std::vector<std::string> labels = format_ticks(positions);
  const double right = bar.x + bar.width;
  double widest = 0;
  cairo_set_line_width(cr_, points(kTickWidth));
  for (size_t i = 0; i < positions.size(); ++i) {
    const double y = bar.y + bar.height * (1 - (positions[i] - image.vmin) / span);
    cairo_move_to(cr_, right, y);
    cairo_line_to(cr_, right + points(kTickLength), y);
    cairo_stroke(cr_);
    widest = std::max(widest, draw_text(cr_, labels[i], right + points(kTickLength + kTickPad), y, points(kTickFont),
                                        {0, 0, 0, 1}, HAlign::left, VAlign::center)
                                  .width);
  }
  if (!axes_.colorbar_label_->empty()) {
    draw_text(cr_, *axes_.colorbar_label_, right + points(kTickLength + kTickPad + kLabelPad) + widest,
              bar.y + bar.height / 2, points(10), {0, 0, 0, 1}, HAlign::left, VAlign::center, 90);
  }
}

}  // namespace ember::vision::detail
#endif  // EMBER_HAVE_CAIRO
