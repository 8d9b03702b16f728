// See show_batch.h.
#include "vision/show_batch.h"

#include <algorithm>
#include <cmath>

#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/error.h"

namespace ember::vision {

std::vector<Image> batch_images(const Batch& batch, bool normalized, const std::array<float, 3>& mean,
                                const std::array<float, 3>& std) {
  if (!batch.images.empty()) return batch.images;
  const Tensor& x = batch.x;
  EMBER_CHECK(x.defined() && x.dtype() == DType::Float32 && x.device().is_cpu() && x.dim() == 4 && x.size(1) == 3,
              "show_batch: expected a batch x of float32 (N, 3, H, W) on the CPU");
  const Tensor contiguous_x = x.is_contiguous() ? x : contiguous(x);
  const float* data = contiguous_x.data<float>();
  const int64_t n = x.size(0), height = x.size(2), width = x.size(3), plane = height * width;
  std::vector<Image> images;
  for (int64_t i = 0; i < n; ++i) {
    Image image(width, height);
    for (int c = 0; c < 3; ++c) {
      const float* channel = data + (i * 3 + c) * plane;
      for (int64_t p = 0; p < plane; ++p) {
        // Undo Normalize (x * std + mean) and IntToFloatTensor (* 255).
        const float unit = normalized ? channel[p] * std[size_t(c)] + mean[size_t(c)] : channel[p];
        image.pixels[size_t(p * 3 + c)] = uint8_t(std::clamp(std::lround(unit * 255.0f), 0L, 255L));
      }
    }
    images.push_back(std::move(image));
  }
  return images;
}

Figure show_batch_figure(const Batch& batch, const std::vector<std::string>& vocab, int max_n, bool normalized,
                         const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  EMBER_CHECK(batch.size() > 0, "show_batch: the batch is empty");
  EMBER_CHECK(max_n > 0, "show_batch: max_n must be positive, got " + std::to_string(max_n));
  const std::vector<Image> images = batch_images(batch, normalized, mean, std);
  const std::vector<int64_t> labels = to_vector<int64_t>(batch.y);
  const size_t n = std::min(images.size(), size_t(max_n));
  std::vector<GridImage> cells;
  for (size_t i = 0; i < n; ++i) {
    const int64_t label = labels.at(i);
    EMBER_CHECK(label >= 0 && label < int64_t(vocab.size()), "show_batch: label " + std::to_string(label) +
                                                                 " of item " + std::to_string(i) + " is outside the " +
                                                                 std::to_string(vocab.size()) + "-class vocab");
    cells.push_back({images[i].pixels.data(), int(images[i].height), int(images[i].width), vocab[size_t(label)]});
  }
  // image_grid copies the pixels, so `images` may go once it returns.
  return image_grid(cells);
}

void show_batch(const Batch& batch, const std::vector<std::string>& vocab, const std::string& path, int max_n,
                bool normalized, const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  show_batch_figure(batch, vocab, max_n, normalized, mean, std).save_png(path);
}

}  // namespace ember::vision
