// A developer's gallery of the figures the exercise apps draw, for looking at them after a change
// to vision/ (not part of the build):
//
//   g++ -std=c++20 -O2 -I. -DEMBER_HAVE_CAIRO $(pkg-config --cflags cairo) vision/tools/figure_gallery.cpp
//       vision/*.cpp tensor/io/file.cpp $(pkg-config --libs cairo) -o /tmp/gallery
//   /tmp/gallery /tmp/figs
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "vision/figure.h"
#include "vision/report.h"

using namespace ember::vision;

namespace {

// Exercise 2: the data as points and a dashed fitted line, with a legend.
void linear_fit(const std::string& dir) {
  std::mt19937 rng(0);
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> x, y;
  for (int i = 0; i < 1000; ++i) {
    x.push_back(uniform(rng));
    y.push_back(3.14 + 6.28 * x.back() + noise(rng));
  }
  Figure fig;
  Axes& ax = fig.add_axes();
  LineStyle points = LineStyle::format(".");
  points.label = "data";
  ax.plot(x, y, points);
  ax.plot({-1, 1}, {3.14 - 6.28, 3.14 + 6.28}, {.linestyle = "--", .label = "fit $\\hat{y} = b_0 + b_1 x$"});
  ax.set_title("$y = b_0 + b_1 x$ after 100 epochs");
  ax.set_xlabel("x");
  ax.set_ylabel("y");
  ax.legend();
  fig.save_png(dir + "/linear_fit.png");

  Figure scatter_fig;
  Axes& ax2 = scatter_fig.add_axes();
  ax2.plot(x, y, {.linestyle = "none", .marker = 'o', .alpha = 0.1});
  scatter_fig.save_png(dir + "/scatter_alpha.png");
}

// Exercise 3: the first 10 rows of [X, Z, Xhat] as an image with labelled columns.
void representation(const std::string& dir) {
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0, 1);
  std::vector<float> values;
  const double iris[10][4] = {{5.1, 3.5, 1.4, 0.2}, {4.9, 3.0, 1.4, 0.2}, {4.7, 3.2, 1.3, 0.2}, {4.6, 3.1, 1.5, 0.2},
                              {5.0, 3.6, 1.4, 0.2}, {5.4, 3.9, 1.7, 0.4}, {4.6, 3.4, 1.4, 0.3}, {5.0, 3.4, 1.5, 0.2},
                              {4.4, 2.9, 1.4, 0.2}, {4.9, 3.1, 1.5, 0.1}};
  for (const auto& row : iris) {
    for (double v : row) values.push_back(static_cast<float>(v));
    for (int j = 0; j < 6; ++j) values.push_back(static_cast<float>(normal(rng)));
  }
  Figure fig(10, 10);
  Axes& ax = fig.add_axes();
  ax.imshow(values, 10, 10);
  ax.set_xticks({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {"$X_1$", "$X_2$", "$X_3$", "$X_4$", "$Z_1$", "$Z_2$", "$\\hat{X}_1$",
                                                 "$\\hat{X}_2$", "$\\hat{X}_3$", "$\\hat{X}_4$"});
  ax.vlines({3.5, 5.5}, -0.5, 9.5, {.color = "red", .linewidth = 2, .linestyle = "dashed"});
  ax.set_title("First 10 obs of $\\bf [X, Z, \\hat{X}]$ // before learning", 25);
  fig.save_png(dir + "/representation.png");
}

// A synthetic photo: a coloured blob on a gradient, different per index.
std::vector<uint8_t> photo(int size, int index) {
  std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
  const double cx = size * (0.3 + 0.05 * (index % 5)), cy = size * (0.35 + 0.06 * (index % 4));
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double d = std::hypot(x - cx, y - cy) / size;
      uint8_t* p = rgb.data() + (static_cast<size_t>(y) * size + x) * 3;
      p[0] = static_cast<uint8_t>(std::clamp(255 * (1 - d * 2) + 20 * index, 0.0, 255.0));
      p[1] = static_cast<uint8_t>(std::clamp(128.0 * x / size + 60 * (index % 3), 0.0, 255.0));
      p[2] = static_cast<uint8_t>(std::clamp(200.0 * y / size, 0.0, 255.0));
    }
  return rgb;
}

void grids(const std::string& dir) {
  std::vector<std::vector<uint8_t>> photos;
  for (int i = 0; i < 25; ++i) photos.push_back(photo(256, i));
  std::vector<GridImage> batch;
  for (int i = 0; i < 8; ++i) {
    batch.push_back({photos[i].data(), 256, 256, i % 3 ? "iu" : "kpop", i == 5 ? "red" : "green"});
  }
  Figure show_batch = image_grid(batch);
  show_batch.save_png(dir + "/show_batch.png");

  std::vector<GridImage> cam;
  for (int i = 0; i < 25; ++i) {
    GridImage cell{photos[i].data(), 256, 256};
    char title[64];
    std::snprintf(title, sizeof title, "%s(%f)", i % 2 ? "bezos" : "musk", 0.5 + 0.02 * i);
    cell.title = title;
    cell.overlay_rows = cell.overlay_cols = 16;
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 16; ++c)
        cell.overlay.push_back(
            static_cast<float>(std::exp(-((r - 5 - i % 6) * (r - 5 - i % 6) + (c - 8) * (c - 8)) / 12.0)));
    cam.push_back(cell);
  }
  Figure cam_fig = image_grid(cam, {.cell_inches = 16.0 / 5});
  cam_fig.save_png(dir + "/cam_grid.png");
}

// A confusion matrix: Blues, counts written in the cells, a colour bar.
void confusion(const std::string& dir) {
  const std::vector<float> counts = {48, 2, 0, 3, 44, 3, 0, 5, 45};
  Figure fig(5, 4.5);
  Axes& ax = fig.add_axes();
  ax.imshow(counts, 3, 3, {.cmap = "Blues"});
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      const float v = counts[r * 3 + c];
      ax.text(c, r, std::to_string(static_cast<int>(v)),
              {.color = v > 30 ? "white" : "black", .halign = HAlign::center, .valign = VAlign::center});
    }
  const std::vector<std::string> names = {"setosa", "versicolor", "virginica"};
  ax.set_xticks({0, 1, 2}, names, 45);
  ax.set_yticks({0, 1, 2}, names);
  ax.set_xlabel("Predicted");
  ax.set_ylabel("Actual");
  ax.set_title("Confusion matrix");
  ax.colorbar("count");
  fig.save_png(dir + "/confusion.png");

  Figure grid_fig(8, 6);
  AxesGrid g = grid_fig.subplots(2, 2);
  std::vector<double> xs, a, b;
  for (int i = 0; i <= 100; ++i)
    xs.push_back(i / 10.0), a.push_back(std::sin(i / 10.0)), b.push_back(std::exp(-i / 30.0) * 1200);
  g(0, 0).plot(xs, a, {.label = "sin"});
  g(0, 0).plot(xs, b, {.label = "decay"});
  g(0, 0).set_title("two lines");
  g(0, 0).legend();
  g(0, 1).plot(xs, b);
  g(0, 1).set_yticks({0, 400, 800, 1200});
  g(0, 1).grid();
  g(1, 0).scatter(a, b, {.alpha = 0.5, .label = "points"});
  g(1, 0).set_xlabel("sin(x)");
  g(1, 0).set_ylabel("decay");
  g(1, 1).plot({-3e-3, 2e-3}, {-0.5, 0.25}, "k:");
  g(1, 1).set_title("small numbers");
  grid_fig.suptitle("A 2 x 2 grid");
  grid_fig.save_png(dir + "/subplots.png");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/figs";
  try {
    linear_fit(dir);
    representation(dir);
    grids(dir);
    confusion(dir);
    Report report(dir, "Figure gallery — 그림 모음");
    report.heading("Exercise 2");
    report.print("epoch 10: loss 1.02");
    report.print("epoch 20: loss 0.99");
    report.figure("linear_fit.png", "y = b0 + b1 x");
    report.heading("Exercise 3");
    report.figure("representation.png", "[X, Z, Xhat] before learning");
    report.paragraph("정답: 규빈, 민정, 성재, 슬기 <b>not bold</b>");
    report.table({"epoch", "train_loss", "valid_loss", "accuracy", "time"},
                 {{"0", "0.912", "0.433", "0.850", "00:12"}});
    report.figure("show_batch.png", "show_batch");
    report.figure("cam_grid.png", "CAM");
    report.figure("confusion.png", "confusion");
    report.figure("subplots.png", "subplots");
    std::cout << "wrote " << report.save() << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
