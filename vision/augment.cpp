// See augment.h.
#include "vision/augment.h"

#include <algorithm>
#include <string>

#include "tensor/error.h"

namespace ember::vision {

CropBox resize_crop_box(int64_t image_width, int64_t image_height, int64_t width, int64_t height,
                        CropPosition position) {
  EMBER_CHECK(width > 0 && height > 0, "resize_crop: the target size must be positive, got " + std::to_string(width) +
                                           "x" + std::to_string(height));
  EMBER_CHECK(image_width > 0 && image_height > 0, "resize_crop: the image is empty");
  EMBER_CHECK(position.x >= 0 && position.x <= 1 && position.y >= 0 && position.y <= 1,
              "resize_crop: the crop position must lie in [0, 1], got (" + std::to_string(position.x) + ", " +
                  std::to_string(position.y) + ")");
  // In doubles, as Python's floats: the same truncations as fastai's int(...).
  const double w = double(image_width), h = double(image_height), tw = double(width), th = double(height);
  const double m = w / tw < h / th ? w / tw : h / th;
  CropBox box;
  box.width = std::clamp<int64_t>(int64_t(m * tw), 1, image_width);  // never outside the image
  box.height = std::clamp<int64_t>(int64_t(m * th), 1, image_height);
  box.left = int64_t(position.x * double(image_width - box.width));
  box.top = int64_t(position.y * double(image_height - box.height));
  return box;
}

Image resize_crop(const Image& image, int64_t width, int64_t height, CropPosition position) {
  const CropBox box = resize_crop_box(image.width, image.height, width, height, position);
  return resize_bilinear(crop(image, box.left, box.top, box.width, box.height), width, height);
}

Image flip_horizontal(const Image& image) {
  Image out(image.width, image.height);
  for (int64_t y = 0; y < image.height; ++y)
    for (int64_t x = 0; x < image.width; ++x)
      for (int c = 0; c < 3; ++c) out.at(y, image.width - 1 - x, c) = image.at(y, x, c);
  return out;
}

}  // namespace ember::vision
