// See interpret.h.
#include "vision/interpret.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "tensor/error.h"

namespace ember::vision {

namespace {

std::string pad_left(const std::string& text, size_t width) {
  std::string out(text.size() >= width ? 1 : width - text.size(), ' ');
  return out.append(text);
}

const std::string& name_of(const std::vector<std::string>& vocab, int64_t index) {
  EMBER_CHECK(index >= 0 && index < int64_t(vocab.size()),
              "class index " + std::to_string(index) + " is outside the vocab of " + std::to_string(vocab.size()));
  return vocab[size_t(index)];
}

std::vector<GridImage> grid_images(const std::vector<ClassifiedImage>& items) {
  std::vector<GridImage> cells;
  for (const ClassifiedImage& item : items) {
    EMBER_CHECK(item.image != nullptr, "a classified image without pixels");
    cells.push_back({item.image->pixels.data(), int(item.image->height), int(item.image->width)});
  }
  return cells;
}

}  // namespace

ConfusionMatrix confusion_matrix(const std::vector<int64_t>& actual, const std::vector<int64_t>& predicted,
                                 int64_t classes) {
  EMBER_CHECK(actual.size() == predicted.size(), "confusion_matrix: " + std::to_string(actual.size()) +
                                                     " actual labels but " + std::to_string(predicted.size()) +
                                                     " predictions");
  ConfusionMatrix cm(size_t(classes), std::vector<int64_t>(size_t(classes), 0));
  for (size_t i = 0; i < actual.size(); ++i) {
    EMBER_CHECK(actual[i] >= 0 && actual[i] < classes && predicted[i] >= 0 && predicted[i] < classes,
                "confusion_matrix: item " + std::to_string(i) + " has actual " + std::to_string(actual[i]) +
                    " and predicted " + std::to_string(predicted[i]) + ", expected classes 0.." +
                    std::to_string(classes - 1));
    ++cm[size_t(actual[i])][size_t(predicted[i])];
  }
  return cm;
}

Figure confusion_matrix_figure(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  const int k = int(names.size());
  EMBER_CHECK(k > 0 && cm.size() == size_t(k), "confusion_matrix_figure: " + std::to_string(cm.size()) + " rows for " +
                                                   std::to_string(k) + " class names");
  std::vector<double> values;
  int64_t most = 0;
  for (const auto& row : cm) {
    EMBER_CHECK(row.size() == size_t(k), "confusion_matrix_figure: a row of " + std::to_string(row.size()) +
                                             " counts for " + std::to_string(k) + " classes");
    for (int64_t v : row) values.push_back(double(v)), most = std::max(most, v);
  }
  Figure fig(5, 5);
  Axes& ax = fig.add_axes();
  ax.imshow(values, k, k, {.cmap = "Blues"});
  std::vector<double> ticks(static_cast<size_t>(k));
  std::iota(ticks.begin(), ticks.end(), 0.0);
  ax.set_xticks(ticks, names, 90);
  ax.set_yticks(ticks, names);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j)
      ax.text(j, i, std::to_string(cm[size_t(i)][size_t(j)]),
              {.color = double(cm[size_t(i)][size_t(j)]) > double(most) / 2 ? "white" : "black",
               .halign = HAlign::center,
               .valign = VAlign::center});
  ax.set_xlabel("Predicted");
  ax.set_ylabel("Actual");
  ax.set_title("Confusion matrix");
  return fig;
}

std::string confusion_matrix_text(const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  size_t width = 8;
  for (const std::string& name : names) width = std::max(width, name.size() + 2);
  std::string text = "confusion matrix (rows: actual, columns: predicted)\n" + std::string(width, ' ');
  for (const std::string& name : names) text += pad_left(name, width);
  for (size_t i = 0; i < cm.size() && i < names.size(); ++i) {
    text += '\n' + pad_left(names[i], width);
    for (int64_t count : cm[i]) text += pad_left(std::to_string(count), width);
  }
  return text;
}

Figure show_results_figure(const std::vector<ClassifiedImage>& items, const std::vector<std::string>& vocab) {
  std::vector<GridImage> cells = grid_images(items);
  for (size_t i = 0; i < items.size(); ++i) {
    cells[i].title = name_of(vocab, items[i].actual) + "\n" + name_of(vocab, items[i].predicted);
    cells[i].title_color = items[i].actual == items[i].predicted ? "green" : "red";
  }
  return image_grid(cells);
}

std::vector<size_t> top_losses(const std::vector<double>& losses, size_t k) {
  std::vector<size_t> order(losses.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return losses[a] > losses[b]; });
  order.resize(std::min(k, order.size()));
  return order;
}

Figure top_losses_figure(const std::vector<ClassifiedImage>& items, const std::vector<std::string>& vocab) {
  std::vector<GridImage> cells = grid_images(items);
  for (size_t i = 0; i < items.size(); ++i) {
    char numbers[64];
    std::snprintf(numbers, sizeof numbers, " / %.2f / %.2f", items[i].loss, items[i].probability);
    cells[i].title = name_of(vocab, items[i].predicted) + "/" + name_of(vocab, items[i].actual) + numbers;
  }
  return image_grid(cells, {.suptitle = "Prediction/Actual/Loss/Probability"});
}

}  // namespace ember::vision
