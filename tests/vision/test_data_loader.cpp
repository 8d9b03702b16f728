// vision/data_loader.h and show_batch.h on small generated image folders: what each batch holds
// (checked against resize_crop + image_to_tensor + normalize, which have their own golden tests),
// batch counts with and without drop_last, seeded shuffles that are the same with 0, 1 or 2
// workers, bad files skipped with warnings, bounded prefetching, shutdown mid-epoch, and the PNG
// show_batch writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "tensor/io/file.h"
#include "tests/test_util.h"
#include "vision/data_loader.h"
#include "vision/show_batch.h"

using namespace ember;
using namespace ember::test;
using vision::Batch;
using vision::DataLoader;
using vision::Image;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSide = 8;  // the loaders' output size: small, so the tests are fast

// An image of its own: a gradient whose colours depend on `seed`, w x h.
Image picture(int64_t w, int64_t h, int seed) {
  Image image(w, h);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      image.at(y, x, 0) = uint8_t(seed * 37 + x * 11);
      image.at(y, x, 1) = uint8_t(seed * 91 + y * 13);
      image.at(y, x, 2) = uint8_t(seed * 53 + x * y);
    }
  return image;
}

// n PNGs of varied shapes (landscape, portrait, square, smaller than kSide) in two labels.
std::vector<vision::DatasetItem> make_items(const fs::path& root, int n) {
  std::vector<vision::DatasetItem> items;
  for (int i = 0; i < n; ++i) {
    const int64_t w = 6 + (i * 7) % 19, h = 5 + (i * 5) % 17;
    const std::string label = i % 3 == 0 ? "b" : "a";
    const fs::path path = root / label / ("img" + std::to_string(100 + i) + ".png");
    fs::create_directories(path.parent_path());
    vision::save_png(picture(w, h, i), path.string());
    items.push_back({path.string(), label == "a" ? 0 : 1});
  }
  return items;
}

vision::LoaderOptions options(int workers, int64_t bs = 4) {
  vision::LoaderOptions o = vision::valid_loader_options(kSide, bs);
  o.workers = workers;
  return o;
}

// Every batch of one epoch.
std::vector<Batch> epoch(DataLoader& loader, int64_t index) {
  std::vector<Batch> batches;
  loader.start_epoch(index);
  while (std::optional<Batch> batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

// The item the loader should produce, built from the tested pieces one by one: (3, S, S).
Tensor expected_item(const std::string& path, vision::CropPosition position = {}, bool flip = false) {
  Image image = vision::resize_crop(vision::load_image(path), kSide, kSide, position);
  if (flip) image = vision::flip_horizontal(image);
  return vision::normalize(vision::image_to_tensor(image));
}

Tensor item_of(const Batch& batch, int64_t i) { return contiguous(select(batch.x, 0, i)); }

bool same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (a[k].items != b[k].items || to_vector<float>(a[k].x) != to_vector<float>(b[k].x) ||
        to_vector<int64_t>(a[k].y) != to_vector<int64_t>(b[k].y))
      return false;
  return true;
}

int thread_count() {  // this process's threads, from /proc
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace

TEST_CASE("DataLoader (valid): centre crops in order, ImageNet-normalised, the last batch kept") {
  TempDir dir("loader_valid");
  const auto items = make_items(dir.path, 10);
  DataLoader loader(items, options(2));
  CHECK(loader.size() == 3);  // ceil(10 / 4)
  const std::vector<Batch> batches = epoch(loader, 0);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].size() == 4);
  CHECK(batches[2].size() == 2);
  int64_t next_item = 0;
  for (const Batch& batch : batches) {
    CHECK(batch.x.shape() == Shape{batch.size(), 3, kSide, kSide});
    CHECK(batch.x.dtype() == DType::Float32);
    CHECK(batch.y.dtype() == DType::Int64);
    const auto labels = to_vector<int64_t>(batch.y);
    for (int64_t i = 0; i < batch.size(); ++i, ++next_item) {
      CHECK(batch.items[size_t(i)] == next_item);
      CHECK(batch.paths[size_t(i)] == items[size_t(next_item)].path);
      CHECK(labels[size_t(i)] == items[size_t(next_item)].label);
      CHECK(to_vector<float>(item_of(batch, i)) == to_vector<float>(expected_item(items[size_t(next_item)].path)));
    }
  }
  CHECK(loader.skipped_files() == 0);

  // Without normalisation x is pixel / 255.
  vision::LoaderOptions plain = options(0);
  plain.normalize = false;
  DataLoader raw(items, plain);
  const Batch first = raw.one_batch();
  const Image crop = vision::resize_crop(vision::load_image(items[0].path), kSide, kSide);
  CHECK(to_vector<float>(item_of(first, 0)) == to_vector<float>(vision::image_to_tensor(crop)));
}

TEST_CASE("DataLoader (train): drop_last, seeded shuffles and random crops, identical with 0, 1, 2 workers") {
  TempDir dir("loader_train");
  const auto items = make_items(dir.path, 10);
  auto train_options = [](int workers, uint64_t seed) {
    vision::LoaderOptions o = vision::train_loader_options(kSide, 4, seed);
    o.workers = workers;
    return o;
  };
  DataLoader serial(items, train_options(0, 7));
  CHECK(serial.size() == 2);  // 10 // 4
  const std::vector<Batch> epoch0 = epoch(serial, 0), epoch1 = epoch(serial, 1);
  REQUIRE(epoch0.size() == 2);
  REQUIRE(epoch1.size() == 2);
  CHECK(epoch0[1].size() == 4);

  // The order is the epoch's shuffle; each item's crop is its own random position.
  const std::vector<int64_t> order = vision::epoch_order(10, true, 7, 0);
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == vision::epoch_order(10, false, 7, 0));  // a permutation of 0..9
  CHECK(order != sorted);
  CHECK(order != vision::epoch_order(10, true, 7, 1));  // reshuffled each epoch
  CHECK(order != vision::epoch_order(10, true, 8, 0));  // another seed, another order
  int off_centre = 0;
  for (int64_t i = 0; i < 8; ++i) {
    const Batch& batch = epoch0[size_t(i / 4)];
    const int64_t item = order[size_t(i)];
    CHECK(batch.items[size_t(i % 4)] == item);
    const vision::CropPosition position = vision::item_random(7, 0, item).crop;
    const Tensor expected = expected_item(items[size_t(item)].path, position);
    CHECK(to_vector<float>(item_of(batch, i % 4)) == to_vector<float>(expected));
    off_centre += to_vector<float>(expected) != to_vector<float>(expected_item(items[size_t(item)].path));
  }
  CHECK(off_centre > 0);  // some crops are not the centre one

  for (int workers : {1, 2}) {
    INFO("workers: ", workers);
    DataLoader threaded(items, train_options(workers, 7));
    CHECK(same_batches(epoch(threaded, 0), epoch0));
    CHECK(same_batches(epoch(threaded, 1), epoch1));
    CHECK(same_batches(epoch(threaded, 0), epoch0));  // an epoch can be replayed
  }
  DataLoader other_seed(items, train_options(2, 8));
  CHECK(!same_batches(epoch(other_seed, 0), epoch0));
}

TEST_CASE("epoch_order and item_random are uniform enough to be fair") {
  // Fisher-Yates on 4 items: each item lands first in about 1/4 of 4000 epochs (sd ~27).
  std::map<int64_t, int> first;
  for (int64_t e = 0; e < 4000; ++e) first[vision::epoch_order(4, true, 11, e)[0]] += 1;
  for (int64_t item = 0; item < 4; ++item) CHECK(std::abs(first[item] - 1000) < 150);
  double sum_x = 0, sum_y = 0;
  int flips = 0;
  for (int64_t i = 0; i < 10000; ++i) {
    const vision::ItemRandom r = vision::item_random(3, 2, i);
    CHECK((r.crop.x >= 0 && r.crop.x < 1 && r.crop.y >= 0 && r.crop.y < 1));
    sum_x += r.crop.x, sum_y += r.crop.y, flips += r.flip;
  }
  CHECK(std::abs(sum_x / 10000 - 0.5) < 0.02);  // sd of the mean ~0.003
  CHECK(std::abs(sum_y / 10000 - 0.5) < 0.02);
  CHECK(std::abs(flips - 5000) < 300);
}

TEST_CASE("DataLoader: flips (p = 0.5) follow item_random and are off by default") {
  TempDir dir("loader_flip");
  const auto items = make_items(dir.path, 8);
  vision::LoaderOptions o = options(1, 8);
  o.flip = true;
  o.seed = 5;
  DataLoader loader(items, o);
  const Batch batch = loader.one_batch(3);
  int flipped = 0;
  for (int64_t i = 0; i < 8; ++i) {
    const bool flip = vision::item_random(5, 3, i).flip;
    flipped += flip;
    CHECK(to_vector<float>(item_of(batch, i)) == to_vector<float>(expected_item(items[size_t(i)].path, {}, flip)));
  }
  CHECK(flipped > 0);
  CHECK(flipped < 8);
}

TEST_CASE("DataLoader: bad files are skipped with one warning each, the batch filled from the next items") {
  TempDir dir("loader_bad");
  auto items = make_items(dir.path, 8);
  const std::string good_png = read_file(items[1].path, "test");
  const std::string jpeg = read_file(std::string(EMBER_TEST_DATA) + "/images/photo_120x90.jpg", "test");
  auto bad = [&](const std::string& name, const std::string& bytes) {
    const std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  };
  // Between the good items: a zero-byte file, HTML saved as .jpg, a truncated PNG and JPEG, a missing file.
  items.insert(items.begin() + 1, {bad("empty.jpg", ""), 0});
  items.insert(items.begin() + 3, {bad("page.jpg", "<!DOCTYPE html><html><body>Not Found</body></html>"), 1});
  items.insert(items.begin() + 4, {bad("cut.png", good_png.substr(0, good_png.size() / 2)), 0});
  items.insert(items.begin() + 6, {bad("cut.jpg", jpeg.substr(0, jpeg.size() / 3)), 0});
  items.insert(items.begin() + 7, {dir.file("gone.png"), 1});
  const std::vector<std::string> bad_names = {"empty.jpg", "page.jpg", "cut.png", "cut.jpg", "gone.png"};

  std::vector<std::vector<Batch>> runs;
  for (int workers : {0, 2}) {
    INFO("workers: ", workers);
    std::vector<std::string> warnings;
    vision::LoaderOptions o = options(workers, 3);
    o.warn = [&](const std::string& message) { warnings.push_back(message); };  // called on this thread
    DataLoader loader(items, o);
    const std::vector<Batch> batches = epoch(loader, 0);
    // 13 items, 5 bad: 8 good ones in batches of 3, 3, 2.
    REQUIRE(batches.size() == 3);
    CHECK(batches[0].size() == 3);
    CHECK(batches[2].size() == 2);
    CHECK(batches[0].items == std::vector<int64_t>{0, 2, 5});
    CHECK(loader.skipped_files() == 5);
    REQUIRE(warnings.size() == 5);
    for (size_t k = 0; k < bad_names.size(); ++k) {
      INFO(warnings[k]);
      CHECK(warnings[k].find("skipped '" + dir.file(bad_names[k]) + "'") != std::string::npos);
    }
    CHECK(epoch(loader, 1).size() == 3);  // the next epoch: no new warnings
    CHECK(warnings.size() == 5);
    runs.push_back(batches);
  }
  CHECK(same_batches(runs[0], runs[1]));

  // Nothing loadable at all is an error, not an empty epoch.
  const std::vector<vision::DatasetItem> all_bad = {{dir.file("empty.jpg"), 0}, {dir.file("page.jpg"), 0}};
  vision::LoaderOptions quiet = options(1);
  quiet.warn = [](const std::string&) {};
  DataLoader hopeless(all_bad, quiet);
  hopeless.start_epoch(0);
  check_throws([&] { hopeless.next(); }, {"none of the 2 files", "empty.jpg"});
}

TEST_CASE("DataLoader: workers prefetch a bounded window and stop cleanly mid-epoch") {
  TempDir dir("loader_threads");
  const auto items = make_items(dir.path, 24);
  const int threads_before = thread_count();
  auto loader = std::make_unique<DataLoader>(items, [] {
    vision::LoaderOptions o = options(2, 4);
    o.prefetch_batches = 1;
    return o;
  }());
  CHECK(thread_count() == threads_before + 2);
  loader->start_epoch(0);
  // Without any next(), the workers decode the first batch (4 items), and no more.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (loader->prefetched() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(loader->prefetched() == 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(loader->prefetched() == 4);
  REQUIRE(loader->next().has_value());

  // Destroy it with the epoch half done: it must return (not hang) and leave no thread behind.
  std::atomic<bool> destroyed{false};
  std::thread destroyer([&] {
    loader.reset();
    destroyed = true;
  });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!destroyed && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  REQUIRE_MESSAGE(destroyed, "the DataLoader's destructor hangs");
  destroyer.join();
  CHECK(thread_count() == threads_before);
}

TEST_CASE("DataLoader: bad options are errors") {
  check_throws([] { DataLoader({}, options(0, 0)); }, {"batch size", "positive"});
  vision::LoaderOptions o = options(0);
  o.size = 0;
  check_throws([&] { DataLoader({}, o); }, {"image size", "positive"});
  DataLoader empty_loader({}, options(0));
  check_throws([&] { empty_loader.next(); }, {"start_epoch"});
  check_throws([&] { empty_loader.one_batch(); }, {"fewer than one batch"});
}

TEST_CASE("show_batch: fastai's grid as a PNG, images decoded back exactly") {
  TempDir dir("show_batch");
  const auto items = make_items(dir.path, 10);
  vision::LoaderOptions o = vision::train_loader_options(kSide, 8, 1);
  o.workers = 1;
  o.keep_images = true;
  DataLoader loader(items, o);
  Batch batch = loader.one_batch();
  REQUIRE(batch.images.size() == 8);
  // x decoded (x * std + mean) * 255 gives the kept uint8 crops back.
  Batch without_images = batch;
  without_images.images.clear();
  const std::vector<Image> decoded = vision::batch_images(without_images);
  for (size_t i = 0; i < 8; ++i) CHECK(decoded[i].pixels == batch.images[i].pixels);

  // The size from the PNG's IHDR chunk: width and height as big-endian uint32 at bytes 16 and 20.
  auto png_size = [](const std::string& path) {
    const std::string bytes = read_file(path, "test");
    REQUIRE(bytes.size() > 24);
    CHECK(bytes.substr(1, 3) == "PNG");
    auto be32 = [&](size_t at) {
      return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
             (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
    };
    return std::pair<uint32_t, uint32_t>{be32(16), be32(20)};
  };
  const std::vector<std::string> vocab = {"a", "b"};
  vision::show_batch(batch, vocab, dir.file("eight.png"));  // 2 x 4 cells of 3 inches at 100 dpi
  CHECK(png_size(dir.file("eight.png")) == std::pair<uint32_t, uint32_t>{1200, 600});
  vision::show_batch(without_images, vocab, dir.file("three.png"), 3);  // 1 x 3
  CHECK(png_size(dir.file("three.png")) == std::pair<uint32_t, uint32_t>{900, 300});
  check_throws([&] { vision::show_batch(batch, {"a"}, dir.file("bad.png")); }, {"outside the 1-class vocab"});
  CHECK(!fs::exists(dir.file("bad.png")));
}

#ifndef EMBER_HAVE_CUDA
TEST_CASE("DataLoader: pin_memory in a build without CUDA is an error that says so") {
  vision::LoaderOptions options = vision::valid_loader_options(8, 2);
  options.pin_memory = true;
  CHECK_THROWS_WITH_AS(vision::DataLoader({}, options),
                       doctest::Contains("pin_memory needs a build of Ember with CUDA"), ember::Error);
}
#endif
