// Figures as PNG files, with a small matplotlib-like API: a Figure holds Axes (one, a grid from
// subplots(), or placed by hand); an Axes records what to draw (lines, scatters, images, vertical
// and horizontal lines, text, labels, ticks, a legend) and Figure::save_png lays everything out
// (tight_layout-like), draws it with cairo and writes the PNG atomically.
//
//   Figure fig(6.4, 4.8);                          // inches, dpi 100: a 640 x 480 PNG
//   Axes& ax = fig.add_axes();
//   ax.plot(x, y, LineStyle::format("."));         // matplotlib's plt.plot(x, y, '.')
//   ax.plot(x, fit, {.linestyle = "--", .label = "fit"});
//   ax.legend();
//   fig.save_png("out/fit.png");
//
// Sizes are in points (1/72 inch) as in matplotlib, colours are matplotlib's spellings (color.h),
// text may use the mathtext subset of markup.h ("$\hat{X}_1$"). Defaults are matplotlib's rcParams:
// 10 pt DejaVu Sans, 1.5 pt lines, tab10 colour cycle, 5% margins, ticks out, white background.
//
// Without cairo at configure time (EMBER_HAVE_CAIRO undefined) everything compiles and records,
// but rendering (save_png, png_bytes, render) throws an ember::Error that says how to get cairo.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ember::vision {

// A list of numbers from floats, doubles or a braced list: ax.plot(xs, ys) with either type.
struct Values {
  std::vector<double> data{};
  Values() = default;
  Values(const std::vector<double>& v) : data(v) {}
  Values(const std::vector<float>& v) : data(v.begin(), v.end()) {}
  Values(std::initializer_list<double> v) : data(v) {}
  size_t size() const { return data.size(); }
  double operator[](size_t i) const { return data[i]; }
};

enum class HAlign { left, center, right };
enum class VAlign { top, center, baseline, bottom };

struct LineStyle {
  std::string color{};          // "" = the axes' next colour of the cycle (C0, C1, ...)
  double linewidth = 1.5;       // points
  std::string linestyle = "-";  // "-" solid, "--" dashed, ":" dotted, "-." dash-dot, "none"
  char marker = 0;              // 0 none, 'o' circle, '.' point, 's' square
  double markersize = 6;        // points ('.' is drawn at half of it, as in matplotlib)
  double alpha = 1;
  std::string label{};  // shown by legend()
  // matplotlib's format string: "o", ".", "--", "r--", "k.", "C1:" (colour, marker, line style;
  // a marker without a line style means no line, as in plt.plot(x, y, 'o')).
  static LineStyle format(const std::string& fmt);
};

struct ScatterStyle {
  std::string color{};  // "" = next colour of the cycle
  double size = 36;     // matplotlib's s: marker area in points^2
  double alpha = 1;
  char marker = 'o';  // 'o' or 's'
  std::string label{};
};

// Where an image lies in data coordinates, in matplotlib's order (left, right, bottom, top):
// the default for an image of `rows` x `cols` is (-0.5, cols - 0.5, rows - 0.5, -0.5), pixel
// centres on integers and row 0 at the top.
struct Extent {
  double left = 0, right = 1, bottom = 0, top = 1;
};

struct ImageStyle {
  std::string cmap = "viridis";           // colormap.h
  std::optional<double> vmin{}, vmax{};   // default: the data's min and max (NaN ignored)
  std::string interpolation = "nearest";  // or "bilinear" (of the values, before the colormap)
  double alpha = 1;
  std::optional<Extent> extent{};  // default: see Extent
};

struct TextStyle {
  std::string color = "black";
  HAlign halign = HAlign::left;  // matplotlib's ha / va defaults
  VAlign valign = VAlign::baseline;
  double size = 10;  // points
  bool bold = false;
  double rotation = 0;  // degrees, counter-clockwise
};

// A rectangle in device pixels (y down), or in figure fractions for add_axes(FigureRect).
struct PixelRect {
  double x = 0, y = 0, width = 0, height = 0;
};
struct FigureRect {
  double left = 0, bottom = 0, width = 1, height = 1;  // matplotlib's fig.add_axes([l, b, w, h])
};

namespace detail {
struct Line {
  std::vector<double> xs, ys;
  LineStyle style;  // color resolved
  bool is_scatter = false;
  double scatter_size = 36;
};
struct Segments {  // vlines / hlines: independent segments x0 y0 x1 y1
  std::vector<double> coords{};
  LineStyle style;
};
struct Image {
  std::vector<double> values{};  // rows x cols, row-major (colormapped), or empty for RGB
  std::vector<uint8_t> rgb{};    // rows x cols x 3 (a photo)
  int rows = 0, cols = 0;
  ImageStyle style;
  Extent extent;
  double vmin = 0, vmax = 1;
};
struct Text {
  double x, y;
  std::string text{};
  TextStyle style;
};
struct Ticks {
  bool set = false;  // set_xticks / set_yticks was called
  std::vector<double> positions{};
  std::vector<std::string> labels{};  // empty: formatted numbers
  double rotation = 0;
};
struct Label {
  std::string text{};
  double size = 10;
  std::string color = "black";
};
class AxesPainter;
}  // namespace detail

class Axes {
 public:
  void plot(const Values& xs, const Values& ys, LineStyle style = {});
  void plot(const Values& xs, const Values& ys, const char* fmt) { plot(xs, ys, LineStyle::format(fmt)); }
  void scatter(const Values& xs, const Values& ys, ScatterStyle style = {});
  // A rows x cols array of numbers through a colormap (matplotlib's imshow). Sets the limits to the
  // image (y downward unless the extent says otherwise) and equal aspect, as matplotlib does.
  void imshow(const Values& values, int rows, int cols, ImageStyle style = {});
  // A photo: rows x cols x 3 bytes (HWC, RGB), copied. Equal aspect; extent as in imshow.
  void image_rgb(const uint8_t* hwc, int rows, int cols, std::optional<Extent> extent = {});
  // Vertical lines at xs from ymin to ymax (matplotlib's vlines; colour C0 unless given), and
  // horizontal lines at ys from xmin to xmax.
  void vlines(const Values& xs, double ymin, double ymax, LineStyle style = {});
  void hlines(const Values& ys, double xmin, double xmax, LineStyle style = {});
  // Text at (x, y) in data coordinates, e.g. the counts of a confusion matrix.
  void text(double x, double y, const std::string& text, TextStyle style = {});

  void set_title(const std::string& text, double size = 12, const std::string& color = "black");
  void set_xlabel(const std::string& text, double size = 10);
  void set_ylabel(const std::string& text, double size = 10);
  void set_xlim(double left, double right);
  void set_ylim(double bottom, double top);  // bottom > top: an inverted axis, as for images
  // Ticks at these positions, with these labels (markup allowed; empty: formatted numbers),
  // rotated by this many degrees. An empty positions list removes the ticks.
  void set_xticks(const Values& positions, const std::vector<std::string>& labels = {}, double rotation = 0);
  void set_yticks(const Values& positions, const std::vector<std::string>& labels = {}, double rotation = 0);
  // A box listing the labelled lines and scatters. loc: "best" (the place that covers the fewest
  // data points), "upper right", "upper left", "lower left", "lower right", "right", "center left",
  // "center right", "lower center", "upper center", "center".
  void legend(const std::string& loc = "best");
  void axis_off();  // no spines, ticks or labels (the title stays)
  // A colour bar right of the axes for the last imshow (matplotlib's fig.colorbar(im, ax=ax)).
  void colorbar(const std::string& label = "");
  void grid(bool on = true);

  // After the figure was rendered: where the axes box lies in the PNG, and where a data point
  // lands (for tests and for drawing overlays by hand).
  PixelRect pixel_box() const { return box_; }
  std::pair<double, double> data_to_pixel(double x, double y) const;
  // The limits as they will be (or were) drawn: set ones, or autoscaled from the data.
  std::pair<double, double> xlim() const;
  std::pair<double, double> ylim() const;

 private:
  friend class Figure;
  friend class detail::AxesPainter;
  std::string next_color();
  void add_sticky_image(const Extent& extent);

  std::vector<detail::Line> lines_;
  std::vector<detail::Segments> segments_;
  std::vector<detail::Image> images_;
  std::vector<detail::Text> texts_;
  int cycle_ = 0;
  detail::Label title_, xlabel_, ylabel_;
  std::optional<std::pair<double, double>> xlim_set_, ylim_set_;
  detail::Ticks xticks_, yticks_;
  std::optional<std::string> legend_loc_;
  bool axis_on_ = true, aspect_equal_ = false, grid_ = false;
  std::optional<std::string> colorbar_label_;  // set: draw a colorbar for images_.back()
  std::optional<FigureRect> placed_;           // add_axes(FigureRect): no automatic layout
  PixelRect box_;                              // the last layout's box, device pixels
};

// The axes of subplots(rows, cols), row-major: grid(r, c) or grid[i].
class AxesGrid {
 public:
  AxesGrid(std::vector<Axes*> axes, int cols) : axes_(std::move(axes)), cols_(cols) {}
  Axes& operator()(int row, int col) const { return *axes_.at(static_cast<size_t>(row * cols_ + col)); }
  Axes& operator[](size_t i) const { return *axes_.at(i); }
  size_t size() const { return axes_.size(); }

 private:
  std::vector<Axes*> axes_;
  int cols_;
};

// A rendered figure: straight (not premultiplied) RGBA bytes, row by row.
struct RenderedImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgba{};
  const uint8_t* pixel(int x, int y) const { return rgba.data() + (static_cast<size_t>(y) * width + x) * 4; }
};

class Figure {
 public:
  explicit Figure(double width_in = 6.4, double height_in = 4.8, double dpi = 100);
  Figure(const Figure&) = delete;
  Figure& operator=(const Figure&) = delete;
  Figure(Figure&&) = default;
  Figure& operator=(Figure&&) = default;

  // The one axes of a 1x1 grid (matplotlib's fig.add_subplot()).
  Axes& add_axes();
  // An axes placed by hand, in figure fractions; it takes no part in the automatic layout.
  Axes& add_axes(FigureRect where);
  // rows x cols axes laid out in a grid with tight_layout-like spacing (replaces earlier grid axes).
  AxesGrid subplots(int rows, int cols);
  void suptitle(const std::string& text, double size = 12);
  // The grid's axes in row-major order (e.g. those image_grid made), and how many there are.
  Axes& axes(size_t index) const;
  size_t axes_count() const { return grid_.size(); }

  int width_px() const;
  int height_px() const;
  double dpi() const { return dpi_; }

  // Lays out, draws and writes the PNG atomically (a temp file renamed over `path`). Errors name
  // the path and the reason.
  void save_png(const std::string& path);
  std::string png_bytes();
  RenderedImage render();

 private:
  friend class detail::AxesPainter;
  double width_in_, height_in_, dpi_;
  int rows_ = 0, cols_ = 0;
  std::vector<std::unique_ptr<Axes>> grid_;    // row-major, rows_ x cols_
  std::vector<std::unique_ptr<Axes>> placed_;  // add_axes(FigureRect)
  detail::Label suptitle_;
};

// fastai's show_batch / the CAM grid: images in nrows x ncols cells (default nrows = int(sqrt(n)),
// ncols = ceil(n / nrows)), each with a title in its own colour and no axis; optionally a heatmap
// stretched over each image (overlay_rows x overlay_cols values through overlay_style: magma,
// alpha 0.5, bilinear, like the seed's CAM figure).
struct GridImage {
  const uint8_t* rgb = nullptr;  // height x width x 3, must outlive the call
  int height = 0, width = 0;
  std::string title{};
  std::string title_color = "black";
  std::vector<float> overlay{};  // empty: none
  int overlay_rows = 0, overlay_cols = 0;
};
struct ImageGridStyle {
  int nrows = 0, ncols = 0;  // 0: fastai's choice
  double cell_inches = 3;    // fastai's imsize
  double title_size = 12;
  ImageStyle overlay_style = {.cmap = "magma", .interpolation = "bilinear", .alpha = 0.5};
  std::string suptitle{};
};
Figure image_grid(const std::vector<GridImage>& images, const ImageGridStyle& style = {});

}  // namespace ember::vision
