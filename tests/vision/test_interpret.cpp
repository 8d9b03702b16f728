// fastai's interpretation figures (vision/interpret.h): confusion-matrix counts and text, the
// order of top losses, and the titles' colours and line breaks in the rendered figures.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "vision/interpret.h"

using namespace ember::vision;

namespace {

// Pixels in rows [y0, y1) of the whole width that pass `test`.
int count_rows(const RenderedImage& image, int y0, int y1, bool (*test)(const uint8_t*)) {
  int count = 0;
  for (int y = std::max(0, y0); y < std::min(image.height, y1); ++y)
    for (int x = 0; x < image.width; ++x) count += test(image.pixel(x, y));
  return count;
}
bool is_green(const uint8_t* p) { return p[1] > 90 && p[0] < 60 && p[2] < 60; }  // matplotlib "green" = (0, 128, 0)
bool is_red(const uint8_t* p) { return p[0] > 200 && p[1] < 60 && p[2] < 60; }
bool is_ink(const uint8_t* p) { return p[0] < 128 && p[1] < 128 && p[2] < 128; }

// The rows of text above the first axes: from the top of the figure to the axes box.
int title_rows_with_ink(Figure& fig) {
  const RenderedImage image = fig.render();
  const int top = int(fig.axes(0).pixel_box().y);
  int rows = 0;
  for (int y = 0; y < top; ++y) rows += count_rows(image, y, y + 1, is_ink) > 0;
  return rows;
}

}  // namespace

TEST_CASE("confusion_matrix counts (actual, predicted) pairs and refuses indices outside the classes") {
  const ConfusionMatrix cm = confusion_matrix({0, 0, 1, 1, 1, 2}, {0, 1, 1, 1, 2, 2}, 3);
  CHECK(cm == ConfusionMatrix{{1, 1, 0}, {0, 2, 1}, {0, 0, 1}});
  CHECK_THROWS_WITH_AS(confusion_matrix({0, 3}, {0, 0}, 3), doctest::Contains("item 1 has actual 3"), ember::Error);
  CHECK_THROWS_WITH_AS(confusion_matrix({0}, {0, 1}, 2), doctest::Contains("1 actual labels but 2 predictions"),
                       ember::Error);
  const std::string text = confusion_matrix_text(cm, {"a", "bb", "c"});
  CHECK(text.find("\n       a       1       1       0") != std::string::npos);
  CHECK(text.find("\n      bb       0       2       1") != std::string::npos);
}

TEST_CASE("top_losses: the k largest, largest first, earlier items first on ties") {
  CHECK(top_losses({0.1, 2.0, 0.5, 2.0, 3.0}, 3) == std::vector<size_t>{4, 1, 3});
  CHECK(top_losses({0.1, 0.2}, 5) == std::vector<size_t>{1, 0});
}

TEST_CASE("show_results: titles are 'actual\\nprediction', green when right and red when wrong") {
  Image grey(32, 32);
  std::fill(grey.pixels.begin(), grey.pixels.end(), 128);
  const std::vector<std::string> vocab = {"coat", "pullover"};
  {
    Figure right = show_results_figure({{&grey, 0, 0, 0.9, 0.1}}, vocab);
    const RenderedImage image = right.render();
    const int top = int(right.axes(0).pixel_box().y);
    CHECK(count_rows(image, 0, top, is_green) > 20);
    CHECK(count_rows(image, 0, top, is_red) == 0);
  }
  {
    Figure wrong = show_results_figure({{&grey, 0, 1, 0.7, 1.2}}, vocab);
    const RenderedImage image = wrong.render();
    const int top = int(wrong.axes(0).pixel_box().y);
    CHECK(count_rows(image, 0, top, is_red) > 20);
    CHECK(count_rows(image, 0, top, is_green) == 0);
  }
  // Two lines of title take about twice the height of one (matplotlib's 1.2 line spacing).
  std::vector<GridImage> one = {{grey.pixels.data(), 32, 32, "coat"}},
                         two = {{grey.pixels.data(), 32, 32, "coat\ncoat"}};
  Figure one_line = image_grid(one), two_lines = image_grid(two);
  const int h1 = title_rows_with_ink(one_line), h2 = title_rows_with_ink(two_lines);
  CHECK(h1 > 5);
  CHECK(h2 > h1 + 10);
}

TEST_CASE("a wrong class index in a figure is an error naming it") {
  Image grey(8, 8);
  CHECK_THROWS_WITH_AS(show_results_figure({{&grey, 0, 2, 0.5, 0.5}}, {"a", "b"}),
                       doctest::Contains("class index 2 is outside the vocab of 2"), ember::Error);
}
