// See ex1_data.h.
#include "apps/ex1_data.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "apps/common/crawl_query.h"
#include "apps/common/progress.h"
#include "tensor/error.h"
#include "vision/crawl.h"
#include "vision/ddg_search.h"
#include "vision/fashion_mnist.h"
#include "vision/shapes_dataset.h"
#include "vision/verify.h"

namespace ember::app {

namespace fs = std::filesystem;

namespace {

// The seed's crawl: for each label L, the queries "L" and "L kpop" fill train/L (200 each) and
// "L photo" fills test/L (50), with a pause between searches.
void crawl(const ImageSource& source, const std::string& root, const std::function<void(const std::string&)>& print) {
  EMBER_CHECK(source.classes.size() >= 2, "--data crawl needs two labels or more, e.g. --classes iu,hynn");
  vision::SearchOptions search;
  search.log = [&](const std::string& line) { print(line); };
  bool first = true;
  for (const std::string& label : source.classes) {
    const std::vector<std::pair<std::string, std::string>> jobs = {
        {"train", label}, {"train", label + " kpop"}, {"test", label + " photo"}};
    for (const auto& [split, query] : jobs) {
      if (!first && source.pause_seconds > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(source.pause_seconds));
      first = false;
      search.max_results = split == "train" ? source.train : source.test;
      vision::ImageManifest manifest((fs::path(root) / split / label).string());
      const vision::FolderCrawlCounts counts = crawl_query(query, manifest, search, {});
      print(split + "/" + label + " <- '" + query + "': " + counts.summary());
    }
  }
}

}  // namespace

std::string make_images(const ImageSource& source, const std::string& root,
                        const std::function<void(const std::string&)>& print) {
  if (source.kind == "fashion-mnist") {
    vision::FashionMnistExport options;
    options.out = root;
    for (const std::string& name : source.classes) options.classes.push_back(vision::fashion_mnist_label(name));
    options.train = source.train;
    options.test = source.test;
    const vision::ExportCounts counts =
        with_progress("export", [&](const ProgressCallback& p) { return vision::export_fashion_mnist(options, p); });
    print("Fashion-MNIST (Debian's dataset-fashion-mnist) -> " + root + ": " + std::to_string(counts.written) +
          " images written, " + std::to_string(counts.already_there) + " already there");
    return root;
  }
  if (source.kind == "shapes") {
    vision::ShapesExport options;
    options.out = root;
    options.train = source.train;
    options.test = source.test;
    options.size = source.shapes_size;
    options.seed = source.seed;
    const vision::ExportCounts counts =
        with_progress("export", [&](const ProgressCallback& p) { return vision::export_shapes(options, p); });
    print("generated shapes -> " + root + ": " + std::to_string(counts.written) + " images written, " +
          std::to_string(counts.already_there) + " already there");
    return root;
  }
  if (source.kind == "crawl") {
    crawl(source, root, print);
    return root;
  }
  EMBER_CHECK(fs::is_directory(source.kind),
              "--data '" + source.kind + "' is neither fashion-mnist, shapes, crawl nor a folder of images");
  print("images from " + source.kind);
  return source.kind;
}

int64_t verify_and_delete(const std::string& root, const std::function<void(const std::string&)>& print) {
  const vision::VerifyResult result =
      with_progress("verify", [&](const ProgressCallback& p) { return vision::verify_images(root, 0, p); });
  // fastai prints an L: "(#25) [Path('images/train/bezos/1d39...jpg'),...]", the first 10 items.
  std::string list = "(#";  // built by appending: g++ 12 warns falsely (-Wrestrict) on "(#" + std::string
  list += std::to_string(result.bad.size()) + ") [";
  for (size_t i = 0; i < result.bad.size() && i < 10; ++i) {
    if (i) list += ",";
    list += "Path('" + result.bad[i].path + "')";
  }
  list += result.bad.size() > 10 ? "...]" : "]";
  print("bad_images = verify_images(get_image_files('" + root + "'))\n" + list);
  for (const vision::BadImage& bad : result.bad) print("  " + bad.path + ": " + bad.reason);
  for (const vision::BadImage& unreadable : result.unreadable)
    print("  cannot read " + unreadable.path + ": " + unreadable.reason + " (kept)");
  const vision::RemovalResult removed = vision::remove_bad_images(result.bad, root, "");
  print(std::to_string(removed.removed) + " of " + std::to_string(result.checked) +
        " images did not decode and were deleted");
  for (const vision::BadImage& failed : removed.failed)
    print("  could not delete " + failed.path + ": " + failed.reason);
  return removed.removed;
}

}  // namespace ember::app
