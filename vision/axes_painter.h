// Drawing one Axes with cairo (internal to vision/, built only with cairo): the space its
// decorations need around its box (for Figure's layout), and the drawing itself, in matplotlib's
// z-order: images, vlines/hlines and scatters, lines, then spines, ticks, labels, title, texts, the
// legend and the colour bar.
#pragma once
#ifdef EMBER_HAVE_CAIRO
#include <cairo.h>

#include <string>
#include <vector>

#include "vision/figure.h"

namespace ember::vision::detail {

struct Margins {
  double left = 0, right = 0, top = 0, bottom = 0;  // pixels outside the axes box
};

// Data -> pixel for one box and the axes' limits (y down on the page; limits may be inverted).
struct Transform {
  double x0, x1, y0, y1;
  PixelRect box;
  double px(double x) const { return box.x + (x - x0) / (x1 - x0) * box.width; }
  double py(double y) const { return box.y + box.height - (y - y0) / (y1 - y0) * box.height; }
  double data_x(double px) const { return x0 + (px - box.x) / box.width * (x1 - x0); }
  double data_y(double py) const { return y0 + (box.y + box.height - py) / box.height * (y1 - y0); }
};

// Ticks as drawn: positions inside the limits and their labels.
struct TickSet {
  std::vector<double> positions;
  std::vector<std::string> labels;
  double rotation = 0;
};

class AxesPainter {
 public:
  Transform transform(const PixelRect& box) const {
    const auto [x0, x1] = axes_.xlim();
    const auto [y0, y1] = axes_.ylim();
    return {x0, x1, y0, y1, box};
  }

 public:
  AxesPainter(const Axes& axes, cairo_t* cr, double dpi) : axes_(axes), cr_(cr), dpi_(dpi) {}

  Margins margins(const PixelRect& box) const;
  // The box shrunk (centred) to the data's aspect ratio when the axes has equal aspect (images).
  PixelRect apply_aspect(const PixelRect& box) const;
  void draw(const PixelRect& box) const;

  double points(double pt) const { return pt * dpi_ / 72.0; }

 private:
  TickSet ticks(bool x_axis, const PixelRect& box) const;
  void draw_images(const PixelRect& box) const;
  void draw_colormapped(const Image& image, const PixelRect& box) const;
  void draw_rgb(const Image& image, const PixelRect& box) const;
  void draw_lines(const PixelRect& box) const;
  void draw_markers(const Line& line, const PixelRect& box) const;
  void draw_axis(const PixelRect& box) const;
  void draw_legend(const PixelRect& box) const;
  void draw_colorbar(const PixelRect& box) const;
  void stroke_style(const LineStyle& style, bool collection) const;
  double colorbar_gap(const PixelRect& box) const;

  const Axes& axes_;
  cairo_t* cr_;
  double dpi_;
};

}  // namespace ember::vision::detail
#endif
