// Exercise 1, steps 1-2, for apps/ex1_images.cpp: get the images (crawl DuckDuckGo as the seed
// did, or export an offline dataset) into <root>/{train,test}/<label>/, then verify them and delete
// the ones that do not decode, printing what fastai's verify_images printed.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ember::app {

struct ImageSource {
  std::string kind = "fashion-mnist";  // fashion-mnist | shapes | crawl | a folder that already has the images
  std::vector<std::string> classes;    // fashion-mnist: class names; crawl: labels (the seed's iu, hynn)
  int64_t train = 200, test = 50;      // exports: images per class; crawl: --max for train / test queries
  int64_t shapes_size = 128;
  uint64_t seed = 0;
  double pause_seconds = 10;  // crawl: between searches (the seed's time.sleep(10))
};

// Fills `root` (an export or a crawl; a folder given as kind is used as it is) and returns the
// dataset folder. Prints what it does through `print`. Throws on failure (blocked search, missing
// Fashion-MNIST, ...), with the reason.
std::string make_images(const ImageSource& source, const std::string& root,
                        const std::function<void(const std::string&)>& print);

// fastai's verify_images + unlink: returns the number of files removed.
int64_t verify_and_delete(const std::string& root, const std::function<void(const std::string&)>& print);

}  // namespace ember::app
