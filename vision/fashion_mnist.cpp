// See fashion_mnist.h.
#include "vision/fashion_mnist.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <random>

#include "tensor/error.h"
#include "tensor/io/file.h"
#include "vision/dataset_export.h"

#ifdef EMBER_HAVE_ZLIB
#include <zlib.h>
#endif

namespace ember::vision {

namespace fs = std::filesystem;

namespace {

uint32_t big_endian32(std::string_view bytes, size_t at) {
  uint32_t value = 0;
  for (size_t k = 0; k < 4; ++k) value = value << 8 | uint8_t(bytes[at + k]);
  return value;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

std::string data_file(const std::string& dir, const std::string& split, const std::string& kind) {
  return (fs::path(dir) / (split + "-" + kind + "-ubyte.gz")).string();
}

}  // namespace

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"tshirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal", "shirt",   "sneaker",  "bag",   "ankle_boot"};
  return names;
}

int fashion_mnist_label(const std::string& name) {
  const std::string key = lowercase(name);
  const auto& names = fashion_mnist_classes();
  for (size_t i = 0; i < names.size(); ++i)
    if (key == names[i]) return int(i);
  if (key == "t-shirt/top" || key == "t-shirt" || key == "tshirt/top" || key == "top") return 0;
  if (key == "ankle boot" || key == "ankle-boot" || key == "ankleboot") return 9;
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  throw Error("fashion-mnist: unknown class '" + name + "' (the classes are " + known + ")");
}

std::string gunzip(std::string_view bytes, const std::string& source) {
#ifdef EMBER_HAVE_ZLIB
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (CRC-32 and length, which inflate checks).
  EMBER_CHECK(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK, "gunzip: zlib cannot start for '" + source + "'");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = uInt(bytes.size());
  std::string out(std::max<size_t>(bytes.size() * 2, 1024), '\0');
  int status = Z_OK;
  while (status == Z_OK) {
    if (stream.total_out == out.size()) out.resize(out.size() * 2);
    stream.next_out = reinterpret_cast<Bytef*>(&out[stream.total_out]);
    stream.avail_out = uInt(out.size() - stream.total_out);
    status = inflate(&stream, Z_NO_FLUSH);
  }
  const std::string message = stream.msg != nullptr ? stream.msg : "";
  out.resize(stream.total_out);
  inflateEnd(&stream);
  if (status == Z_BUF_ERROR)
    throw Error("gunzip: '" + source + "' is truncated: the gzip stream ends before its end (" +
                std::to_string(bytes.size()) + " bytes read)");
  EMBER_CHECK(status == Z_STREAM_END, "gunzip: '" + source + "' is not a valid gzip file (zlib: " +
                                          (message.empty() ? "error " + std::to_string(status) : message) + ")");
  return out;
#else
  (void)bytes;
  throw Error("gunzip: cannot read '" + source + "': Ember was built without zlib (install zlib1g-dev, scripts/setup)");
#endif
}

FashionMnist parse_idx_pair(std::string_view images, std::string_view labels, const std::string& images_name,
                            const std::string& labels_name) {
  EMBER_CHECK(images.size() >= 16, images_name + ": " + std::to_string(images.size()) +
                                       " bytes, too short for an IDX image header (16 bytes)");
  EMBER_CHECK(labels.size() >= 8, labels_name + ": " + std::to_string(labels.size()) +
                                      " bytes, too short for an IDX label header (8 bytes)");
  EMBER_CHECK(big_endian32(images, 0) == 0x803, images_name + ": magic number " + hex32(big_endian32(images, 0)) +
                                                    ", expected 0x00000803 (IDX unsigned bytes, 3 dimensions)");
  EMBER_CHECK(big_endian32(labels, 0) == 0x801, labels_name + ": magic number " + hex32(big_endian32(labels, 0)) +
                                                    ", expected 0x00000801 (IDX unsigned bytes, 1 dimension)");
  FashionMnist data;
  data.count = big_endian32(images, 4);
  data.rows = big_endian32(images, 8);
  data.cols = big_endian32(images, 12);
  const int64_t label_count = big_endian32(labels, 4);
  EMBER_CHECK(data.rows == 28 && data.cols == 28, images_name + ": images of " + std::to_string(data.rows) + "x" +
                                                      std::to_string(data.cols) + ", expected 28x28");
  const int64_t expected_images = 16 + data.count * data.rows * data.cols, expected_labels = 8 + label_count;
  EMBER_CHECK(int64_t(images.size()) == expected_images,
              images_name + ": " + std::to_string(images.size()) + " bytes, but its header (" +
                  std::to_string(data.count) + " images of 28x28) means " + std::to_string(expected_images) +
                  (int64_t(images.size()) < expected_images ? " (truncated)" : ""));
  EMBER_CHECK(int64_t(labels.size()) == expected_labels,
              labels_name + ": " + std::to_string(labels.size()) + " bytes, but its header (" +
                  std::to_string(label_count) + " labels) means " + std::to_string(expected_labels) +
                  (int64_t(labels.size()) < expected_labels ? " (truncated)" : ""));
  EMBER_CHECK(label_count == data.count, labels_name + " has " + std::to_string(label_count) + " labels but " +
                                             images_name + " has " + std::to_string(data.count) + " images");
  data.pixels.assign(images.begin() + 16, images.end());
  data.labels.assign(labels.begin() + 8, labels.end());
  for (size_t i = 0; i < data.labels.size(); ++i)
    EMBER_CHECK(data.labels[i] < 10, labels_name + ": label " + std::to_string(data.labels[i]) + " at index " +
                                         std::to_string(i) + ", expected 0..9");
  return data;
}

FashionMnist load_fashion_mnist(const std::string& dir, const std::string& split) {
  EMBER_CHECK(split == "train" || split == "t10k", "fashion-mnist: split '" + split + "', expected train or t10k");
  const std::string images = data_file(dir, split, "images-idx3"), labels = data_file(dir, split, "labels-idx1");
  for (const std::string& path : {images, labels})
    EMBER_CHECK(fs::exists(path), "Fashion-MNIST is not installed: " + path +
                                      " missing; run scripts/setup (Debian package dataset-fashion-mnist)");
  return parse_idx_pair(gunzip(read_file(images, "fashion-mnist"), images),
                        gunzip(read_file(labels, "fashion-mnist"), labels), images, labels);
}

std::vector<int64_t> select_class_images(const std::vector<uint8_t>& labels, int label, int64_t count, int64_t seed,
                                         const std::string& source) {
  std::vector<int64_t> indices;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == label) indices.push_back(int64_t(i));
  EMBER_CHECK(count <= int64_t(indices.size()), "fashion-mnist: asked for " + std::to_string(count) + " '" +
                                                    fashion_mnist_classes()[size_t(label)] + "' images but " + source +
                                                    " has " + std::to_string(indices.size()));
  if (seed >= 0) {
    std::mt19937_64 rng(uint64_t(seed) + uint64_t(label));
    for (size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng() % i]);
    indices.resize(size_t(count));
    std::sort(indices.begin(), indices.end());
  }
  indices.resize(size_t(count));
  return indices;
}

ExportCounts export_fashion_mnist(const FashionMnistExport& options,
                                  const std::function<void(int64_t, int64_t)>& on_progress) {
  EMBER_CHECK(!options.classes.empty(), "fashion-mnist: no classes chosen");
  EMBER_CHECK(options.train >= 0 && options.test >= 0, "fashion-mnist: negative image counts");
  struct Split {
    const char* folder;
    const char* file;
    int64_t per_class;
  };
  const Split splits[] = {{"train", "train", options.train}, {"test", "t10k", options.test}};
  // Read both files and choose every image before writing any, so that a bad count or a broken file
  // stops the export before it has written half a dataset.
  FashionMnist data[2];
  std::vector<std::vector<int64_t>> chosen[2];
  for (int s = 0; s < 2; ++s) {
    if (splits[s].per_class == 0) continue;
    data[s] = load_fashion_mnist(options.source_dir, splits[s].file);
    for (int label : options.classes)
      chosen[s].push_back(select_class_images(data[s].labels, label, splits[s].per_class, options.seed,
                                              std::string(splits[s].file) + "-images-idx3-ubyte.gz"));
  }
  const int64_t total = int64_t(options.classes.size()) * (options.train + options.test);
  const int64_t image_size = 28 * 28;
  ExportCounts counts;
  int64_t done = 0;
  for (int s = 0; s < 2; ++s) {
    for (size_t c = 0; c < chosen[s].size(); ++c) {
      const std::string& name = fashion_mnist_classes().at(size_t(options.classes[c]));
      LabelFolderExport folder((fs::path(options.out) / splits[s].folder / name).string(), "ember data fashion-mnist");
      for (int64_t index : chosen[s][c]) {
        const std::string url =
            "fashion-mnist:" + std::string(splits[s].file) + "-images-idx3-ubyte.gz#" + std::to_string(index);
        if (folder.has(url)) {
          ++counts.already_there;
        } else {
          Image image(28, 28);  // grey -> RGB, as PIL's convert("RGB")
          const uint8_t* grey = &data[s].pixels[size_t(index * image_size)];
          for (int64_t p = 0; p < image_size; ++p) std::fill_n(&image.pixels[size_t(3 * p)], 3, grey[p]);
          folder.add(url, std::move(image));
          if (folder.pending() >= 256) folder.flush();
        }
        if (on_progress) on_progress(++done, total);
      }
      folder.flush();
      counts.written += folder.written();
    }
  }
  return counts;
}

}  // namespace ember::vision
