// Tests of vision/figure.h: figures are rendered and their pixels checked (lines where the data
// says, image cells in the colormap's colours, titles that leave ink), PNGs are read back with
// cairo, and save_png is atomic. Without cairo (EMBER_HAVE_CAIRO undefined) the rendering tests are
// skipped and one test checks the error that explains why.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "../test_util.h"
#include "tensor/io/file.h"
#include "vision/colormap.h"
#include "vision/figure.h"

#ifdef EMBER_HAVE_CAIRO
#include <cairo.h>
constexpr bool kHaveCairo = true;
#else
constexpr bool kHaveCairo = false;
#endif

namespace fs = std::filesystem;
using namespace ember::vision;

namespace {

using ember::test::TempDir;

// Whether the pixel is within `tolerance` of (r, g, b) in every channel.
bool near(const RenderedImage& image, int x, int y, int r, int g, int b, int tolerance = 2) {
  const uint8_t* p = image.pixel(x, y);
  return std::abs(p[0] - r) <= tolerance && std::abs(p[1] - g) <= tolerance && std::abs(p[2] - b) <= tolerance;
}

std::string pixel_text(const RenderedImage& image, int x, int y) {
  const uint8_t* p = image.pixel(x, y);
  std::string text = "(";  // built by appending: GCC 12 warns (-Wrestrict) wrongly on "(" + std::string
  text += std::to_string(p[0]) + ", " + std::to_string(p[1]) + ", " + std::to_string(p[2]) + ") at ";
  return text + std::to_string(x) + ", " + std::to_string(y);
}

int count_pixels(const RenderedImage& image, int x0, int y0, int x1, int y1, bool (*test)(const uint8_t*)) {
  int count = 0;
  for (int y = std::max(0, y0); y < std::min(image.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(image.width, x1); ++x) count += test(image.pixel(x, y));
  return count;
}

bool is_dark(const uint8_t* p) { return p[0] < 100 && p[1] < 100 && p[2] < 100; }

}  // namespace

TEST_CASE("autoscale: 5% margins for data, images to their edges with y downward") {
  Figure fig;
  Axes& ax = fig.add_axes();
  ax.plot({0, 10}, {0, 1});
  CHECK(ax.xlim().first == doctest::Approx(-0.5));
  CHECK(ax.xlim().second == doctest::Approx(10.5));
  CHECK(ax.ylim().first == doctest::Approx(-0.05));

  Figure image_fig;
  Axes& image = image_fig.add_axes();
  image.imshow(std::vector<float>(12, 1.0f), 3, 4);
  image.vlines({1.5}, -0.5, 2.5);  // on the image: the limits stay the image's
  CHECK(image.xlim() == std::pair{-0.5, 3.5});
  CHECK(image.ylim() == std::pair{2.5, -0.5});  // inverted: row 0 at the top
  image.set_xlim(0, 2);
  CHECK(image.xlim() == std::pair{0.0, 2.0});
}

TEST_CASE("bad arguments are errors that say what is wrong") {
  Figure fig;
  Axes& ax = fig.add_axes();
  CHECK(ember::test::error_of([&] { ax.plot({1, 2}, {1}); }).find("2 values") != std::string::npos);
  CHECK(ember::test::error_of([&] { ax.imshow({1, 2, 3}, 2, 2); }).find("2 x 2") != std::string::npos);
  CHECK(ember::test::error_of([&] {
          ax.imshow({1, 2, 3, 4}, 2, 2, {.cmap = "jet"});
        }).find("viridis") != std::string::npos);
  CHECK(ember::test::error_of([&] { ax.plot({1}, {1}, {.color = "bluish"}); }).find("'bluish'") != std::string::npos);
  CHECK(ember::test::error_of([&] { ax.legend("top"); }).find("'top'") != std::string::npos);
  CHECK(ember::test::error_of([&] { ax.set_xticks({1, 2}, {"a"}); }).find("1 labels for 2") != std::string::npos);
  CHECK(ember::test::error_of([&] { LineStyle::format("q"); }).find("'q'") != std::string::npos);
  CHECK(LineStyle::format("r--").color == "r");
  CHECK(LineStyle::format("r--").linestyle == "--");
  CHECK(LineStyle::format("o").linestyle == "none");
  CHECK(LineStyle::format(".").marker == '.');
}

TEST_CASE("without cairo, rendering says how to get figures" * doctest::skip(kHaveCairo)) {
  Figure fig;
  fig.add_axes().plot({0, 1}, {0, 1});
  const std::string message = ember::test::error_of([&] { fig.save_png("never.png"); });
  CHECK(message.find("cairo was not found") != std::string::npos);
  CHECK(message.find("libcairo2-dev") != std::string::npos);
  CHECK_FALSE(fs::exists("never.png"));
}

TEST_CASE("a red vline is red at its column and nowhere else" * doctest::skip(!kHaveCairo)) {
  Figure fig(2, 2, 100);  // 200 x 200 pixels; the axes box is 20..180 on both axes
  Axes& ax = fig.add_axes(FigureRect{0.1, 0.1, 0.8, 0.8});
  ax.set_xlim(0, 10);
  ax.set_ylim(0, 10);
  ax.vlines({5}, 0, 10, {.color = "red", .linewidth = 3});
  const RenderedImage image = fig.render();
  REQUIRE(image.width == 200);
  REQUIRE(image.height == 200);
  CHECK(ax.pixel_box().x == 20);
  CHECK(ax.pixel_box().width == 160);
  // x = 5 is pixel 100.0: a 3 pt (4.2 px) line covers columns 98..101.
  for (int y : {40, 100, 160}) {
    CHECK_MESSAGE(near(image, 99, y, 255, 0, 0), pixel_text(image, 99, y));
    CHECK_MESSAGE(near(image, 100, y, 255, 0, 0), pixel_text(image, 100, y));
    CHECK_MESSAGE(near(image, 90, y, 255, 255, 255), pixel_text(image, 90, y));
    CHECK_MESSAGE(near(image, 110, y, 255, 255, 255), pixel_text(image, 110, y));
  }
  CHECK(ax.data_to_pixel(5, 10).first == doctest::Approx(100));
  CHECK(ax.data_to_pixel(5, 10).second == doctest::Approx(20));
  // Outside the axes the line is clipped.
  CHECK(near(image, 100, 5, 255, 255, 255));
}

TEST_CASE("imshow of a 2x2 array puts viridis(0) and viridis(1) in the right cells" * doctest::skip(!kHaveCairo)) {
  Figure fig(2, 2, 50);  // 100 x 100
  Axes& ax = fig.add_axes(FigureRect{0, 0, 1, 1});
  ax.axis_off();
  ax.imshow({0, 1, 2, 3}, 2, 2);  // vmin 0, vmax 3
  const RenderedImage image = fig.render();
  const Colormap& viridis = colormap("viridis");
  auto expect_cell = [&](int x, int y, double t) {
    const Rgb8 c = viridis.bytes(t);
    const std::string where = pixel_text(image, x, y) + " for t = " + std::to_string(t);
    CHECK_MESSAGE(near(image, x, y, c.r, c.g, c.b, 0), where);
  };
  expect_cell(25, 25, 0);        // row 0, col 0: the smallest value, top left
  expect_cell(75, 25, 1 / 3.0);  // row 0, col 1
  expect_cell(25, 75, 2 / 3.0);  // row 1, col 0
  expect_cell(75, 75, 1);        // row 1, col 1: the largest, bottom right
  CHECK(near(image, 25, 25, 68, 1, 84, 0));
  CHECK(near(image, 75, 75, 253, 231, 36, 0));
}

TEST_CASE("vmin/vmax clip, and an overlay with alpha blends over a photo" * doctest::skip(!kHaveCairo)) {
  std::vector<uint8_t> black(8 * 8 * 3, 0);
  Figure fig(1, 1, 80);  // 80 x 80
  Axes& ax = fig.add_axes(FigureRect{0, 0, 1, 1});
  ax.axis_off();
  ax.image_rgb(black.data(), 8, 8);
  // A 2x2 heatmap stretched over the photo, like the CAM figure (magma, alpha 0.5).
  ax.imshow({0, 0, 0, 1}, 2, 2, {.cmap = "magma", .alpha = 0.5, .extent = Extent{-0.5, 7.5, 7.5, -0.5}});
  const RenderedImage image = fig.render();
  // 0.5 * magma(1) = 0.5 * (251, 252, 191) over black.
  CHECK_MESSAGE(near(image, 70, 70, 125, 126, 95, 2), pixel_text(image, 70, 70));
  CHECK_MESSAGE(near(image, 10, 10, 0, 0, 1, 2), pixel_text(image, 10, 10));
}

TEST_CASE("a title leaves dark pixels above the axes; no title leaves none" * doctest::skip(!kHaveCairo)) {
  for (bool with_title : {true, false}) {
    CAPTURE(with_title);
    Figure fig(4, 3, 100);
    Axes& ax = fig.add_axes();
    ax.plot({0, 1}, {0, 1});
    if (with_title) ax.set_title("Loss $\\hat{y}_1$", 14);
    const RenderedImage image = fig.render();
    const PixelRect box = ax.pixel_box();
    const int dark = count_pixels(image, static_cast<int>(box.x), 0, static_cast<int>(box.x + box.width),
                                  static_cast<int>(box.y) - 2, is_dark);
    if (with_title) {
      CHECK(dark > 40);
    } else {
      CHECK(dark == 0);
    }
  }
}

TEST_CASE("tick labels and axis labels leave ink where they belong" * doctest::skip(!kHaveCairo)) {
  Figure fig(4, 3, 100);
  Axes& ax = fig.add_axes();
  ax.plot({0, 1}, {0, 1});
  ax.set_xlabel("epoch");
  const RenderedImage with_labels = fig.render();
  const PixelRect box = ax.pixel_box();
  CHECK(count_pixels(with_labels, 0, static_cast<int>(box.y), static_cast<int>(box.x) - 2,
                     static_cast<int>(box.y + box.height), is_dark) > 50);  // y tick labels
  CHECK(count_pixels(with_labels, static_cast<int>(box.x), static_cast<int>(box.y + box.height) + 2,
                     static_cast<int>(box.x + box.width), with_labels.height, is_dark) > 100);

  Figure bare(4, 3, 100);
  Axes& off = bare.add_axes();
  off.plot({0, 1}, {0, 1});
  off.axis_off();
  const RenderedImage without = bare.render();
  const PixelRect b = off.pixel_box();
  CHECK(count_pixels(without, 0, 0, without.width, static_cast<int>(b.y) - 1, is_dark) == 0);
  CHECK(count_pixels(without, 0, 0, static_cast<int>(b.x) - 1, without.height, is_dark) == 0);
}

TEST_CASE("a dashed line has gaps; a solid one has none" * doctest::skip(!kHaveCairo)) {
  for (const char* style : {"-", "--"}) {
    CAPTURE(style);
    Figure fig(3, 2, 100);
    Axes& ax = fig.add_axes(FigureRect{0, 0, 1, 1});
    ax.axis_off();
    ax.set_xlim(0, 1), ax.set_ylim(0, 1);
    ax.hlines({0.5}, 0, 1, {.color = "black", .linestyle = style});
    const RenderedImage image = fig.render();
    int gaps = 0;
    for (int x = 10; x < 290; ++x) gaps += !is_dark(image.pixel(x, 100)) && !is_dark(image.pixel(x, 99));
    if (std::string(style) == "-") {
      CHECK(gaps == 0);
    } else {
      CHECK(gaps > 20);
    }
  }
}

TEST_CASE("a legend draws its handles in the line's colour, away from the data" * doctest::skip(!kHaveCairo)) {
  Figure fig(4, 3, 100);
  Axes& ax = fig.add_axes();
  // Data along the top-right to bottom-left diagonal... in the upper half only: 'best' must go low.
  ax.plot({0, 1, 2, 3, 4}, {5, 5, 5, 5, 5}, {.color = "red", .linestyle = "none", .marker = 'o', .label = "top"});
  ax.plot({0, 4}, {0, 0}, {.color = "blue", .linewidth = 0.5});
  ax.set_ylim(-10, 6);
  ax.legend();
  const RenderedImage image = fig.render();
  const PixelRect box = ax.pixel_box();
  auto is_red = [](const uint8_t* p) { return p[0] > 200 && p[1] < 60 && p[2] < 60; };
  const int mid = static_cast<int>(box.y + box.height / 2);
  const int red_low = count_pixels(image, static_cast<int>(box.x), mid, static_cast<int>(box.x + box.width),
                                   static_cast<int>(box.y + box.height), is_red);
  CHECK(red_low > 10);  // the legend's red marker sits in the lower half, where there are no data
}

TEST_CASE("image_grid: fastai's grid shape and coloured titles" * doctest::skip(!kHaveCairo)) {
  std::vector<uint8_t> gray(16 * 16 * 3, 128);
  std::vector<GridImage> images;
  for (int i = 0; i < 8; ++i) images.push_back({gray.data(), 16, 16, "label", i == 5 ? "red" : "green"});
  Figure fig = image_grid(images, {.cell_inches = 1.5});
  REQUIRE(fig.axes_count() == 8);  // 2 x 4: nrows = int(sqrt(8)), ncols = ceil(8 / 2)
  CHECK(fig.width_px() == 600);
  CHECK(fig.height_px() == 300);
  const RenderedImage image = fig.render();
  auto is_red = [](const uint8_t* p) { return p[0] > 200 && p[1] < 80 && p[2] < 80; };
  auto is_green = [](const uint8_t* p) { return p[0] < 80 && p[1] > 90 && p[2] < 80; };
  for (size_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    const PixelRect box = fig.axes(i).pixel_box();
    const int x0 = static_cast<int>(box.x), x1 = static_cast<int>(box.x + box.width);
    const int y1 = static_cast<int>(box.y) - 1, y0 = y1 - 25;
    const int red = count_pixels(image, x0, y0, x1, y1, is_red), green = count_pixels(image, x0, y0, x1, y1, is_green);
    CHECK((i == 5 ? red : green) > 10);
    CHECK((i == 5 ? green : red) == 0);
    CHECK(
        near(image, static_cast<int>(box.x + box.width / 2), static_cast<int>(box.y + box.height / 2), 128, 128, 128));
  }
  // Row 0 is above row 1, columns left to right.
  CHECK(fig.axes(0).pixel_box().y < fig.axes(4).pixel_box().y);
  CHECK(fig.axes(0).pixel_box().x < fig.axes(1).pixel_box().x);
}

#ifdef EMBER_HAVE_CAIRO
TEST_CASE("save_png writes a PNG that reads back with the figure's size") {
  TempDir dir;
  Figure fig(3.2, 2.4, 100);
  fig.add_axes().plot({0, 1, 2}, {1, 0, 1});
  const std::string path = (dir.path / "plot.png").string();
  fig.save_png(path);
  const std::string bytes = ember::read_file(path, "test");
  REQUIRE(bytes.size() > 8);
  CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  REQUIRE(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS);
  CHECK(cairo_image_surface_get_width(surface) == 320);
  CHECK(cairo_image_surface_get_height(surface) == 240);
  cairo_surface_destroy(surface);
  // Only the PNG is there: no temporary file left behind.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("save_png errors name the path and leave no temporary file") {
  TempDir dir;
  Figure fig;
  fig.add_axes().plot({0, 1}, {0, 1});
  const std::string missing = (dir.path / "no_such_dir" / "plot.png").string();
  const std::string message = ember::test::error_of([&] { fig.save_png(missing); });
  CHECK(message.find(missing) != std::string::npos);
  CHECK(message.find("No such file or directory") != std::string::npos);

  // The target is a directory: the temporary file is written, the rename fails, and the
  // temporary file is removed.
  const fs::path target = dir.path / "taken.png";
  fs::create_directories(target / "inside");
  const std::string taken = ember::test::error_of([&] { fig.save_png(target.string()); });
  CHECK(taken.find(target.string()) != std::string::npos);
  CHECK(fs::is_directory(target));
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}
#endif
