// See figure.h: image_grid, fastai's show_batch and the seed's CAM figure as one helper.
#include <cmath>

#include "tensor/error.h"
#include "vision/figure.h"

namespace ember::vision {

Figure image_grid(const std::vector<GridImage>& images, const ImageGridStyle& style) {
  EMBER_CHECK(!images.empty(), "image_grid: no images to show");
  const int n = static_cast<int>(images.size());
  // fastai's get_grid: nrows = int(sqrt(n)), ncols = ceil(n / nrows); one given, the other follows.
  int nrows = style.nrows, ncols = style.ncols;
  if (nrows <= 0 && ncols <= 0) nrows = std::max(1, static_cast<int>(std::sqrt(static_cast<double>(n))));
  if (ncols <= 0) ncols = (n + nrows - 1) / nrows;
  if (nrows <= 0) nrows = (n + ncols - 1) / ncols;
  EMBER_CHECK(nrows * ncols >= n, "image_grid: " + std::to_string(n) + " images do not fit in " +
                                      std::to_string(nrows) + " x " + std::to_string(ncols) + " cells");

  Figure figure(ncols * style.cell_inches, nrows * style.cell_inches + (style.suptitle.empty() ? 0 : 0.4));
  AxesGrid grid = figure.subplots(nrows, ncols);
  for (int i = 0; i < nrows * ncols; ++i) {
    Axes& ax = grid[static_cast<size_t>(i)];
    ax.axis_off();
    if (i >= n) continue;
    const GridImage& image = images[static_cast<size_t>(i)];
    ax.image_rgb(image.rgb, image.height, image.width);
    if (!image.overlay.empty()) {
      // Stretched over the whole photo, as the seed's extent=(0, 511, 511, 0) does.
      ImageStyle overlay = style.overlay_style;
      if (!overlay.extent) overlay.extent = Extent{-0.5, image.width - 0.5, image.height - 0.5, -0.5};
      ax.imshow(image.overlay, image.overlay_rows, image.overlay_cols, overlay);
    }
    if (!image.title.empty()) ax.set_title(image.title, style.title_size, image.title_color);
  }
  if (!style.suptitle.empty()) figure.suptitle(style.suptitle, 14);
  return figure;
}

}  // namespace ember::vision
