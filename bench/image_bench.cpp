// ember_image_bench: how many images per second Ember decodes and resizes, with 1 and 2 worker
// threads, on a folder of real files (bench/image_bench.py makes the folders and runs Pillow on
// the same files for the comparison; see bench/README.md).
//
//   ember_image_bench --dir /tmp/ember-image-bench/jpeg --name jpeg [--size 512] [--workers 1,2]
//                     [--repeat N] [--json]
//
// Cases, for every W in --workers (each repeat handles every image file under --dir once):
//  - decode_<name>_w<W>:         load_image (read + decode to 8-bit RGB)
//  - decode_resize_<name>_w<W>:  load_image, then fastai's validation Resize(size): the centred
//    square crop of side min(w, h), then Pillow's bilinear resize to size x size
//  - loader_<name>_w<W>:         one epoch of vision::DataLoader (batches of 8, the validation
//    transform, then x / 255 and ImageNet normalisation into a float32 (8, 3, size, size) batch)
// In the first two, workers take the next file from a shared counter; the loader has its own.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/harness.h"
#include "vision/augment.h"
#include "vision/data_loader.h"
#include "vision/image.h"
#include "vision/image_files.h"

using namespace ember;

namespace {

struct Options {
  std::string dir, name = "images";
  int64_t size = 512;
  std::vector<int> workers = {1, 2};
  int repeat = 0;
  bool json = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "ember_image_bench: %s (see --help)\n", message.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help") {
      std::printf(
          "usage: ember_image_bench --dir DIR [--name NAME] [--size S] [--workers 1,2] [--repeat N] [--json]\n");
      std::exit(0);
    } else if (flag == "--dir") {
      o.dir = value();
    } else if (flag == "--name") {
      o.name = value();
    } else if (flag == "--size") {
      o.size = std::atoll(value().c_str());
      if (o.size <= 0) usage_error("--size must be a positive number of pixels");
    } else if (flag == "--workers") {
      o.workers.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) {
        const int w = std::atoi(item.c_str());
        if (w <= 0) usage_error("--workers takes positive counts separated by commas, not '" + item + "'");
        o.workers.push_back(w);
      }
    } else if (flag == "--repeat") {
      o.repeat = std::atoi(value().c_str());
    } else if (flag == "--json") {
      o.json = true;
    } else {
      usage_error("unknown flag '" + flag + "'");
    }
  }
  if (o.dir.empty()) usage_error("--dir DIR is required");
  return o;
}

std::vector<std::string> image_files_under(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) usage_error("--dir '" + dir + "' is not a folder");
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && vision::has_image_extension(entry.path().string()))
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) usage_error("--dir '" + dir + "' has no image files");
  return files;
}

// Runs work(file) for every file on `workers` threads that share one counter. A file that fails
// (the folder should hold only good images) stops the benchmark with its error.
template <typename Work>
void for_each_file(const std::vector<std::string>& files, int workers, Work work) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  auto worker = [&] {
    try {
      for (size_t i = next++; i < files.size(); i = next++) work(files[i]);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure) failure = std::current_exception();
      next = files.size();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < workers; ++t) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  const std::vector<std::string> files = image_files_under(options.dir);
  const double count = static_cast<double>(files.size());
  std::vector<bench::Case> cases;
  for (int workers : options.workers) {
    const std::string suffix = options.name + "_w" + std::to_string(workers);
    bench::Case decode;
    decode.name = "decode_" + suffix;
    decode.work = {bench::Unit::ItemsPerSecond, count};
    decode.make = [&files, workers] {
      return std::function<void()>([&files, workers] {
        for_each_file(files, workers, [](const std::string& file) { vision::load_image(file); });
      });
    };
    cases.push_back(decode);
    bench::Case resize;
    resize.name = "decode_resize_" + suffix;
    resize.work = {bench::Unit::ItemsPerSecond, count};
    resize.make = [&files, workers, size = options.size] {
      return std::function<void()>([&files, workers, size] {
        for_each_file(files, workers,
                      [size](const std::string& file) { vision::resize_crop(vision::load_image(file), size, size); });
      });
    };
    cases.push_back(resize);
    bench::Case loader;
    loader.name = "loader_" + suffix;
    loader.work = {bench::Unit::ItemsPerSecond, count};
    loader.make = [&files, workers, size = options.size] {
      std::vector<vision::DatasetItem> items;
      for (const std::string& file : files) items.push_back({file, 0});
      vision::LoaderOptions options = vision::valid_loader_options(size, 8);
      options.workers = workers;
      auto data = std::make_shared<vision::DataLoader>(items, options);
      return std::function<void()>([data] {
        data->start_epoch(0);
        while (data->next()) {
        }
      });
    };
    cases.push_back(loader);
  }
  if (!options.json)
    std::printf("ember_image_bench: %zu images under %s, Resize(%lld)\n", files.size(), options.dir.c_str(),
                static_cast<long long>(options.size));
  if (!options.json) bench::print_table_header();
  try {
    for (const bench::Case& c : cases) {
      const bench::Result result = bench::run_case(c, options.repeat);
      if (options.json)
        bench::print_json_line(c, result, 0);
      else
        bench::print_table_row(c, result);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ember_image_bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
