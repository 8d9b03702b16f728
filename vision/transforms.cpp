// See transforms.h.
#include "vision/transforms.h"

#include <cmath>

#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/error.h"

namespace ember::vision {

Image resize_shorter_side(const Image& image, int64_t size) {
  EMBER_CHECK(size > 0, "resize_shorter_side: the size must be positive, got " + std::to_string(size));
  EMBER_CHECK(image.width > 0 && image.height > 0, "resize_shorter_side: the image is empty");
  const bool portrait = image.width <= image.height;
  const int64_t shorter = portrait ? image.width : image.height, longer = portrait ? image.height : image.width;
  if (shorter == size) return image;  // torchvision returns the image unchanged
  // torchvision: int(size * long / short), in Python floats
  const int64_t new_longer = int64_t(double(size) * double(longer) / double(shorter));
  return portrait ? resize_bilinear(image, size, new_longer) : resize_bilinear(image, new_longer, size);
}

Image center_crop(const Image& image, int64_t size) {
  EMBER_CHECK(size > 0 && image.width >= size && image.height >= size,
              "center_crop: a " + std::to_string(size) + "x" + std::to_string(size) + " crop needs an image at least " +
                  "that large, got " + std::to_string(image.width) + "x" + std::to_string(image.height));
  // Python's round() rounds halves to even: std::nearbyint does too in the default rounding mode.
  const int64_t top = int64_t(std::nearbyint(double(image.height - size) / 2.0));
  const int64_t left = int64_t(std::nearbyint(double(image.width - size) / 2.0));
  return crop(image, left, top, size, size);
}

Tensor image_to_tensor(const Image& image) {
  Tensor out = empty({3, image.height, image.width});
  float* dst = out.data<float>();
  const int64_t plane = image.height * image.width;
  for (int64_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) dst[c * plane + p] = float(image.pixels[size_t(p * 3 + c)]) / 255.0f;
  return out;
}

Tensor normalize(const Tensor& x, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  EMBER_CHECK(x.dtype() == DType::Float32 && x.device().is_cpu() && (x.dim() == 3 || x.dim() == 4) && x.size(-3) == 3,
              "normalize: expected a float32 CPU tensor of shape (3, H, W) or (N, 3, H, W), got " + x.shape().str() +
                  " " + dtype_name(x.dtype()));
  Tensor out = empty(x.shape());
  Tensor in = x.is_contiguous() ? x : contiguous(x);
  const float* src = in.data<float>();
  float* dst = out.data<float>();
  const int64_t plane = x.size(-1) * x.size(-2), images = x.numel() / (3 * plane);
  for (int64_t n = 0; n < images; ++n)
    for (int c = 0; c < 3; ++c) {
      const int64_t base = (n * 3 + c) * plane;
      for (int64_t p = 0; p < plane; ++p) dst[base + p] = (src[base + p] - mean[size_t(c)]) / std[size_t(c)];
    }
  return out;
}

Tensor imagenet_eval_input(const Image& image, int64_t resize, int64_t crop_size) {
  Tensor x = normalize(image_to_tensor(center_crop(resize_shorter_side(image, resize), crop_size)));
  return reshape(x, {1, 3, crop_size, crop_size});
}

}  // namespace ember::vision
