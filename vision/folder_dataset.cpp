// See folder_dataset.h.
#include "vision/folder_dataset.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "tensor/error.h"
#include "vision/image_files.h"

namespace ember::vision {

namespace fs = std::filesystem;

FolderDataset FolderDataset::from_folder(const std::string& path, const std::string& train, const std::string& valid) {
  std::error_code error;
  EMBER_CHECK(fs::is_directory(path, error), "from_folder: the dataset folder '" + path + "' does not exist");
  const std::string train_path = (fs::path(path) / train).string();
  EMBER_CHECK(fs::is_directory(train_path, error), "from_folder: no train folder '" + train_path + "' (expected " +
                                                       path + "/" + train + "/<label>/<image>)");

  FolderDataset data;
  data.root = path;
  data.train_folder = train;
  data.valid_folder = valid;
  // Split by the grandparent folder's name, label by the parent's; keep the label names for now.
  std::vector<std::pair<std::string, std::string>> train_named, valid_named;  // (path, label)
  for (const std::string& file : get_image_files(path, {train, valid})) {
    const fs::path p(file);
    const std::string grandparent = p.parent_path().parent_path().filename().string();
    const std::string label = p.parent_path().filename().string();
    if (grandparent == train)
      train_named.emplace_back(file, label);
    else if (grandparent == valid)
      valid_named.emplace_back(file, label);
  }
  EMBER_CHECK(!train_named.empty(), "from_folder: no images in the train split of '" + path +
                                        "' (expected files like " + train_path + "/<label>/<name>.jpg)");

  for (const auto& [file, label] : train_named) data.vocab.push_back(label);
  std::sort(data.vocab.begin(), data.vocab.end());  // std::string's < compares bytes, as Python's str
  data.vocab.erase(std::unique(data.vocab.begin(), data.vocab.end()), data.vocab.end());
  auto index_of = [&](const std::string& label) {
    auto it = std::lower_bound(data.vocab.begin(), data.vocab.end(), label);
    return it != data.vocab.end() && *it == label ? it - data.vocab.begin() : -1;
  };
  for (const auto& [file, label] : train_named) data.train.push_back({file, index_of(label)});
  for (const auto& [file, label] : valid_named) {
    const int64_t index = index_of(label);
    EMBER_CHECK(index >= 0, "from_folder: the label '" + label + "' of '" + file +
                                "' is not in the train split's labels (" + std::to_string(data.vocab.size()) +
                                " classes from '" + train_path + "'); add " + train_path + "/" + label +
                                "/ or remove the folder");
    data.valid.push_back({file, index});
  }

  // Label folders that give no class: empty, or holding no image (hidden folders are fastai's to skip).
  std::vector<std::string> empty_folders;
  for (const fs::directory_entry& entry : fs::directory_iterator(train_path, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(error) && name[0] != '.' && index_of(name) < 0) empty_folders.push_back(name);
  }
  std::sort(empty_folders.begin(), empty_folders.end());
  for (const std::string& name : empty_folders)
    data.warnings.push_back("the class folder '" + (fs::path(train_path) / name).string() + "' has no images, so '" +
                            name + "' is not a class");
  if (data.vocab.size() == 1)
    data.warnings.push_back("only one class ('" + data.vocab[0] + "') in '" + train_path +
                            "': a classifier needs at least two");
  if (data.valid.empty())
    data.warnings.push_back("no images in the valid split ('" + (fs::path(path) / valid).string() + "')");
  return data;
}

std::vector<int64_t> FolderDataset::label_counts(const std::vector<DatasetItem>& items, size_t classes) {
  std::vector<int64_t> counts(classes, 0);
  for (const DatasetItem& item : items) counts.at(size_t(item.label)) += 1;
  return counts;
}

std::string FolderDataset::summary() const {
  std::ostringstream out;
  out << root << ": " << train.size() + valid.size() << " images, " << vocab.size() << " classes\n";
  auto split_line = [&](const char* name, const std::string& folder, const std::vector<DatasetItem>& items) {
    out << "  " << name << " (" << folder << "/): " << items.size();
    const std::vector<int64_t> counts = label_counts(items, vocab.size());
    for (size_t k = 0; k < vocab.size(); ++k) out << (k == 0 ? "  [" : ", ") << vocab[k] << " " << counts[k];
    out << "]\n";
  };
  split_line("train", train_folder, train);
  split_line("valid", valid_folder, valid);
  out << "  vocab: [";
  for (size_t k = 0; k < vocab.size(); ++k) out << (k ? ", " : "") << "'" << vocab[k] << "'";
  out << "]\n";
  return out.str();
}

}  // namespace ember::vision
