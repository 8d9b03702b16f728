// See axes_painter.h: the data artists (images, lines, markers, vlines/hlines) and the legend.
#ifdef EMBER_HAVE_CAIRO
#include <algorithm>
#include <cmath>
#include <limits>

#include "vision/axes_painter.h"
#include "vision/colormap.h"
#include "vision/text_draw.h"

namespace ember::vision::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;

// An ARGB32 cairo surface owned for the length of a scope.
struct Surface {
  cairo_surface_t* surface;
  explicit Surface(cairo_surface_t* s) : surface(s) {}
  Surface(const Surface&) = delete;
  Surface& operator=(const Surface&) = delete;
  ~Surface() { cairo_surface_destroy(surface); }
};

// The rectangle of an image's extent on the page, clipped to the axes box, in whole pixels.
struct PixelSpan {
  int x0, y0, x1, y1;  // [x0, x1) x [y0, y1)
  bool empty() const { return x1 <= x0 || y1 <= y0; }
};

PixelSpan span_of(const Transform& t, const Extent& e, const PixelRect& box) {
  const double ax = t.px(e.left), bx = t.px(e.right), ay = t.py(e.top), by = t.py(e.bottom);
  const double left = std::max(std::min(ax, bx), box.x), right = std::min(std::max(ax, bx), box.x + box.width);
  const double top = std::max(std::min(ay, by), box.y), bottom = std::min(std::max(ay, by), box.y + box.height);
  return {static_cast<int>(std::floor(left)), static_cast<int>(std::floor(top)), static_cast<int>(std::ceil(right)),
          static_cast<int>(std::ceil(bottom))};
}

// The value of a rows x cols array at a continuous position (col_f, row_f) in cell units (cell
// (i, j) spans [j, j+1) x [i, i+1)): the cell itself, or bilinear between cell centres with edge
// cells repeated, as matplotlib resamples data.
double sample(const Image& image, double col_f, double row_f, bool bilinear) {
  auto at = [&](int r, int c) {
    r = std::clamp(r, 0, image.rows - 1), c = std::clamp(c, 0, image.cols - 1);
    return image.values[static_cast<size_t>(r) * image.cols + c];
  };
  if (!bilinear) return at(static_cast<int>(std::floor(row_f)), static_cast<int>(std::floor(col_f)));
  const double x = col_f - 0.5, y = row_f - 0.5;
  const int c0 = static_cast<int>(std::floor(x)), r0 = static_cast<int>(std::floor(y));
  const double fx = x - c0, fy = y - r0;
  return (1 - fy) * ((1 - fx) * at(r0, c0) + fx * at(r0, c0 + 1)) +
         fy * ((1 - fx) * at(r0 + 1, c0) + fx * at(r0 + 1, c0 + 1));
}

}  // namespace

void AxesPainter::draw_images(const PixelRect& box) const {
  for (const Image& image : axes_.images_) {
    if (image.rgb.empty()) {
      draw_colormapped(image, box);
    } else {
      draw_rgb(image, box);
    }
  }
}

// Every page pixel of the image's rectangle asks for the value under its centre (nearest or
// bilinear in data space), normalised by vmin/vmax and coloured by the colormap; NaN is transparent.
void AxesPainter::draw_colormapped(const Image& image, const PixelRect& box) const {
  const Transform t = transform(box);
  const PixelSpan span = span_of(t, image.extent, box);
  if (span.empty()) return;
  const int width = span.x1 - span.x0, height = span.y1 - span.y0;
  Surface pixels(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height));
  cairo_surface_flush(pixels.surface);
  unsigned char* data = cairo_image_surface_get_data(pixels.surface);
  const int stride = cairo_image_surface_get_stride(pixels.surface);
  const Colormap& map = colormap(image.style.cmap);
  const bool bilinear = image.style.interpolation == "bilinear";
  const double range = image.vmax - image.vmin;
  const Extent& e = image.extent;
  const double alpha = std::clamp(image.style.alpha, 0.0, 1.0);
  for (int py = 0; py < height; ++py) {
    const double y = t.data_y(span.y0 + py + 0.5);
    const double row_f = (y - e.top) / (e.bottom - e.top) * image.rows;
    uint32_t* out = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(py) * stride);
    for (int px = 0; px < width; ++px) {
      const double x = t.data_x(span.x0 + px + 0.5);
      const double col_f = (x - e.left) / (e.right - e.left) * image.cols;
      if (row_f < 0 || row_f >= image.rows || col_f < 0 || col_f >= image.cols) {
        out[px] = 0;
        continue;
      }
      const double v = sample(image, col_f, row_f, bilinear);
      if (!std::isfinite(v)) {
        out[px] = 0;
        continue;
      }
      // matplotlib's Normalize: (v - vmin) / (vmax - vmin); a flat image sits at 0.
      const double normalised = range > 0 ? (v - image.vmin) / range : 0.0;
      const Rgb8 c = map.bytes(normalised);
      const uint32_t a = static_cast<uint32_t>(std::lround(alpha * 255));
      auto premultiply = [a](uint8_t channel) { return static_cast<uint32_t>((channel * a + 127) / 255); };
      out[px] = (a << 24) | (premultiply(c.r) << 16) | (premultiply(c.g) << 8) | premultiply(c.b);
    }
  }
  cairo_surface_mark_dirty(pixels.surface);
  cairo_set_source_surface(cr_, pixels.surface, span.x0, span.y0);
  cairo_paint(cr_);
}

// A photo goes through a cairo pattern whose matrix maps its pixels onto the extent: enlarged 3x
// or more it keeps sharp pixels (matplotlib's "antialiased" picks nearest there), otherwise cairo's
// GOOD filter (box-filtered when shrinking).
void AxesPainter::draw_rgb(const Image& image, const PixelRect& box) const {
  Surface pixels(cairo_image_surface_create(CAIRO_FORMAT_RGB24, image.cols, image.rows));
  cairo_surface_flush(pixels.surface);
  unsigned char* data = cairo_image_surface_get_data(pixels.surface);
  const int stride = cairo_image_surface_get_stride(pixels.surface);
  for (int r = 0; r < image.rows; ++r) {
    uint32_t* out = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(r) * stride);
    const uint8_t* in = image.rgb.data() + static_cast<size_t>(r) * image.cols * 3;
    for (int c = 0; c < image.cols; ++c)
      out[c] = 0xff000000u | (in[3 * c] << 16) | (in[3 * c + 1] << 8) | in[3 * c + 2];
  }
  cairo_surface_mark_dirty(pixels.surface);

  const Transform t = transform(box);
  const Extent& e = image.extent;
  const double left = t.px(e.left), right = t.px(e.right), top = t.py(e.top), bottom = t.py(e.bottom);
  cairo_save(cr_);
  cairo_rectangle(cr_, std::min(left, right), std::min(top, bottom), std::abs(right - left), std::abs(bottom - top));
  cairo_clip(cr_);
  cairo_translate(cr_, left, top);
  cairo_scale(cr_, (right - left) / image.cols, (bottom - top) / image.rows);
  cairo_set_source_surface(cr_, pixels.surface, 0, 0);
  cairo_pattern_t* pattern = cairo_get_source(cr_);
  cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD);
  const double zoom = std::abs(right - left) / image.cols;
  cairo_pattern_set_filter(pattern, zoom >= 3 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
  cairo_paint(cr_);
  cairo_restore(cr_);
}

// matplotlib's dash patterns (lines.dashed_pattern etc.), in units of the line width.
void AxesPainter::stroke_style(const LineStyle& style, bool collection) const {
  const double width = points(style.linewidth);
  cairo_set_line_width(cr_, width);
  cairo_set_line_join(cr_, CAIRO_LINE_JOIN_ROUND);
  std::vector<double> dashes;
  if (style.linestyle == "--" || style.linestyle == "dashed") dashes = {3.7, 1.6};
  if (style.linestyle == ":" || style.linestyle == "dotted") dashes = {1, 1.65};
  if (style.linestyle == "-." || style.linestyle == "dashdot") dashes = {6.4, 1.6, 1, 1.6};
  for (double& d : dashes) d *= width;
  cairo_set_dash(cr_, dashes.data(), static_cast<int>(dashes.size()), 0);
  // Solid Line2Ds end "projecting", dashes and collections "butt".
  cairo_set_line_cap(cr_, dashes.empty() && !collection ? CAIRO_LINE_CAP_SQUARE : CAIRO_LINE_CAP_BUTT);
  set_color(cr_, parse_color(style.color), style.alpha);
}

void AxesPainter::draw_lines(const PixelRect& box) const {
  const Transform t = transform(box);
  // matplotlib's z-order: collections (scatter, vlines, hlines) at 1, lines at 2.
  for (const Line& line : axes_.lines_) {
    if (line.is_scatter) draw_markers(line, box);
  }
  for (const Segments& segments : axes_.segments_) {
    stroke_style(segments.style, true);
    for (size_t i = 0; i + 3 < segments.coords.size(); i += 4) {
      cairo_move_to(cr_, t.px(segments.coords[i]), t.py(segments.coords[i + 1]));
      cairo_line_to(cr_, t.px(segments.coords[i + 2]), t.py(segments.coords[i + 3]));
      cairo_stroke(cr_);  // one by one, so overlapping translucent segments blend as matplotlib's do
    }
  }
  for (const Line& line : axes_.lines_) {
    if (line.is_scatter) continue;
    if (line.style.linestyle != "none" && line.style.linestyle != "None" && line.style.linestyle != " ") {
      stroke_style(line.style, false);
      bool pen_down = false;
      for (size_t i = 0; i < line.xs.size(); ++i) {
        if (!std::isfinite(line.xs[i]) || !std::isfinite(line.ys[i])) {
          pen_down = false;  // a gap, like matplotlib's NaN
          continue;
        }
        if (pen_down) {
          cairo_line_to(cr_, t.px(line.xs[i]), t.py(line.ys[i]));
        } else {
          cairo_move_to(cr_, t.px(line.xs[i]), t.py(line.ys[i]));
        }
        pen_down = true;
      }
      cairo_stroke(cr_);
      cairo_set_dash(cr_, nullptr, 0, 0);
    }
    if (line.style.marker != 0) draw_markers(line, box);
  }
}

// Markers are filled shapes grown by half of their 1 pt edge ('o', '.', 's' of plot) or 1.5 pt
// edge (scatter), each painted on its own so that translucent markers darken where they overlap.
void AxesPainter::draw_markers(const Line& line, const PixelRect& box) const {
  const Transform t = transform(box);
  const char marker = line.style.marker;
  double radius;
  if (line.is_scatter) {
    radius = points(std::sqrt(line.scatter_size) / 2 + 0.75);
  } else {
    const double size = marker == '.' ? line.style.markersize / 2 : line.style.markersize;
    radius = points(size / 2 + 0.5);
  }
  set_color(cr_, parse_color(line.style.color), line.style.alpha);
  for (size_t i = 0; i < line.xs.size(); ++i) {
    if (!std::isfinite(line.xs[i]) || !std::isfinite(line.ys[i])) continue;
    const double x = t.px(line.xs[i]), y = t.py(line.ys[i]);
    if (marker == 's') {
      cairo_rectangle(cr_, x - radius, y - radius, 2 * radius, 2 * radius);
    } else {
      cairo_new_sub_path(cr_);
      cairo_arc(cr_, x, y, radius, 0, 2 * kPi);
    }
    cairo_fill(cr_);
  }
}

// The legend: matplotlib's sizes in units of its 10 pt font (borderpad 0.4, labelspacing 0.5,
// handlelength 2.0, handletextpad 0.8, borderaxespad 0.5), a white frame at alpha 0.8 with a
// light grey (0.8) edge and rounded corners. "best" tries matplotlib's locations in its order and
// takes the first that covers the fewest data points.
void AxesPainter::draw_legend(const PixelRect& box) const {
  struct Entry {
    LineStyle style;
    bool scatter;
    double scatter_size;
    bool segments;
  };
  std::vector<Entry> entries;
  for (const Line& line : axes_.lines_) {
    if (!line.style.label.empty() && line.style.label[0] != '_')
      entries.push_back({line.style, line.is_scatter, line.scatter_size, false});
  }
  for (const Segments& s : axes_.segments_) {
    if (!s.style.label.empty() && s.style.label[0] != '_') entries.push_back({s.style, false, 0, true});
  }
  if (entries.empty()) return;

  const double font = points(10);
  const double pad = 0.4 * font, spacing = 0.5 * font, handle = 2.0 * font, handle_pad = 0.8 * font,
               margin = 0.5 * font;
  double text_width = 0, row_height = 0.7 * font;
  std::vector<TextBox> boxes;
  for (const Entry& entry : entries) {
    boxes.push_back(measure_text(cr_, entry.style.label, font));
    text_width = std::max(text_width, boxes.back().width);
    row_height = std::max(row_height, boxes.back().ascent + boxes.back().descent);
  }
  const double n = static_cast<double>(entries.size());
  const double width = 2 * pad + handle + handle_pad + text_width;
  const double height = 2 * pad + n * row_height + (n - 1) * spacing;

  auto place = [&](const std::string& loc) {
    const double left = box.x + margin, right = box.x + box.width - margin - width;
    const double top = box.y + margin, bottom = box.y + box.height - margin - height;
    const double cx = box.x + (box.width - width) / 2, cy = box.y + (box.height - height) / 2;
    if (loc == "upper right") return std::pair{right, top};
    if (loc == "upper left") return std::pair{left, top};
    if (loc == "lower left") return std::pair{left, bottom};
    if (loc == "lower right") return std::pair{right, bottom};
    if (loc == "right" || loc == "center right") return std::pair{right, cy};
    if (loc == "center left") return std::pair{left, cy};
    if (loc == "lower center") return std::pair{cx, bottom};
    if (loc == "upper center") return std::pair{cx, top};
    return std::pair{cx, cy};
  };
  std::string loc = *axes_.legend_loc_;
  if (loc == "best") {
    const Transform t = transform(box);
    const char* candidates[] = {"upper right", "upper left",   "lower left",   "lower right",  "right",
                                "center left", "center right", "lower center", "upper center", "center"};
    size_t best_count = std::numeric_limits<size_t>::max();
    for (const char* candidate : candidates) {
      const auto [x, y] = place(candidate);
      // matplotlib's badness: data points inside the box plus line segments that cross it.
      auto inside = [&](double px, double py) { return px >= x && px <= x + width && py >= y && py <= y + height; };
      size_t count = 0;
      for (const Line& line : axes_.lines_) {
        const bool drawn_line = !line.is_scatter && line.style.linestyle != "none";
        for (size_t i = 0; i < line.xs.size(); ++i) {
          const double px = t.px(line.xs[i]), py = t.py(line.ys[i]);
          count += inside(px, py);
          if (!drawn_line || i == 0) continue;
          const double qx = t.px(line.xs[i - 1]), qy = t.py(line.ys[i - 1]);
          for (int k = 1; k < 32; ++k) {  // a segment crosses the box if a point along it lies inside
            if (inside(qx + (px - qx) * k / 32.0, qy + (py - qy) * k / 32.0)) {
              ++count;
              break;
            }
          }
        }
      }
      if (count < best_count) best_count = count, loc = candidate;
    }
  }
  const auto [x, y] = place(loc);

  // The frame: rounded corners of radius 0.2 font.
  const double r = 0.2 * font;
  cairo_new_path(cr_);
  cairo_arc(cr_, x + width - r, y + r, r, -kPi / 2, 0);
  cairo_arc(cr_, x + width - r, y + height - r, r, 0, kPi / 2);
  cairo_arc(cr_, x + r, y + height - r, r, kPi / 2, kPi);
  cairo_arc(cr_, x + r, y + r, r, kPi, 3 * kPi / 2);
  cairo_close_path(cr_);
  cairo_set_source_rgba(cr_, 1, 1, 1, 0.8);
  cairo_fill_preserve(cr_);
  cairo_set_source_rgba(cr_, 0.8, 0.8, 0.8, 0.8);
  cairo_set_line_width(cr_, points(1));
  cairo_stroke(cr_);

  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    const double row_top = y + pad + i * (row_height + spacing);
    const double mid = row_top + row_height / 2;
    const double hx = x + pad;
    if (entry.segments || (!entry.scatter && entry.style.linestyle != "none")) {
      stroke_style(entry.style, entry.segments);
      cairo_move_to(cr_, hx, mid);
      cairo_line_to(cr_, hx + handle, mid);
      cairo_stroke(cr_);
      cairo_set_dash(cr_, nullptr, 0, 0);
    }
    if (entry.scatter || entry.style.marker != 0) {
      Line sample{{0}, {0}, entry.style, entry.scatter, entry.scatter_size};
      sample.style.alpha = std::max(sample.style.alpha, 0.0);
      // Draw one marker at the handle's centre: a box whose transform puts data (0, 0) there.
      Axes dummy;
      AxesPainter marker_painter(dummy, cr_, dpi_);
      dummy.set_xlim(-1, 1), dummy.set_ylim(-1, 1);
      marker_painter.draw_markers(sample, {hx + handle / 2 - 1, mid - 1, 2, 2});
    }
    draw_text(cr_, entry.style.label, hx + handle + handle_pad, mid, font, {0, 0, 0, 1}, HAlign::left, VAlign::center);
  }
}

}  // namespace ember::vision::detail
#endif  // EMBER_HAVE_CAIRO
