// Batches of images for training: fastai's DataLoader over a FolderDataset, with worker threads
// that decode and transform the next items while the training step runs.
//
//   auto data = vision::FolderDataset::from_folder("images");
//   vision::DataLoader train(data.train, vision::train_loader_options(/*size=*/512, /*bs=*/8, seed));
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     train.start_epoch(epoch);
//     while (std::optional<vision::Batch> batch = train.next()) step(batch->x, batch->y);
//   }
//
// One item: load_image (PIL's convert("RGB")), resize_crop (fastai's Resize, augment.h; a random
// crop with random_crop, else the centre one), a horizontal flip with probability 0.5 when `flip`
// is on, then x / 255 and (x - mean) / std in float32 (fastai's IntToFloatTensor and Normalize).
// A batch is x: float32 (N, 3, size, size), y: int64 (N,) labels, and which items they were.
//
// Order and randomness: an epoch's order is a Fisher-Yates shuffle of 0..N-1 (or 0..N-1 without
// shuffle), and an item's crop and flip are drawn from Philox, all as pure functions of (seed,
// epoch, item) (epoch_order, item_random). So the same seed gives the same batches with 0, 1 or 8
// workers, whatever the threads' timing, and each epoch reshuffles.
//
// Workers (0: everything on the calling thread) claim items in epoch order, at most
// prefetch_batches * batch_size items ahead of the consumer, and next() assembles them in order.
// A file that fails to load (empty, not an image, truncated) is skipped: one warning (options.warn,
// default a line on stderr) the first time, the batch is filled from the next items, and
// skipped_files() counts it. So an epoch may hold fewer batches than size() says. An epoch in which
// every file fails throws. Destroying the loader mid-epoch stops and joins its threads.
// start_epoch, next and one_batch belong to one thread (the training loop's).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "vision/augment.h"
#include "vision/folder_dataset.h"
#include "vision/image.h"
#include "vision/transforms.h"

namespace ember::vision {

struct LoaderOptions {
  int64_t size = 224;        // items become size x size (fastai's Resize(size))
  int64_t batch_size = 8;    // fastai's bs
  bool shuffle = false;      // a new order each epoch
  bool drop_last = false;    // drop the last, incomplete batch
  bool random_crop = false;  // random crop positions (train) instead of the centre (valid)
  bool flip = false;         // horizontal flips with p = 0.5 (fastai's FlipItem; off in from_folder)
  uint64_t seed = 0;
  int workers = -1;          // threads decoding ahead; -1: default_workers(); 0: none
  int prefetch_batches = 2;  // how far ahead the workers may run, in batches
  bool normalize = true;     // (x - mean) / std after x / 255
  std::array<float, 3> mean = kImagenetMean, std = kImagenetStd;
  bool keep_images = false;  // also return the uint8 crops (Batch::images), e.g. for show_batch
  bool pin_memory = false;   // x and y in page-locked memory: their copies to a GPU run asynchronously (CUDA builds)
  std::function<void(const std::string&)> warn{};  // empty: "warning: ..." lines on stderr
};

// fastai's from_folder loaders: train shuffles, drops the last batch and crops at random; valid
// does none of that.
LoaderOptions train_loader_options(int64_t size, int64_t batch_size = 8, uint64_t seed = 0);
LoaderOptions valid_loader_options(int64_t size, int64_t batch_size = 8);

// min(2, the machine's cores): one thread decodes while another runs the step.
int default_workers();

struct Batch {
  Tensor x;                        // float32 (N, 3, size, size)
  Tensor y;                        // int64 (N,)
  std::vector<int64_t> items;      // indices into the loader's items
  std::vector<std::string> paths;  // their files
  std::vector<Image> images;       // the uint8 crops, with keep_images
  int64_t size() const { return int64_t(items.size()); }
};

// The order of an epoch: 0..n-1, Fisher-Yates shuffled by Philox(seed, epoch) when `shuffle`.
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);

// An item's random crop position (two uniforms in [0, 1)) and flip coin for an epoch.
struct ItemRandom {
  CropPosition crop;
  bool flip = false;
};
ItemRandom item_random(uint64_t seed, int64_t epoch, int64_t item);

class DataLoader {
 public:
  DataLoader(std::vector<DatasetItem> items, LoaderOptions options);
  ~DataLoader();  // stops and joins the workers, even mid-epoch
  DataLoader(DataLoader&&) noexcept;
  DataLoader& operator=(DataLoader&&) noexcept;
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Batches per epoch when no file fails (fastai's len(dl)): N / bs with drop_last, else ceil.
  int64_t size() const;
  const std::vector<DatasetItem>& items() const;
  const LoaderOptions& options() const;
  int workers() const;

  // Begins (or restarts) an epoch; the workers start decoding its first items at once.
  void start_epoch(int64_t epoch);
  // The epoch's next batch, or nothing at its end.
  std::optional<Batch> next();
  // fastai's one_batch(): the first batch of `epoch` (restarts the loader there).
  Batch one_batch(int64_t epoch = 0);

  int64_t skipped_files() const;  // distinct files that failed to load so far
  int64_t prefetched() const;     // items decoded and waiting for next()

  struct State;  // shared with the worker threads (data_loader.cpp)

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ember::vision
