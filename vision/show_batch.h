// fastai's dls.show_batch(): a grid of a batch's images with their labels as titles, as a PNG.
//
//   vision::DataLoader train(data.train, options);        // options.keep_images = true (or not)
//   vision::show_batch(train.one_batch(), data.vocab, "out/batch.png");
//
// n = min(batch size, max_n) images in fastai's get_grid layout: nrows = int(sqrt(n)),
// ncols = ceil(n / nrows), 3-inch cells at 100 dpi (a batch of 8 is 2 x 4: a 1200 x 600 PNG),
// each image without axes under its label in black. The pixels are Batch::images when the loader
// kept them (keep_images), else x decoded back: x * std + mean, * 255, rounded and clipped (fastai
// truncates after clamping; rounding gives back the exact bytes despite float error).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "vision/data_loader.h"
#include "vision/figure.h"

namespace ember::vision {

// The uint8 images of a batch: its kept images, or x (N, 3, H, W) decoded with mean and std
// (normalized = false: x is only x / 255).
std::vector<Image> batch_images(const Batch& batch, bool normalized = true,
                                const std::array<float, 3>& mean = kImagenetMean,
                                const std::array<float, 3>& std = kImagenetStd);

Figure show_batch_figure(const Batch& batch, const std::vector<std::string>& vocab, int max_n = 9,
                         bool normalized = true, const std::array<float, 3>& mean = kImagenetMean,
                         const std::array<float, 3>& std = kImagenetStd);

// Draws show_batch_figure and writes it to `path` atomically. Errors name the path.
void show_batch(const Batch& batch, const std::vector<std::string>& vocab, const std::string& path, int max_n = 9,
                bool normalized = true, const std::array<float, 3>& mean = kImagenetMean,
                const std::array<float, 3>& std = kImagenetStd);

}  // namespace ember::vision
