// See data_loader.h. The worker protocol, under State::mutex:
//   - start_epoch bumps `generation`, sets the order and resets claimed = consumed = 0;
//   - a worker claims position `claimed` (while claimed < consumed + window), loads that item
//     without the lock, and files the result under its position if the generation is unchanged
//     (a restart or the destructor may have come in between: the result is then dropped);
//   - next() takes the results at positions consumed, consumed + 1, ... in order, waiting for each.
// So threads only decide *when* an item is decoded, never *which* item lands where.
#include "vision/data_loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "tensor/creation.h"
#ifdef EMBER_HAVE_CUDA
#include "cuda/cuda_api.h"  // pin_memory
#endif
#include "tensor/error.h"
#include "tensor/philox.h"

namespace ember::vision {

LoaderOptions train_loader_options(int64_t size, int64_t batch_size, uint64_t seed) {
  LoaderOptions options;
  options.size = size;
  options.batch_size = batch_size;
  options.seed = seed;
  options.shuffle = options.drop_last = options.random_crop = true;
  return options;
}

LoaderOptions valid_loader_options(int64_t size, int64_t batch_size) {
  LoaderOptions options;
  options.size = size;
  options.batch_size = batch_size;
  return options;
}

int default_workers() { return int(std::clamp(std::thread::hardware_concurrency(), 1u, 2u)); }

namespace {

// Independent Philox streams (different keys) for the shuffle, the crops and the flips. The
// counter is (epoch << 40) | index: up to 2^24 epochs of up to 2^40 items.
constexpr uint64_t kShuffleStream = 0x53485546464C4500ULL, kCropStream = 0x43524F5000000000ULL,
                   kFlipStream = 0x464C495000000000ULL;

uint64_t counter_of(int64_t epoch, int64_t index) {
  EMBER_CHECK(epoch >= 0 && epoch < (int64_t(1) << 24) && index >= 0 && index < (int64_t(1) << 40),
              "data loader: epoch " + std::to_string(epoch) + " or item " + std::to_string(index) + " out of range");
  return (uint64_t(epoch) << 40) | uint64_t(index);
}

// One item after loading: the network's input (3, size, size) or why it failed.
struct Loaded {
  bool ok = false;
  Tensor chw;   // float32 (3, size, size), from Ember's caching allocator (no page faults per item)
  Image image;  // with keep_images
  std::string error;
};

// What a pixel level v of channel c becomes, as image_to_tensor and normalize (transforms.h)
// compute it in float32: x = v / 255, then (x - mean[c]) / std[c] when normalising.
std::array<std::array<float, 256>, 3> make_pixel_values(const LoaderOptions& o) {
  std::array<std::array<float, 256>, 3> values;
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) {
      const float x = float(v) / 255.0f;
      values[size_t(c)][size_t(v)] = o.normalize ? (x - o.mean[size_t(c)]) / o.std[size_t(c)] : x;
    }
  return values;
}

}  // namespace

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  if (!shuffle) return order;
  // Fisher-Yates as Python's random.shuffle: for i = n-1 .. 1, swap i with j uniform in [0, i].
  // j = r mod (i + 1) for a 64-bit r; its bias, below (i + 1) / 2^64, is far below anything visible.
  for (int64_t i = n - 1; i > 0; --i) {
    const PhiloxOutput r = philox4x32(seed ^ kShuffleStream, counter_of(epoch, i));
    const uint64_t bits = (uint64_t(r.word[0]) << 32) | r.word[1];
    std::swap(order[size_t(i)], order[size_t(bits % uint64_t(i + 1))]);
  }
  return order;
}

ItemRandom item_random(uint64_t seed, int64_t epoch, int64_t item) {
  const uint64_t counter = counter_of(epoch, item);
  const PhiloxOutput crop = philox4x32(seed ^ kCropStream, counter);
  const PhiloxOutput flip = philox4x32(seed ^ kFlipStream, counter);
  ItemRandom out;
  out.crop = {philox_uniform_double(crop.word[0], crop.word[1]), philox_uniform_double(crop.word[2], crop.word[3])};
  out.flip = philox_uniform_double(flip.word[0], flip.word[1]) < 0.5;
  return out;
}

struct DataLoader::State {
  std::vector<DatasetItem> items;
  LoaderOptions options;
  int64_t window = 0;  // how many positions the workers may run ahead of the consumer

  mutable std::mutex mutex;
  std::condition_variable work_ready, result_ready;
  bool stop = false, started = false;
  uint64_t generation = 0;
  int64_t epoch = 0, claimed = 0, consumed = 0, loaded_in_epoch = 0;
  std::vector<int64_t> order;
  std::unordered_map<int64_t, Loaded> results;  // by position in `order`
  std::vector<std::string> failure;             // per item: why it failed ("" = not known to fail)
  int64_t skipped = 0;
  std::vector<std::thread> threads;
  std::array<std::array<float, 256>, 3> pixel_values{};  // make_pixel_values(options), set with options

  // Decode and transform one item; never throws (a failure is a result).
  Loaded load(int64_t item, int64_t epoch_of_item) const {
    Loaded out;
    try {
      const LoaderOptions& o = options;
      const ItemRandom random = item_random(o.seed, epoch_of_item, item);
      Image image = resize_crop(load_image(items[size_t(item)].path), o.size, o.size,
                                o.random_crop ? random.crop : CropPosition{});
      if (o.flip && random.flip) image = flip_horizontal(image);
      // (3, size, size) planes of value[c][pixel]: the float32 x / 255, then (x - mean) / std, of
      // each of the 256 levels, worked out once (pixel_values) and looked up here.
      const int64_t plane = image.width * image.height;
      out.chw = empty({3, image.height, image.width});
      const uint8_t* pixels = image.pixels.data();
      for (int c = 0; c < 3; ++c) {
        const float* value = pixel_values[size_t(c)].data();
        float* out_plane = out.chw.data<float>() + c * plane;
        for (int64_t p = 0; p < plane; ++p) out_plane[p] = value[pixels[p * 3 + c]];
      }
      if (o.keep_images) out.image = std::move(image);
      out.ok = true;
    } catch (const std::exception& e) {
      out.chw = Tensor();
      out.error = e.what();
    }
    return out;
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work_ready.wait(
          lock, [&] { return stop || (started && claimed < int64_t(order.size()) && claimed < consumed + window); });
      if (stop) return;
      const int64_t position = claimed++, item = order[size_t(position)], item_epoch = epoch;
      const uint64_t claimed_generation = generation;
      Loaded result;
      if (!failure[size_t(item)].empty()) {  // known to fail: do not decode it again
        result.error = failure[size_t(item)];
      } else {
        lock.unlock();
        result = load(item, item_epoch);
        lock.lock();
      }
      if (generation == claimed_generation) {
        results[position] = std::move(result);
        result_ready.notify_all();
      }
    }
  }

  // The result at position `consumed` (waiting for a worker, or loading it here without workers).
  Loaded take() {
    std::unique_lock<std::mutex> lock(mutex);
    const int64_t position = consumed++, item = order[size_t(position)];
    if (threads.empty()) {
      if (!failure[size_t(item)].empty()) return Loaded{false, {}, {}, failure[size_t(item)]};
      lock.unlock();
      return load(item, epoch);
    }
    work_ready.notify_all();  // the window moved on
    result_ready.wait(lock, [&] { return results.count(position) > 0; });
    Loaded result = std::move(results.at(position));
    results.erase(position);
    return result;
  }

  void warn(const std::string& message) const {
    if (options.warn)
      options.warn(message);
    else
      std::fprintf(stderr, "warning: %s\n", message.c_str());
  }
};

DataLoader::DataLoader(std::vector<DatasetItem> items, LoaderOptions options) : state_(std::make_unique<State>()) {
  EMBER_CHECK(options.batch_size > 0,
              "DataLoader: the batch size must be positive, got " + std::to_string(options.batch_size));
  EMBER_CHECK(options.size > 0, "DataLoader: the image size must be positive, got " + std::to_string(options.size));
  EMBER_CHECK(options.prefetch_batches > 0,
              "DataLoader: prefetch_batches must be positive, got " + std::to_string(options.prefetch_batches));
  if (options.workers < 0) options.workers = default_workers();
#ifndef EMBER_HAVE_CUDA
  EMBER_CHECK(!options.pin_memory,
              "DataLoader: pin_memory needs a build of Ember with CUDA (this one has no CUDA backend)");
#endif
  State& s = *state_;
  s.items = std::move(items);
  s.options = std::move(options);
  s.pixel_values = make_pixel_values(s.options);
  s.window = s.options.prefetch_batches * s.options.batch_size;
  s.failure.assign(s.items.size(), "");
  try {
    for (int i = 0; i < s.options.workers; ++i) s.threads.emplace_back([state = state_.get()] { state->work(); });
  } catch (...) {  // the system refused a thread: stop the ones that started before rethrowing
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.stop = true;
    }
    s.work_ready.notify_all();
    for (std::thread& thread : s.threads) thread.join();
    throw;
  }
}

DataLoader::~DataLoader() {
  if (!state_) return;  // moved from
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
    ++state_->generation;  // whatever is being decoded now is dropped
  }
  state_->work_ready.notify_all();
  for (std::thread& thread : state_->threads) thread.join();
}

DataLoader::DataLoader(DataLoader&&) noexcept = default;
DataLoader& DataLoader::operator=(DataLoader&& other) noexcept {
  if (this != &other) {
    DataLoader dying(std::move(*this));  // stops this loader's workers
    state_ = std::move(other.state_);
  }
  return *this;
}

int64_t DataLoader::size() const {
  const int64_t n = int64_t(state_->items.size()), bs = state_->options.batch_size;
  return state_->options.drop_last ? n / bs : (n + bs - 1) / bs;
}
const std::vector<DatasetItem>& DataLoader::items() const { return state_->items; }
const LoaderOptions& DataLoader::options() const { return state_->options; }
int DataLoader::workers() const { return int(state_->threads.size()); }

void DataLoader::start_epoch(int64_t epoch) {
  State& s = *state_;
  counter_of(epoch, 0);  // checks the epoch's range once, here, rather than as a failure per item
  std::vector<int64_t> order = epoch_order(int64_t(s.items.size()), s.options.shuffle, s.options.seed, epoch);
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    ++s.generation;
    s.order = std::move(order);
    s.epoch = epoch;
    s.claimed = s.consumed = s.loaded_in_epoch = 0;
    s.results.clear();
    s.started = true;
  }
  s.work_ready.notify_all();
}

std::optional<Batch> DataLoader::next() {
  State& s = *state_;
  EMBER_CHECK(s.started, "DataLoader::next: call start_epoch(epoch) first");
  const int64_t bs = s.options.batch_size, total = int64_t(s.order.size());
  std::vector<int64_t> taken;
  std::vector<Loaded> loaded;
  // Only this thread moves `consumed` and `order`, so reading them here without the lock is safe.
  while (int64_t(taken.size()) < bs && s.consumed < total) {
    const int64_t item = s.order[size_t(s.consumed)];
    Loaded result = s.take();
    if (!result.ok) {
      std::lock_guard<std::mutex> lock(s.mutex);
      if (s.failure[size_t(item)].empty()) {
        s.failure[size_t(item)] = result.error;
        ++s.skipped;
        s.warn("skipped '" + s.items[size_t(item)].path + "': " + result.error);
      }
      continue;
    }
    ++s.loaded_in_epoch;
    taken.push_back(item);
    loaded.push_back(std::move(result));
  }
  if (s.consumed >= total && total > 0 && s.loaded_in_epoch == 0)
    throw Error("DataLoader: none of the " + std::to_string(total) + " files could be loaded (the first: '" +
                s.items[size_t(s.order[0])].path + "': " + s.failure[size_t(s.order[0])] + ")");
  if (taken.empty() || (s.options.drop_last && int64_t(taken.size()) < bs)) return std::nullopt;

  const int64_t n = int64_t(taken.size()), side = s.options.size, per_item = 3 * side * side;
  Batch batch;
  batch.x = empty({n, 3, side, side});
  std::vector<int64_t> labels;
  float* x = batch.x.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(x + i * per_item, loaded[size_t(i)].chw.data<float>(), size_t(per_item) * sizeof(float));
    const DatasetItem& item = s.items[size_t(taken[size_t(i)])];
    labels.push_back(item.label);
    batch.paths.push_back(item.path);
    if (s.options.keep_images) batch.images.push_back(std::move(loaded[size_t(i)].image));
  }
  batch.y = from_vector(labels, Shape{n});
  batch.items = std::move(taken);
#ifdef EMBER_HAVE_CUDA
  if (s.options.pin_memory) {  // one more host copy, into page-locked memory (as PyTorch's pin_memory thread)
    batch.x = cuda::pin_memory(batch.x);
    batch.y = cuda::pin_memory(batch.y);
  }
#endif
  return batch;
}

Batch DataLoader::one_batch(int64_t epoch) {
  start_epoch(epoch);
  std::optional<Batch> batch = next();
  EMBER_CHECK(batch.has_value(), "DataLoader::one_batch: fewer than one batch of images in epoch " +
                                     std::to_string(epoch) + " (" + std::to_string(state_->items.size()) + " items, " +
                                     std::to_string(skipped_files()) + " of them unreadable, batch size " +
                                     std::to_string(state_->options.batch_size) + ")");
  return std::move(*batch);
}

int64_t DataLoader::skipped_files() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->skipped;
}

int64_t DataLoader::prefetched() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return int64_t(state_->results.size());
}

}  // namespace ember::vision
