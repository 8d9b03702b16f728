// See cam.h: the seed's 5 x 5 CAM figure, drawn with image_grid (figure.h).
#include <cmath>
#include <cstdio>

#include "autograd/ops.h"
#include "vision/cam.h"

namespace ember::vision {

std::string cam_title(const std::string& label, double probability, int decimals) {
  EMBER_CHECK(decimals >= 0 && decimals <= 17,
              "cam_title: decimals must be in [0, 17], got " + std::to_string(decimals));
  char number[64];
  std::snprintf(number, sizeof number, "%.*f", decimals, probability);  // Python's "%2f" is "%.6f" here
  return label + "(" + number + ")";
}

Figure cam_figure(const std::vector<Image>& images, const Tensor& maps, const std::vector<std::string>& titles) {
  EMBER_CHECK(!images.empty(), "cam_figure: no images");
  EMBER_CHECK(maps.defined() && maps.dim() == 3,
              "cam_figure: maps must be (N, h, w), got " +
                  (maps.defined() ? maps.shape().str() : std::string("an undefined tensor")));
  const int64_t n = static_cast<int64_t>(images.size());
  EMBER_CHECK(maps.size(0) == n && static_cast<int64_t>(titles.size()) == n,
              "cam_figure: " + std::to_string(n) + " images, maps " + maps.shape().str() + " and " +
                  std::to_string(titles.size()) + " titles: need one map and one title per image");
  const int64_t rows = maps.size(1), cols = maps.size(2);
  EMBER_CHECK(rows > 0 && cols > 0, "cam_figure: empty maps " + maps.shape().str());
  const std::vector<float> values = to_vector<float>(maps);  // row-major (N, h, w)

  bool one_size = true;
  std::vector<GridImage> cells;
  for (int64_t a = 0; a < n; ++a) {
    const Image& image = images[static_cast<size_t>(a)];
    EMBER_CHECK(image.width > 0 && image.height > 0 &&
                    image.pixels.size() == static_cast<size_t>(image.width * image.height * 3),
                "cam_figure: image " + std::to_string(a) + " is empty or its pixels do not match its size " +
                    std::to_string(image.width) + "x" + std::to_string(image.height));
    one_size = one_size && image.width == images[0].width && image.height == images[0].height;
    GridImage cell;
    cell.rgb = image.pixels.data();
    cell.height = static_cast<int>(image.height);
    cell.width = static_cast<int>(image.width);
    cell.title = titles[static_cast<size_t>(a)];
    cell.overlay.assign(values.begin() + a * rows * cols, values.begin() + (a + 1) * rows * cols);
    cell.overlay_rows = static_cast<int>(rows);
    cell.overlay_cols = static_cast<int>(cols);
    cells.push_back(std::move(cell));
  }

  ImageGridStyle style;  // magma, alpha 0.5, bilinear; title 12 pt (matplotlib's default)
  style.ncols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  style.nrows = static_cast<int>((n + style.ncols - 1) / style.ncols);
  style.cell_inches = 16.0 / 5;  // the seed: fig.set_figwidth(16), set_figheight(16) for 5 x 5
  // The seed's extent=(0, 511, 511, 0) for 512-px images: W - 1 and H - 1. It needs one size for
  // all images; with mixed sizes each map is stretched over its own image instead.
  if (one_size && images[0].width > 1 && images[0].height > 1)
    style.overlay_style.extent =
        Extent{0, static_cast<double>(images[0].width - 1), static_cast<double>(images[0].height - 1), 0};
  return image_grid(cells, style);
}

void save_cam_figure(const std::vector<Image>& images, const Tensor& maps, const std::vector<std::string>& titles,
                     const std::string& path) {
  cam_figure(images, maps, titles).save_png(path);
}

}  // namespace ember::vision
