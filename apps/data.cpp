// `ember data`: offline datasets written as image folders in the layout a crawl produces
// (<out>/train/<label>/<uuid>.png, <out>/test/<label>/..., a manifest.csv per folder), so that the
// exercise 1 demo runs without a network.
//
//   ember data fashion-mnist --classes pullover,coat --train 200 --test 50 --out images/
//   ember data shapes --train 100 --test 25 --size 128 --out images/ --seed 7
//
// Counts are per class. A rerun keeps the images a previous run wrote (by their manifest URL) and
// writes only what is missing. Exit status: 0 done, 1 failed (data missing or broken, disk), 2 usage.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>

#include "apps/commands.h"
#include "apps/common/cli.h"
#include "apps/common/progress.h"
#include "tensor/error.h"
#include "vision/fashion_mnist.h"
#include "vision/shapes_dataset.h"

namespace ember::app {

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ember data DATASET [options]\n\n"
               "datasets:\n"
               "  fashion-mnist  classes of Fashion-MNIST (Debian's dataset-fashion-mnist) as 28x28 PNG files\n"
               "  shapes         generated circles and squares on noise or gradient backgrounds, with boxes.csv\n\n"
               "'ember data DATASET --help' shows its options.\n");
}

// Runs one export under a progress bar and says what it wrote. An error is one line and status 1.
int run_export(const char* command, const std::string& out,
               const std::function<vision::ExportCounts(const ProgressCallback&)>& work) {
  try {
    const vision::ExportCounts counts = with_progress("export", work);
    std::printf("wrote %lld images to %s (%lld were already there)\n", static_cast<long long>(counts.written),
                out.c_str(), static_cast<long long>(counts.already_there));
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", command, e.what());
    return 1;
  }
}

int run_fashion_mnist(int argc, char** argv) {
  Cli cli("ember data fashion-mnist",
          "Write Fashion-MNIST classes as image folders: <out>/train/<class>/ from the training file and\n"
          "<out>/test/<class>/ from t10k. Classes: tshirt (T-shirt/top), trouser, pullover, dress, coat, sandal,\n"
          "shirt, sneaker, bag, ankle_boot (Ankle boot); case does not matter.");
  vision::FashionMnistExport options;
  std::string classes;
  options.out = "images";
  cli.option("--classes", &classes, "comma-separated class names, e.g. pullover,coat (required)");
  cli.option("--train", &options.train, "images per class from train-images-idx3-ubyte.gz (6000 each)", 0);
  cli.option("--test", &options.test, "images per class from t10k-images-idx3-ubyte.gz (1000 each)", 0);
  cli.option("--out", &options.out, "the dataset folder");
  cli.option("--seed", &options.seed, "-1: the first images of each class in file order; else a seeded sample", -1);
  cli.option("--source", &options.source_dir, "the folder holding the four .gz files");
  if (!cli.parse(argc, argv)) return cli.exit_code();
  try {
    std::istringstream names(classes);
    for (std::string name; std::getline(names, name, ',');) {
      if (name.empty()) continue;
      const int label = vision::fashion_mnist_label(name);
      if (std::find(options.classes.begin(), options.classes.end(), label) == options.classes.end())
        options.classes.push_back(label);
    }
    if (options.classes.empty()) throw Error("--classes is required, e.g. --classes pullover,coat");
  } catch (const Error& e) {
    std::fprintf(stderr, "ember data fashion-mnist: %s (see --help)\n", e.what());
    return 2;
  }
  return run_export("ember data fashion-mnist", options.out,
                    [&](const ProgressCallback& p) { return vision::export_fashion_mnist(options, p); });
}

int run_shapes(int argc, char** argv) {
  Cli cli("ember data shapes",
          "Write generated circles and squares (random size, colour, position; noise or gradient\n"
          "backgrounds) as <out>/{train,test}/{circle,square}/ with manifest.csv and boxes.csv\n"
          "(file,x0,y0,x1,y1: the object's pixels, right/bottom exclusive). The same seed gives the same pictures.");
  vision::ShapesExport options;
  options.out = "images";
  options.seed = 43052;
  cli.option("--train", &options.train, "images per class for train/", 0);
  cli.option("--test", &options.test, "images per class for test/", 0);
  cli.option("--size", &options.size, "width and height in pixels (16..4096)", 16);
  cli.option("--out", &options.out, "the dataset folder");
  cli.option("--seed", &options.seed, "random seed: the same seed draws the same pictures");
  if (!cli.parse(argc, argv)) return cli.exit_code();
  if (options.size > 4096) {
    std::fprintf(stderr, "ember data shapes: --size must be 16..4096, got %lld (see --help)\n",
                 static_cast<long long>(options.size));
    return 2;
  }
  return run_export("ember data shapes", options.out,
                    [&](const ProgressCallback& p) { return vision::export_shapes(options, p); });
}

}  // namespace

int run_data(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "fashion-mnist") == 0) return run_fashion_mnist(argc - 1, argv + 1);
  if (std::strcmp(argv[1], "shapes") == 0) return run_shapes(argc - 1, argv + 1);
  std::fprintf(stderr, "ember data: unknown dataset '%s' (fashion-mnist or shapes; see ember data --help)\n", argv[1]);
  return 2;
}

}  // namespace ember::app
