// Fashion-MNIST (Zalando's 28x28 grey pictures of clothes: 60000 for training, 10000 for testing,
// 10 classes) read from the gzip'd IDX files that Debian's dataset-fashion-mnist package installs,
// and written out as image folders in the layout a crawl produces (`ember data fashion-mnist`).
//
//   vision::FashionMnist test = vision::load_fashion_mnist(vision::kFashionMnistDir, "t10k");
//   test.count;  test.labels[0];  test.pixels[(i * 28 + y) * 28 + x]
//
// IDX (Yann LeCun's MNIST format), every integer big-endian:
//   images: magic 0x00000803 (unsigned bytes, 3 dimensions), count, rows, cols, then count*rows*cols bytes
//   labels: magic 0x00000801 (unsigned bytes, 1 dimension), count, then count bytes, each 0..9
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vision/dataset_export.h"

namespace ember::vision {

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// The folder names of the 10 classes, by label. Fashion-MNIST's own names, and what Ember calls them:
//   0 T-shirt/top -> tshirt   1 Trouser -> trouser   2 Pullover -> pullover   3 Dress -> dress
//   4 Coat -> coat            5 Sandal -> sandal     6 Shirt -> shirt         7 Sneaker -> sneaker
//   8 Bag -> bag              9 Ankle boot -> ankle_boot
const std::vector<std::string>& fashion_mnist_classes();

// The label of a class name: a folder name above or Fashion-MNIST's own ("T-shirt/top", "Ankle boot",
// also "t-shirt", "ankle-boot"), case-insensitive. Unknown names are an error that lists the names.
int fashion_mnist_label(const std::string& name);

struct FashionMnist {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // (count, rows, cols); 0 is the black background, as stored
  std::vector<uint8_t> labels;  // (count,), 0..9
};

// Decompresses a gzip file's bytes (zlib). A truncated or corrupt stream is an error naming `source`.
std::string gunzip(std::string_view bytes, const std::string& source);

// Checks and reads one pair of (already decompressed) IDX files: magic numbers, sizes that match the
// header exactly, equal counts, labels 0..9. Errors name the file and what was expected.
FashionMnist parse_idx_pair(std::string_view images, std::string_view labels, const std::string& images_name,
                            const std::string& labels_name);

// "train" or "t10k": <dir>/<split>-images-idx3-ubyte.gz and <dir>/<split>-labels-idx1-ubyte.gz. A
// missing file is "Fashion-MNIST is not installed: <path> missing; run scripts/setup (Debian package
// dataset-fashion-mnist)".
FashionMnist load_fashion_mnist(const std::string& dir, const std::string& split);

// Which images of class `label` to export, ascending: the first `count` of the class in file order
// when seed < 0; otherwise `count` drawn without replacement, a Fisher-Yates shuffle of the class's
// indices driven by std::mt19937_64(seed + label) (draw j = rng() % (i + 1)), then sorted. More than
// the class has is an error naming `source`.
std::vector<int64_t> select_class_images(const std::vector<uint8_t>& labels, int label, int64_t count, int64_t seed,
                                         const std::string& source);

struct FashionMnistExport {
  std::string source_dir = kFashionMnistDir;
  std::string out;                 // folders <out>/train/<class>/ and <out>/test/<class>/
  std::vector<int> classes;        // labels
  int64_t train = 200, test = 50;  // per class: from the training file and from t10k
  int64_t seed = -1;               // < 0: the first images of each class
};

// Writes <out>/{train,test}/<class>/<uuid>.png (28x28, grey repeated into RGB) with manifest.csv per
// folder: url "fashion-mnist:train-images-idx3-ubyte.gz#<index>" (t10k-... for test), status ok,
// query "ember data fashion-mnist", sha256 empty. Images a previous run wrote are kept, not
// duplicated. on_progress(done, total) after each image.
ExportCounts export_fashion_mnist(const FashionMnistExport& options,
                                  const std::function<void(int64_t, int64_t)>& on_progress = {});

}  // namespace ember::vision
