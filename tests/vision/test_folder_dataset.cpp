// vision/image_files.h's get_image_files and vision/folder_dataset.h's from_folder on temporary
// trees, against lists written out by hand from fastai's rules (get_files, GrandparentSplitter,
// parent_label, CategoryMap(sort=True)).
#include <dirent.h>
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/test_util.h"
#include "vision/folder_dataset.h"
#include "vision/image_files.h"

using namespace ember;
using namespace ember::test;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "not decoded here";
}

// The paths relative to root, for readable comparisons.
std::vector<std::string> relative(const std::vector<std::string>& paths, const fs::path& root) {
  std::vector<std::string> out;
  for (const std::string& p : paths) out.push_back(fs::path(p).lexically_relative(root).string());
  return out;
}

std::vector<std::string> item_paths(const std::vector<vision::DatasetItem>& items, const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(fs::path(item.path).lexically_relative(root).string());
  return out;
}

}  // namespace

TEST_CASE("get_image_files follows fastai's get_files rules") {
  TempDir dir("image_files");
  const fs::path root = dir.path;
  touch(root / "top.jpg");  // a top-level file: skipped
  touch(root / "train/a/1.jpg");
  touch(root / "train/a/2.PNG");         // the suffix is lowercased: kept
  touch(root / "train/a/3.photo.JpEg");  // the last suffix counts
  touch(root / "train/a/.hidden.jpg");   // a dot-file: skipped
  touch(root / "train/a/notes.txt");     // not an image suffix
  touch(root / "train/a/4.jpg.part");    // neither
  touch(root / "train/a/jpg");           // no suffix at all
  touch(root / "train/.cache/5.jpg");    // a hidden folder below the top: skipped
  touch(root / "train/b/deep/6.webp");   // deeper folders are walked
  touch(root / "test/a/7.gif");
  touch(root / "other/a/8.jpg");   // not one of `folders`
  touch(root / ".train/a/9.jpg");  // not one of `folders` either
  fs::create_directories(root / "train/empty");
  fs::create_directory_symlink("../a", root / "train/b/link_to_a");   // followed, as os.walk(followlinks=True)
  fs::create_directory_symlink("../..", root / "train/b/deep/loop");  // back up to train/: a loop, not followed
  fs::create_symlink("../a/1.jpg", root / "train/b/linked.jpg");      // a link to a file: kept
  fs::create_symlink("missing.jpg", root / "train/b/broken.jpg");     // a broken link: skipped

  const std::vector<std::string> expected = {
      "test/a/7.gif",        "train/a/1.jpg",           "train/a/2.PNG",           "train/a/3.photo.JpEg",
      "train/b/deep/6.webp", "train/b/link_to_a/1.jpg", "train/b/link_to_a/2.PNG", "train/b/link_to_a/3.photo.JpEg",
      "train/b/linked.jpg"};
  CHECK(relative(vision::get_image_files(root.string()), root) == expected);

  // Other folders, the same rules; an empty list walks the top level too (but not its dot-folders).
  CHECK(relative(vision::get_image_files(root.string(), {"other", ".train"}), root) ==
        std::vector<std::string>{".train/a/9.jpg", "other/a/8.jpg"});
  const std::vector<std::string> everything = relative(vision::get_image_files(root.string(), {}), root);
  CHECK(everything.size() == expected.size() + 2);  // + other/a/8.jpg and top.jpg
  CHECK(std::find(everything.begin(), everything.end(), "top.jpg") != everything.end());
  CHECK(std::find(everything.begin(), everything.end(), ".train/a/9.jpg") == everything.end());
}

TEST_CASE("get_image_files: a missing root, a file as root and an unreadable folder are errors naming them") {
  TempDir dir("image_files_errors");
  check_throws([&] { vision::get_image_files(dir.file("nope")); }, {"get_image_files", "nope", "does not exist"});
  touch(dir.path / "file.jpg");
  check_throws([&] { vision::get_image_files(dir.file("file.jpg")); }, {"file.jpg", "not a folder"});

  touch(dir.path / "train/a/1.jpg");
  const fs::path locked = dir.path / "train/locked";
  touch(locked / "2.jpg");
  REQUIRE(::chmod(locked.c_str(), 0) == 0);
  DIR* probe = ::opendir(locked.c_str());
  const bool permissions_apply = probe == nullptr;
  if (probe) ::closedir(probe);
  if (permissions_apply) {
    check_throws([&] { vision::get_image_files(dir.path.string()); }, {"cannot list", "train/locked"});
  } else {
    MESSAGE("skipped the unreadable-folder check: running as root, chmod 000 does not block reading");
  }
  ::chmod(locked.c_str(), 0755);  // so that TempDir can remove it
}

TEST_CASE("from_folder: splits by grandparent, labels by parent, vocab sorted from train") {
  TempDir dir("from_folder");
  const fs::path root = dir.path;
  touch(root / "train/cat/1.jpg");
  touch(root / "train/cat/2.jpg");
  touch(root / "train/Dog/3.png");  // Python sorts "Dog" before "ant" and "cat" (byte order)
  touch(root / "train/ant/4.jpg");
  touch(root / "train/ant/sub/5.jpg");  // grandparent "ant": in neither split, dropped
  touch(root / "test/cat/6.jpg");
  touch(root / "test/Dog/7.jpg");
  touch(root / "test/x/train/ant/8.jpg");  // grandparent "train": fastai puts it in train, label "ant"
  touch(root / "valid/cat/9.jpg");         // not the valid folder here

  const auto data = vision::FolderDataset::from_folder(root.string());
  CHECK(data.vocab == std::vector<std::string>{"Dog", "ant", "cat"});
  CHECK(item_paths(data.train, root) == std::vector<std::string>{"test/x/train/ant/8.jpg", "train/Dog/3.png",
                                                                 "train/ant/4.jpg", "train/cat/1.jpg",
                                                                 "train/cat/2.jpg"});
  std::vector<int64_t> train_labels, valid_labels;
  for (const auto& item : data.train) train_labels.push_back(item.label);
  for (const auto& item : data.valid) valid_labels.push_back(item.label);
  CHECK(train_labels == std::vector<int64_t>{1, 0, 1, 2, 2});
  CHECK(item_paths(data.valid, root) == std::vector<std::string>{"test/Dog/7.jpg", "test/cat/6.jpg"});
  CHECK(valid_labels == std::vector<int64_t>{0, 2});
  CHECK(data.warnings.empty());
  CHECK(vision::FolderDataset::label_counts(data.train, 3) == std::vector<int64_t>{1, 2, 2});
  const std::string summary = data.summary();
  INFO(summary);
  CHECK(summary.find("7 images, 3 classes") != std::string::npos);
  CHECK(summary.find("train (train/): 5  [Dog 1, ant 2, cat 2]") != std::string::npos);
  CHECK(summary.find("valid (test/): 2  [Dog 1, ant 0, cat 1]") != std::string::npos);
  CHECK(summary.find("vocab: ['Dog', 'ant', 'cat']") != std::string::npos);

  // Other split names: fastai's own default valid="valid".
  const auto other = vision::FolderDataset::from_folder(root.string(), "train", "valid");
  CHECK(item_paths(other.valid, root) == std::vector<std::string>{"valid/cat/9.jpg"});
}

TEST_CASE("from_folder: bad trees are errors naming the folder; one class or no valid split warn") {
  TempDir dir("from_folder_errors");
  const fs::path root = dir.path;
  check_throws([&] { vision::FolderDataset::from_folder(dir.file("missing")); }, {"missing", "does not exist"});
  fs::create_directories(root / "test/a");
  check_throws([&] { vision::FolderDataset::from_folder(root.string()); }, {"no train folder", "train"});
  fs::create_directories(root / "train/a");
  touch(root / "train/a/readme.txt");
  check_throws([&] { vision::FolderDataset::from_folder(root.string()); }, {"no images in the train split"});

  touch(root / "train/a/1.jpg");
  auto one_class = vision::FolderDataset::from_folder(root.string());
  CHECK(one_class.vocab == std::vector<std::string>{"a"});
  REQUIRE(one_class.warnings.size() == 2);
  CHECK(one_class.warnings[0].find("only one class ('a')") != std::string::npos);
  CHECK(one_class.warnings[1].find("no images in the valid split") != std::string::npos);

  // An empty class folder (verify --delete may leave one) is no class, and a warning names it.
  fs::create_directories(root / "train/c");
  fs::create_directories(root / "train/.hidden");
  touch(root / "train/b/2.jpg");
  auto empty_folder = vision::FolderDataset::from_folder(root.string());
  CHECK(empty_folder.vocab == std::vector<std::string>{"a", "b"});
  REQUIRE(empty_folder.warnings.size() == 2);
  CHECK(empty_folder.warnings[0].find("the class folder '" + (root / "train/c").string() +
                                      "' has no images, so 'c' is not a class") != std::string::npos);
  CHECK(empty_folder.warnings[1].find("no images in the valid split") != std::string::npos);

  touch(root / "test/zebra/3.jpg");  // fastai's Categorize would raise a KeyError on it later
  check_throws([&] { vision::FolderDataset::from_folder(root.string()); },
               {"label 'zebra'", "test/zebra/3.jpg", "not in the train split's labels"});
}
