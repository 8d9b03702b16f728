// A labelled image dataset read from folders, with fastai's ImageDataLoaders.from_folder rules:
//
//   images/train/coat/1.png       -> train split, label "coat"
//   images/test/pullover/7.png    -> valid split, label "pullover"
//
//   auto data = vision::FolderDataset::from_folder("images");       // train="train", valid="test"
//   data.vocab;                    // {"coat", "pullover"}: sorted labels of the train split
//   data.train[0].path, data.train[0].label;                        // label = index into vocab
//   std::cout << data.summary();
//
// The files are vision::get_image_files(path, {train, valid}) (image_files.h). An item goes to the
// train split when its grandparent folder is named `train`, to the valid split when it is named
// `valid`, and is dropped otherwise (fastai's GrandparentSplitter); its label is its parent
// folder's name (parent_label). The vocab is the sorted set of the train split's labels (fastai's
// CategoryMap(sort=True): Python's str order, which for UTF-8 names is byte order).
//
// Errors (ember::Error, naming the folder): the root or the train folder missing, no images in the
// train split, a valid label that the train split does not have (fastai fails later, with a
// KeyError when the valid batch is loaded). Only one class, an empty valid split, or a folder in
// the train split without images (fastai silently has no such class; here a line names the folder,
// e.g. after `verify --delete` emptied it) still makes a dataset but adds a line to `warnings`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ember::vision {

struct DatasetItem {
  std::string path;
  int64_t label = 0;  // index into FolderDataset::vocab
};

struct FolderDataset {
  std::string root, train_folder, valid_folder;
  std::vector<std::string> vocab;
  std::vector<DatasetItem> train, valid;  // in get_image_files order (sorted paths)
  std::vector<std::string> warnings;      // e.g. "only one class ('coat') in 'images/train'"

  // fastai's default valid folder is "valid"; the exercise passes valid="test", Ember's default.
  static FolderDataset from_folder(const std::string& path, const std::string& train = "train",
                                   const std::string& valid = "test");

  // How many items of each label a split holds, indexed like vocab.
  static std::vector<int64_t> label_counts(const std::vector<DatasetItem>& items, size_t classes);

  // Several lines: the root, each split's size with its count per label, and the vocab.
  std::string summary() const;
};

}  // namespace ember::vision
