// See figure.h. The Figure's half: the axes it owns, the tight_layout-like layout, rendering into a
// cairo image surface, and the atomic PNG write.
//
// Layout (matplotlib's tight_layout, simplified): every grid axes reports the room its
// decorations need outside its box (tick labels, axis labels, title, colour bar); each column
// takes the largest left/right need of its axes, each row the largest top/bottom need; what is
// left after a 1.08-font-size pad round the figure and between cells is shared equally by the
// boxes. Ticks depend on the box size and the box on the tick labels, so this runs twice.
// Axes with equal aspect (images) then shrink, centred, to their data's shape.
#include "vision/figure.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"
#include "tensor/io/file.h"

#ifdef EMBER_HAVE_CAIRO
#include <cairo.h>

#include "vision/axes_painter.h"
#include "vision/text_draw.h"
#endif

namespace ember::vision {

Figure::Figure(double width_in, double height_in, double dpi) : width_in_(width_in), height_in_(height_in), dpi_(dpi) {
  EMBER_CHECK(width_in > 0 && height_in > 0 && dpi > 0 && width_in * dpi <= 32767 && height_in * dpi <= 32767,
              "Figure: size " + std::to_string(width_in) + " x " + std::to_string(height_in) + " in at " +
                  std::to_string(dpi) + " dpi must be positive and at most 32767 pixels a side");
}

int Figure::width_px() const { return std::max(1, static_cast<int>(std::lround(width_in_ * dpi_))); }
int Figure::height_px() const { return std::max(1, static_cast<int>(std::lround(height_in_ * dpi_))); }

Axes& Figure::add_axes() { return subplots(1, 1)[0]; }

Axes& Figure::add_axes(FigureRect where) {
  placed_.push_back(std::make_unique<Axes>());
  placed_.back()->placed_ = where;
  return *placed_.back();
}

AxesGrid Figure::subplots(int rows, int cols) {
  EMBER_CHECK(rows > 0 && cols > 0 && rows * cols <= 400, "Figure::subplots: " + std::to_string(rows) + " x " +
                                                              std::to_string(cols) + " is not a grid (1..400 axes)");
  rows_ = rows, cols_ = cols;
  grid_.clear();
  std::vector<Axes*> axes;
  for (int i = 0; i < rows * cols; ++i) {
    grid_.push_back(std::make_unique<Axes>());
    axes.push_back(grid_.back().get());
  }
  return AxesGrid(std::move(axes), cols);
}

Axes& Figure::axes(size_t index) const {
  EMBER_CHECK(index < grid_.size(), "Figure::axes: index " + std::to_string(index) + " but the figure has " +
                                        std::to_string(grid_.size()) + " grid axes");
  return *grid_[index];
}

void Figure::suptitle(const std::string& text, double size) { suptitle_ = {text, size, "black"}; }

#ifndef EMBER_HAVE_CAIRO

static Error no_cairo() {
  return Error(
      "this build of Ember has no figures: cairo was not found at configure time; install libcairo2-dev "
      "(scripts/setup) and configure again");
}
void Figure::save_png(const std::string& path) { throw no_cairo(); }
std::string Figure::png_bytes() { throw no_cairo(); }
RenderedImage Figure::render() { throw no_cairo(); }

#else

namespace {

struct CairoImage {
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = nullptr;
  CairoImage(int width, int height) {
    surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cr = cairo_create(surface);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
      const std::string reason = cairo_status_to_string(cairo_status(cr));
      cairo_destroy(cr), cairo_surface_destroy(surface);
      throw Error("Figure: cannot make a " + std::to_string(width) + " x " + std::to_string(height) +
                  " pixel image: " + reason);
    }
  }
  CairoImage(const CairoImage&) = delete;
  CairoImage& operator=(const CairoImage&) = delete;
  ~CairoImage() {
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
  }
};

PixelRect round_box(const PixelRect& r) {  // whole pixels keep the spines crisp
  const double x0 = std::round(r.x), y0 = std::round(r.y);
  return {x0, y0, std::max(1.0, std::round(r.x + r.width) - x0), std::max(1.0, std::round(r.y + r.height) - y0)};
}

// Lays out every axes into a->box_ (pixels) and draws them, then the suptitle.
class FigurePainter {
 public:
  FigurePainter(double dpi, int width, int height) : dpi_(dpi), width_(width), height_(height) {}

  std::vector<PixelRect> layout_grid(cairo_t* cr, const std::vector<Axes*>& grid, int rows, int cols,
                                     double top_band) const {
    const double pad = points(1.08 * 10);
    std::vector<PixelRect> boxes(grid.size());
    // A first guess: matplotlib's default subplot parameters.
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const double cell_w = width_ * 0.775 / cols, cell_h = height_ * 0.77 / rows;
        boxes[r * cols + c] = {width_ * 0.125 + c * cell_w, height_ * 0.12 + r * cell_h, cell_w * 0.8, cell_h * 0.8};
      }
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<double> left(cols, 0), right(cols, 0), top(rows, 0), bottom(rows, 0);
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
          const detail::AxesPainter painter(*grid[r * cols + c], cr, dpi_);
          const detail::Margins m = painter.margins(boxes[r * cols + c]);
          left[c] = std::max(left[c], m.left), right[c] = std::max(right[c], m.right);
          top[r] = std::max(top[r], m.top), bottom[r] = std::max(bottom[r], m.bottom);
        }
      double used_w = 2 * pad + (cols - 1) * pad, used_h = 2 * pad + top_band + (rows - 1) * pad;
      for (int c = 0; c < cols; ++c) used_w += left[c] + right[c];
      for (int r = 0; r < rows; ++r) used_h += top[r] + bottom[r];
      const double cell_w = std::max(8.0, (width_ - used_w) / cols), cell_h = std::max(8.0, (height_ - used_h) / rows);
      double y = pad + top_band;
      for (int r = 0; r < rows; ++r) {
        y += top[r];
        double x = pad;
        for (int c = 0; c < cols; ++c) {
          x += left[c];
          boxes[r * cols + c] = {x, y, cell_w, cell_h};
          x += cell_w + right[c] + pad;
        }
        y += cell_h + bottom[r] + pad;
      }
    }
    for (size_t i = 0; i < grid.size(); ++i) {
      boxes[i] = round_box(detail::AxesPainter(*grid[i], cr, dpi_).apply_aspect(boxes[i]));
    }
    return boxes;
  }

  double points(double pt) const { return pt * dpi_ / 72.0; }

 private:
  double dpi_;
  int width_, height_;
};

}  // namespace

RenderedImage Figure::render() {
  const int width = width_px(), height = height_px();
  CairoImage image(width, height);
  cairo_t* cr = image.cr;
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);

  FigurePainter painter(dpi_, width, height);
  double top_band = 0;
  if (!suptitle_.text.empty()) {
    const detail::TextBox box = detail::measure_text(cr, suptitle_.text, painter.points(suptitle_.size));
    top_band = box.ascent + box.descent + painter.points(4);
  }
  std::vector<Axes*> grid;
  for (auto& axes : grid_) grid.push_back(axes.get());
  const std::vector<PixelRect> boxes = painter.layout_grid(cr, grid, rows_, cols_, top_band);
  for (size_t i = 0; i < grid.size(); ++i) grid[i]->box_ = boxes[i];
  for (auto& axes : placed_) {
    const FigureRect& f = *axes->placed_;
    const PixelRect box{f.left * width, (1 - f.bottom - f.height) * height, f.width * width, f.height * height};
    axes->box_ = round_box(detail::AxesPainter(*axes, cr, dpi_).apply_aspect(box));
  }

  for (auto& axes : grid_) detail::AxesPainter(*axes, cr, dpi_).draw(axes->box_);
  for (auto& axes : placed_) detail::AxesPainter(*axes, cr, dpi_).draw(axes->box_);
  if (!suptitle_.text.empty()) {  // matplotlib: centred, its top 2% of the height below the edge
    detail::draw_text(cr, suptitle_.text, width / 2.0, painter.points(1.08 * 10) * 0.5 + height * 0.01,
                      painter.points(suptitle_.size), parse_color(suptitle_.color), HAlign::center, VAlign::top);
  }
  cairo_surface_flush(image.surface);

  // Cairo's ARGB32 is premultiplied, native-endian 32-bit words; the figure is opaque, but
  // un-premultiply anyway so the bytes are right whatever was drawn.
  RenderedImage out;
  out.width = width, out.height = height;
  out.rgba.resize(static_cast<size_t>(width) * height * 4);
  const unsigned char* data = cairo_image_surface_get_data(image.surface);
  const int stride = cairo_image_surface_get_stride(image.surface);
  for (int y = 0; y < height; ++y) {
    const uint32_t* row = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < width; ++x) {
      const uint32_t p = row[x];
      const uint32_t a = p >> 24;
      uint8_t* o = out.rgba.data() + (static_cast<size_t>(y) * width + x) * 4;
      auto channel = [a](uint32_t v) {
        return static_cast<uint8_t>(a == 0 ? 0 : std::min(255u, (v * 255 + a / 2) / a));
      };
      o[0] = channel((p >> 16) & 0xff), o[1] = channel((p >> 8) & 0xff), o[2] = channel(p & 0xff),
      o[3] = static_cast<uint8_t>(a);
    }
  }
  return out;
}

std::string Figure::png_bytes() {
  const RenderedImage image = render();
  // Back into a cairo surface for cairo's PNG writer (which expects premultiplied ARGB32).
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, image.width, image.height);
  cairo_surface_flush(surface);
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < image.height; ++y) {
    uint32_t* row = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(y) * stride);
    for (int x = 0; x < image.width; ++x) {
      const uint8_t* p = image.pixel(x, y);
      const uint32_t a = p[3];
      auto pm = [a](uint32_t v) { return (v * a + 127) / 255; };
      row[x] = (a << 24) | (pm(p[0]) << 16) | (pm(p[1]) << 8) | pm(p[2]);
    }
  }
  cairo_surface_mark_dirty(surface);
  std::string bytes;
  const cairo_status_t status = cairo_surface_write_to_png_stream(
      surface,
      [](void* closure, const unsigned char* chunk, unsigned int length) {
        static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(chunk), length);
        return CAIRO_STATUS_SUCCESS;
      },
      &bytes);
  cairo_surface_destroy(surface);
  EMBER_CHECK(status == CAIRO_STATUS_SUCCESS,
              std::string("Figure::png_bytes: cairo could not encode the PNG: ") + cairo_status_to_string(status));
  return bytes;
}

void Figure::save_png(const std::string& path) {
  const std::string bytes = png_bytes();
  write_file_atomically(path, bytes, "Figure::save_png: cannot write '" + path + "'");
}

#endif  // EMBER_HAVE_CAIRO

}  // namespace ember::vision
