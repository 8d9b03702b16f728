// vision::DataLoader with pin_memory (for --device cuda): the same batches as without it, in
// page-locked memory, and they reach the GPU intact.
#include <doctest/doctest.h>

#include <filesystem>

#include "autograd/ops.h"
#include "tests/test_util.h"
#include "vision/data_loader.h"
#include "vision/image.h"

using namespace ember;

TEST_CASE("DataLoader pin_memory: the same values, page-locked, and the same on the GPU") {
  test::TempDir dir("pinned_loader");
  std::vector<vision::DatasetItem> items;
  for (int i = 0; i < 5; ++i) {
    vision::Image image(12, 10);
    for (size_t k = 0; k < image.pixels.size(); ++k) image.pixels[k] = uint8_t((k * 7 + i * 31) % 256);
    const std::string path = dir.file(std::to_string(i) + ".png");
    vision::save_png(image, path);
    items.push_back({path, i % 2});
  }
  vision::LoaderOptions plain = vision::valid_loader_options(8, 4), pinned = plain;
  pinned.pin_memory = true;
  vision::DataLoader a(items, plain), b(items, pinned);
  const vision::Batch x = a.one_batch(), y = b.one_batch();
  CHECK(y.x.storage()->pinned);
  CHECK(to_vector<float>(x.x) == to_vector<float>(y.x));
  CHECK(to_vector<int64_t>(x.y) == to_vector<int64_t>(y.y));
  CHECK(to_vector<float>(to_cpu(to(y.x, Device::cuda()))) == to_vector<float>(x.x));
}
