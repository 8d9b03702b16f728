// vision/fashion_mnist.h: IDX files made here (a gzip writer of its own: stored deflate blocks and a
// CRC-32, independent of zlib), every kind of broken file, the export's layout, manifests, pixels
// and reruns; and, where Debian's dataset-fashion-mnist is installed, the real t10k file against
// values read with Python's gzip + numpy.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tensor/io/file.h"
#include "tests/test_util.h"
#include "vision/fashion_mnist.h"
#include "vision/image.h"
#include "vision/image_manifest.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

uint32_t crc32(const std::string& bytes) {  // the gzip/PNG CRC: reflected polynomial 0xEDB88320
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string little_endian32(uint32_t v) { return {char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; }
std::string big_endian32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

// RFC 1952 gzip around RFC 1951 "stored" blocks (no compression), each at most 65535 bytes.
std::string gzip(const std::string& data) {
  std::string out("\x1f\x8b\x08\0\0\0\0\0\0\xff", 10);
  size_t at = 0;
  do {
    const size_t n = std::min<size_t>(65535, data.size() - at);
    out += char(at + n == data.size() ? 1 : 0);  // BFINAL, BTYPE = 00
    out += {char(n), char(n >> 8), char(~n), char(~n >> 8)};
    out += data.substr(at, n);
    at += n;
  } while (at < data.size());
  return out + little_endian32(crc32(data)) + little_endian32(uint32_t(data.size()));
}

// Image i of a fake set: pixel p = (i * 7 + p) % 256, label i % 10.
std::string idx_images(uint32_t count, uint32_t magic = 0x803) {
  std::string bytes = big_endian32(magic) + big_endian32(count) + big_endian32(28) + big_endian32(28);
  for (uint32_t i = 0; i < count; ++i)
    for (uint32_t p = 0; p < 784; ++p) bytes += char((i * 7 + p) % 256);
  return bytes;
}
std::string idx_labels(uint32_t count) {
  std::string bytes = big_endian32(0x801) + big_endian32(count);
  for (uint32_t i = 0; i < count; ++i) bytes += char(i % 10);
  return bytes;
}

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A fake installation: 40 training images (4 per class), 20 test images (2 per class).
struct FakeSource {
  TempDir dir{"fmnist_source"};
  FakeSource() {
    write(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(40)));
    write(dir.file("train-labels-idx1-ubyte.gz"), gzip(idx_labels(40)));
    write(dir.file("t10k-images-idx3-ubyte.gz"), gzip(idx_images(20)));
    write(dir.file("t10k-labels-idx1-ubyte.gz"), gzip(idx_labels(20)));
  }
};

std::vector<std::string> png_files(const fs::path& folder) {
  std::vector<std::string> names;
  if (!fs::exists(folder)) return names;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".png") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("fashion-mnist: class names, the folder names and Fashion-MNIST's own, any case") {
  CHECK(vision::fashion_mnist_classes().size() == 10);
  CHECK(vision::fashion_mnist_label("pullover") == 2);
  CHECK(vision::fashion_mnist_label("COAT") == 4);
  CHECK(vision::fashion_mnist_label("T-shirt/top") == 0);
  CHECK(vision::fashion_mnist_label("Ankle boot") == 9);
  CHECK(vision::fashion_mnist_label("ankle_boot") == 9);
  check_throws([] { vision::fashion_mnist_label("jacket"); }, {"unknown class 'jacket'", "pullover", "ankle_boot"});
}

TEST_CASE("fashion-mnist: gunzip and IDX parsing refuse broken files with the file's name") {
  CHECK(vision::gunzip(gzip("hello"), "x.gz") == "hello");
  const std::string big(200000, 'a');
  CHECK(vision::gunzip(gzip(big), "big.gz") == big);
  const std::string whole = gzip(idx_images(3));
  check_throws([&] { vision::gunzip(whole.substr(0, whole.size() - 100), "cut.gz"); }, {"cut.gz", "truncated"});
  check_throws([] { vision::gunzip("not gzip at all", "plain.gz"); }, {"plain.gz", "not a valid gzip"});

  const std::string images = idx_images(3), labels = idx_labels(3);
  const vision::FashionMnist ok = vision::parse_idx_pair(images, labels, "i", "l");
  CHECK(ok.count == 3);
  CHECK(ok.pixels.size() == 3 * 784);
  CHECK(ok.pixels[784 + 5] == (7 + 5) % 256);
  CHECK(ok.labels[2] == 2);
  check_throws([&] { vision::parse_idx_pair(idx_images(3, 0x801), labels, "img.idx", "l"); },
               {"img.idx", "magic number 0x00000801", "expected 0x00000803"});
  check_throws([&] { vision::parse_idx_pair(images, images, "i", "lab.idx"); }, {"lab.idx", "expected 0x00000801"});
  check_throws([&] { vision::parse_idx_pair(images.substr(0, images.size() - 1), labels, "img.idx", "l"); },
               {"img.idx", "truncated"});
  check_throws([&] { vision::parse_idx_pair(images, idx_labels(2), "img.idx", "lab.idx"); },
               {"lab.idx has 2 labels but img.idx has 3 images"});
  std::string bad_label = labels;
  bad_label[9] = char(12);
  check_throws([&] { vision::parse_idx_pair(images, bad_label, "i", "lab.idx"); }, {"lab.idx", "label 12", "0..9"});
  check_throws([&] { vision::parse_idx_pair("", labels, "img.idx", "l"); }, {"img.idx", "too short"});
  check_throws([] { vision::load_fashion_mnist("/nonexistent/fm", "train"); },
               {"Fashion-MNIST is not installed: /nonexistent/fm/train-images-idx3-ubyte.gz missing", "scripts/setup",
                "dataset-fashion-mnist"});
}

TEST_CASE("fashion-mnist: select_class_images takes the first N, or a seeded sample") {
  std::vector<uint8_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(uint8_t(i % 10));
  CHECK(vision::select_class_images(labels, 3, 4, -1, "f") == std::vector<int64_t>{3, 13, 23, 33});
  const auto sample = vision::select_class_images(labels, 3, 4, 7, "f");
  CHECK(sample == vision::select_class_images(labels, 3, 4, 7, "f"));
  CHECK(sample != vision::select_class_images(labels, 3, 4, 8, "f"));
  CHECK(std::is_sorted(sample.begin(), sample.end()));
  CHECK(std::adjacent_find(sample.begin(), sample.end()) == sample.end());
  for (int64_t i : sample) CHECK(labels[size_t(i)] == 3);
  check_throws([&] { vision::select_class_images(labels, 4, 11, -1, "train.gz"); },
               {"asked for 11 'coat' images but train.gz has 10"});
}

TEST_CASE("fashion-mnist: export writes the crawl layout, the manifest and the exact pixels; reruns add nothing") {
  FakeSource source;
  TempDir out("fmnist_out");
  vision::FashionMnistExport options;
  options.source_dir = source.dir.path.string();
  options.out = out.path.string();
  options.classes = {2, 4};
  options.train = 3;
  options.test = 2;
  const vision::ExportCounts counts = vision::export_fashion_mnist(options);
  CHECK(counts.written == 10);
  CHECK(counts.already_there == 0);
  CHECK(out.entries() == std::vector<std::string>{"test", "train"});
  CHECK(png_files(out.path / "train/pullover").size() == 3);
  CHECK(png_files(out.path / "train/coat").size() == 3);
  CHECK(png_files(out.path / "test/coat").size() == 2);

  // Each file is the IDX image its manifest URL names: training coats are images 4, 14, 24.
  vision::ImageManifest manifest((out.path / "train/coat").string());
  REQUIRE(manifest.entries().size() == 3);
  for (int k = 0; k < 3; ++k) {
    const int index = 4 + 10 * k;
    const vision::ManifestEntry* entry =
        manifest.find_url("fashion-mnist:train-images-idx3-ubyte.gz#" + std::to_string(index));
    REQUIRE(entry != nullptr);
    CHECK(entry->status == "ok");
    CHECK(entry->file.size() == 36 + 4);  // <uuid>.png
    const std::string path = (out.path / "train/coat" / entry->file).string();
    CHECK(entry->bytes == int64_t(fs::file_size(path)));
    const vision::Image image = vision::load_image(path);
    REQUIRE(image.width == 28);
    REQUIRE(image.height == 28);
    int64_t mismatches = 0;
    for (int p = 0; p < 784; ++p)
      for (int c = 0; c < 3; ++c) mismatches += image.pixels[size_t(3 * p + c)] != uint8_t((index * 7 + p) % 256);
    CHECK(mismatches == 0);
  }
  CHECK(vision::ImageManifest((out.path / "test/pullover").string())
            .find_url("fashion-mnist:t10k-images-idx3-ubyte.gz#12") != nullptr);

  // A rerun writes nothing; a lost file (an interrupted run) is written again under its old name.
  const vision::ExportCounts again = vision::export_fashion_mnist(options);
  CHECK(again.written == 0);
  CHECK(again.already_there == 10);
  const std::string lost = manifest.entries()[1].file;
  fs::remove(out.path / "train/coat" / lost);
  const vision::ExportCounts repaired = vision::export_fashion_mnist(options);
  CHECK(repaired.written == 1);
  CHECK(fs::exists(out.path / "train/coat" / lost));
  CHECK(png_files(out.path / "train/coat").size() == 3);
}

TEST_CASE("fashion-mnist: asking for more than a class has, or a broken file, writes nothing") {
  FakeSource source;
  TempDir out("fmnist_out");
  vision::FashionMnistExport options;
  options.source_dir = source.dir.path.string();
  options.out = out.path.string();
  options.classes = {2, 4};
  options.train = 3;
  options.test = 3;  // t10k has 2 per class
  check_throws([&] { vision::export_fashion_mnist(options); }, {"asked for 3 'pullover' images", "t10k", "has 2"});
  CHECK(out.entries().empty());
  options.test = 1;
  const std::string labels = read_file(source.dir.file("t10k-labels-idx1-ubyte.gz"), "t");
  write(source.dir.file("t10k-labels-idx1-ubyte.gz"), labels.substr(0, labels.size() / 2));
  check_throws([&] { vision::export_fashion_mnist(options); }, {"t10k-labels-idx1-ubyte.gz", "truncated"});
  CHECK(out.entries().empty());
}

TEST_CASE("fashion-mnist: Debian's t10k file, against Python's gzip + numpy") {
  const std::string dir = vision::kFashionMnistDir;
  if (!fs::exists(dir + "/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: " << dir << " is not installed (scripts/setup installs dataset-fashion-mnist)");
    return;
  }
  const vision::FashionMnist test = vision::load_fashion_mnist(dir, "t10k");
  CHECK(test.count == 10000);
  CHECK(std::vector<uint8_t>(test.labels.begin(), test.labels.begin() + 8) ==
        std::vector<uint8_t>{9, 2, 1, 1, 6, 1, 4, 6});
  std::vector<int> per_class(10, 0);
  for (uint8_t label : test.labels) ++per_class[label];
  CHECK(per_class == std::vector<int>(10, 1000));
  int64_t sum = 0;
  for (int p = 0; p < 784; ++p) sum += test.pixels[size_t(p)];
  CHECK(sum == 33456);  // np.frombuffer(...)[0].sum()
  CHECK(test.pixels[14 * 28 + 14] == 110);
  CHECK(vision::select_class_images(test.labels, 4, 3, -1, "t10k") == std::vector<int64_t>{6, 10, 14});
}
