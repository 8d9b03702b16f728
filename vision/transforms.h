// The torchvision/fastai steps that turn a decoded image into a network input.
//
//   Tensor x = vision::imagenet_eval_input(vision::load_image("cat.jpg"));   // (1, 3, 224, 224)
//
// is torchvision's ImageNet evaluation transform, value for value:
//   Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(mean, std)
#pragma once
#include <array>

#include "tensor/tensor.h"
#include "vision/image.h"

namespace ember::vision {

// ImageNet's channel statistics (fastai's imagenet_stats, torchvision's weights' transforms).
constexpr std::array<float, 3> kImagenetMean = {0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kImagenetStd = {0.229f, 0.224f, 0.225f};

// torchvision's Resize(size) for an int size: the shorter side becomes `size`, the longer
// int(size * long / short) (truncated), with Pillow's bilinear resize.
Image resize_shorter_side(const Image& image, int64_t size);

// torchvision's CenterCrop(size): top = round((height - size) / 2), left likewise, with Python's
// round (half to even). The image must be at least size x size.
Image center_crop(const Image& image, int64_t size);

// ToTensor(): (3, height, width) float32, pixel / 255 (a float32 division, as torchvision's).
Tensor image_to_tensor(const Image& image);

// Normalize(mean, std) on a (3, H, W) or (N, 3, H, W) float tensor: (x - mean[c]) / std[c] in float32.
Tensor normalize(const Tensor& x, const std::array<float, 3>& mean = kImagenetMean,
                 const std::array<float, 3>& std = kImagenetStd);

// The whole ImageNet evaluation transform, with a batch dimension: (1, 3, crop, crop).
Tensor imagenet_eval_input(const Image& image, int64_t resize = 256, int64_t crop = 224);

}  // namespace ember::vision
