// fastai's ClassificationInterpretation and show_results, as numbers and figures (reference spec,
// section 8):
//
//   auto cm = vision::confusion_matrix(actual, predicted, vocab.size());   // cm[actual][predicted]
//   vision::confusion_matrix_figure(cm, vocab).save_png("out/confusion.png");
//   std::printf("%s\n", vision::confusion_matrix_text(cm, vocab).c_str());
//   vision::show_results_figure(shown, vocab).save_png("out/results.png");         // green / red titles
//   vision::top_losses_figure(top, vocab).save_png("out/top_losses.png");
//
// - plot_confusion_matrix: imshow of the counts in Blues, title "Confusion matrix", x ticks the
//   vocab rotated 90 degrees ("Predicted"), y ticks the vocab ("Actual"); each cell shows its
//   count, white when it is more than half the largest count, else black.
// - show_results: each image titled "target\nprediction", green when they agree, red otherwise.
// - plot_top_losses: the k largest per-item losses, titled "prediction/actual / loss / probability"
//   (loss and the predicted class's probability with 2 decimals), under the suptitle
//   "Prediction/Actual/Loss/Probability".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "vision/figure.h"
#include "vision/image.h"

namespace ember::vision {

using ConfusionMatrix = std::vector<std::vector<int64_t>>;  // [actual][predicted]

// Counts of (actual, predicted) pairs; an index outside [0, classes) is an error naming it.
ConfusionMatrix confusion_matrix(const std::vector<int64_t>& actual, const std::vector<int64_t>& predicted,
                                 int64_t classes);
Figure confusion_matrix_figure(const ConfusionMatrix& cm, const std::vector<std::string>& names);
// The matrix as aligned text: a header of predicted names, one row per actual name.
std::string confusion_matrix_text(const ConfusionMatrix& cm, const std::vector<std::string>& names);

// One classified image, for the figures below.
struct ClassifiedImage {
  const Image* image = nullptr;  // the network's input, as 8-bit RGB (must outlive the call)
  int64_t actual = 0, predicted = 0;
  double probability = 0;  // of the predicted class
  double loss = 0;         // the item's cross-entropy
};

Figure show_results_figure(const std::vector<ClassifiedImage>& items, const std::vector<std::string>& vocab);
// The indices of the k largest losses, largest first (ties: the earlier item first).
std::vector<size_t> top_losses(const std::vector<double>& losses, size_t k);
Figure top_losses_figure(const std::vector<ClassifiedImage>& items, const std::vector<std::string>& vocab);

}  // namespace ember::vision
