// The recording half of Axes (see figure.h): what each call stores, and the autoscaled limits.
// Drawing is in axes_draw.cpp.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tensor/error.h"
#include "vision/color.h"
#include "vision/colormap.h"
#include "vision/figure.h"

namespace ember::vision {
namespace {

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// matplotlib's autoscale_view for one axis: the data range widened by 5% each side, except that
// the widening stops at a "sticky" edge (an image border) that it would cross.
std::pair<double, double> autoscale(Range data, const std::vector<double>& sticky, bool inverted) {
  if (data.empty()) return inverted ? std::pair{1.0, 0.0} : std::pair{0.0, 1.0};
  double lo = data.lo, hi = data.hi;
  if (hi - lo <= 0) {  // matplotlib's nonsingular() then margins: a single value gets a small range
    const double pad = lo == 0 ? 0.055 : std::abs(lo) * 0.055;
    lo -= pad, hi += pad;
  } else {
    const double margin = 0.05 * (hi - lo);
    double new_lo = lo - margin, new_hi = hi + margin;
    for (double s : sticky) {
      if (new_lo < s && s <= lo) new_lo = s;
      if (hi <= s && s < new_hi) new_hi = s;
    }
    lo = new_lo, hi = new_hi;
  }
  return inverted ? std::pair{hi, lo} : std::pair{lo, hi};
}

void check_same_size(const Values& xs, const Values& ys, const std::string& where) {
  EMBER_CHECK(xs.size() == ys.size(), where + ": x has " + std::to_string(xs.size()) + " values but y has " +
                                          std::to_string(ys.size()) + "; they must match");
}

}  // namespace

LineStyle LineStyle::format(const std::string& fmt) {
  LineStyle style;
  bool has_linestyle = false;
  for (size_t i = 0; i < fmt.size();) {
    const std::string rest = fmt.substr(i);
    if (rest.rfind("--", 0) == 0 || rest.rfind("-.", 0) == 0) {
      style.linestyle = rest.substr(0, 2), has_linestyle = true, i += 2;
    } else if (fmt[i] == '-' || fmt[i] == ':') {
      style.linestyle = std::string(1, fmt[i]), has_linestyle = true, i += 1;
    } else if (fmt[i] == 'o' || fmt[i] == '.' || fmt[i] == 's') {
      style.marker = fmt[i], i += 1;
    } else if (fmt[i] == 'C' && i + 1 < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i + 1]))) {
      style.color = fmt.substr(i, 2), i += 2;
    } else if (std::string("bgrcmykw").find(fmt[i]) != std::string::npos) {
      style.color = std::string(1, fmt[i]), i += 1;
    } else {
      throw Error("LineStyle::format: cannot read '" + fmt + "' at '" + rest +
                  "'; use a colour letter (bgrcmykw) or C0-C9, a marker (o . s) and a line style (- -- : -.)");
    }
  }
  if (style.marker != 0 && !has_linestyle) style.linestyle = "none";
  return style;
}

std::string Axes::next_color() {
  Color c = cycle_color(cycle_++);
  char hex[8];
  std::snprintf(hex, sizeof hex, "#%02x%02x%02x", static_cast<int>(std::lround(c.r * 255)),
                static_cast<int>(std::lround(c.g * 255)), static_cast<int>(std::lround(c.b * 255)));
  return hex;
}

void Axes::plot(const Values& xs, const Values& ys, LineStyle style) {
  check_same_size(xs, ys, "Axes::plot");
  if (style.color.empty()) style.color = next_color();
  parse_color(style.color);  // an unknown colour fails here, where the caller can see it
  lines_.push_back({xs.data, ys.data, style});
}

void Axes::scatter(const Values& xs, const Values& ys, ScatterStyle style) {
  check_same_size(xs, ys, "Axes::scatter");
  if (style.color.empty()) style.color = next_color();
  parse_color(style.color);
  LineStyle line{
      .color = style.color, .linestyle = "none", .marker = style.marker, .alpha = style.alpha, .label = style.label};
  lines_.push_back({xs.data, ys.data, line, true, style.size});
}

void Axes::imshow(const Values& values, int rows, int cols, ImageStyle style) {
  EMBER_CHECK(rows > 0 && cols > 0 && values.size() == static_cast<size_t>(rows) * cols,
              "Axes::imshow: " + std::to_string(values.size()) + " values do not make a " + std::to_string(rows) +
                  " x " + std::to_string(cols) + " image");
  detail::Image image;
  image.values = values.data;
  image.rows = rows, image.cols = cols;
  image.extent = style.extent.value_or(Extent{-0.5, cols - 0.5, rows - 0.5, -0.5});
  // matplotlib's autoscaling of the norm: vmin/vmax from the finite data unless given.
  Range range;
  for (double v : values.data) range.add(v);
  image.vmin = style.vmin.value_or(range.empty() ? 0 : range.lo);
  image.vmax = style.vmax.value_or(range.empty() ? 1 : range.hi);
  colormap(style.cmap);  // an unknown name fails here
  EMBER_CHECK(style.interpolation == "nearest" || style.interpolation == "bilinear",
              "Axes::imshow: interpolation '" + style.interpolation + "' is not known; use 'nearest' or 'bilinear'");
  image.style = style;
  images_.push_back(std::move(image));
  aspect_equal_ = true;  // matplotlib: imshow sets aspect "equal"
}

void Axes::image_rgb(const uint8_t* hwc, int rows, int cols, std::optional<Extent> extent) {
  EMBER_CHECK(hwc != nullptr && rows > 0 && cols > 0,
              "Axes::image_rgb: an empty image (" + std::to_string(rows) + " x " + std::to_string(cols) + ")");
  detail::Image image;
  image.rgb.assign(hwc, hwc + static_cast<size_t>(rows) * cols * 3);
  image.rows = rows, image.cols = cols;
  image.extent = extent.value_or(Extent{-0.5, cols - 0.5, rows - 0.5, -0.5});
  images_.push_back(std::move(image));
  aspect_equal_ = true;
}

void Axes::vlines(const Values& xs, double ymin, double ymax, LineStyle style) {
  if (style.color.empty()) style.color = "C0";  // matplotlib: rcParams['lines.color'], not the cycle
  parse_color(style.color);
  detail::Segments segments{{}, style};
  for (double x : xs.data) segments.coords.insert(segments.coords.end(), {x, ymin, x, ymax});
  segments_.push_back(std::move(segments));
}

void Axes::hlines(const Values& ys, double xmin, double xmax, LineStyle style) {
  if (style.color.empty()) style.color = "C0";
  parse_color(style.color);
  detail::Segments segments{{}, style};
  for (double y : ys.data) segments.coords.insert(segments.coords.end(), {xmin, y, xmax, y});
  segments_.push_back(std::move(segments));
}

void Axes::text(double x, double y, const std::string& text, TextStyle style) {
  parse_color(style.color);
  texts_.push_back({x, y, text, style});
}

void Axes::set_title(const std::string& text, double size, const std::string& color) {
  parse_color(color);
  title_ = {text, size, color};
}
void Axes::set_xlabel(const std::string& text, double size) { xlabel_ = {text, size, "black"}; }
void Axes::set_ylabel(const std::string& text, double size) { ylabel_ = {text, size, "black"}; }

void Axes::set_xlim(double left, double right) {
  EMBER_CHECK(
      std::isfinite(left) && std::isfinite(right) && left != right,
      "Axes::set_xlim: limits must be finite and differ, got " + std::to_string(left) + ", " + std::to_string(right));
  xlim_set_ = {left, right};
}

void Axes::set_ylim(double bottom, double top) {
  EMBER_CHECK(
      std::isfinite(bottom) && std::isfinite(top) && bottom != top,
      "Axes::set_ylim: limits must be finite and differ, got " + std::to_string(bottom) + ", " + std::to_string(top));
  ylim_set_ = {bottom, top};
}

static detail::Ticks make_ticks(const Values& positions, const std::vector<std::string>& labels, double rotation,
                                const std::string& where) {
  EMBER_CHECK(labels.empty() || labels.size() == positions.size(),
              where + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(positions.size()) +
                  " positions; give one label per position, or none");
  return {true, positions.data, labels, rotation};
}

void Axes::set_xticks(const Values& positions, const std::vector<std::string>& labels, double rotation) {
  xticks_ = make_ticks(positions, labels, rotation, "Axes::set_xticks");
}
void Axes::set_yticks(const Values& positions, const std::vector<std::string>& labels, double rotation) {
  yticks_ = make_ticks(positions, labels, rotation, "Axes::set_yticks");
}

void Axes::legend(const std::string& loc) {
  static const char* known[] = {"best",        "upper right",  "upper left",   "lower left",   "lower right", "right",
                                "center left", "center right", "lower center", "upper center", "center"};
  EMBER_CHECK(std::find(std::begin(known), std::end(known), loc) != std::end(known),
              "Axes::legend: unknown location '" + loc +
                  "'; use 'best', 'upper right', 'upper left', 'lower left', 'lower right', 'right', "
                  "'center left', 'center right', 'lower center', 'upper center' or 'center'");
  legend_loc_ = loc;
}

void Axes::axis_off() { axis_on_ = false; }
void Axes::grid(bool on) { grid_ = on; }

void Axes::colorbar(const std::string& label) {
  EMBER_CHECK(!images_.empty() && images_.back().rgb.empty(),
              "Axes::colorbar: call imshow first; a colour bar shows the colormap of the last imshow");
  colorbar_label_ = label;
}

std::pair<double, double> Axes::xlim() const {
  if (xlim_set_) return *xlim_set_;
  Range data;
  std::vector<double> sticky;
  bool inverted = false;
  for (const detail::Line& line : lines_)
    for (double x : line.xs) data.add(x);
  for (const detail::Segments& s : segments_)
    for (size_t i = 0; i < s.coords.size(); i += 2) data.add(s.coords[i]);
  for (const detail::Image& image : images_) {
    data.add(image.extent.left), data.add(image.extent.right);
    sticky.push_back(image.extent.left), sticky.push_back(image.extent.right);
    inverted = image.extent.left > image.extent.right;
  }
  return autoscale(data, sticky, inverted);
}

std::pair<double, double> Axes::ylim() const {
  if (ylim_set_) return *ylim_set_;
  Range data;
  std::vector<double> sticky;
  bool inverted = false;
  for (const detail::Line& line : lines_)
    for (double y : line.ys) data.add(y);
  for (const detail::Segments& s : segments_)
    for (size_t i = 1; i < s.coords.size(); i += 2) data.add(s.coords[i]);
  for (const detail::Image& image : images_) {
    data.add(image.extent.bottom), data.add(image.extent.top);
    sticky.push_back(image.extent.bottom), sticky.push_back(image.extent.top);
    inverted = image.extent.bottom > image.extent.top;  // origin "upper": y grows downward
  }
  return autoscale(data, sticky, inverted);
}

std::pair<double, double> Axes::data_to_pixel(double x, double y) const {
  const auto [x0, x1] = xlim();
  const auto [y0, y1] = ylim();
  return {box_.x + (x - x0) / (x1 - x0) * box_.width, box_.y + box_.height - (y - y0) / (y1 - y0) * box_.height};
}

}  // namespace ember::vision
