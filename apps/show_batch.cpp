// `ember show-batch`: read an image folder as fastai's ImageDataLoaders.from_folder does, print what
// it holds, and draw one training batch as fastai's dls.show_batch() does.
//
//   ember show-batch images/                          images/train/<label>/*, images/test/<label>/*
//   ember show-batch images/ --size 224 --bs 8 --seed 1 --out batch.png --train train --valid test
//
// Prints the dataset summary (images per split and label, the vocab), then writes a PNG of the
// first batch of the training loader (shuffled, random crops; vision/data_loader.h) with the labels
// as titles (vision/show_batch.h). Files that fail to load are skipped with a warning on stderr.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/common/cli.h"
#include "vision/data_loader.h"
#include "vision/folder_dataset.h"
#include "vision/show_batch.h"

namespace ember::app {

int run_show_batch(int argc, char** argv) {
  Cli cli("ember show-batch", "Summarise an image folder (fastai's from_folder) and draw one training batch.");
  std::vector<std::string> folders;
  int64_t size = 512, batch_size = 8, workers = -1, max_n = 9, epoch = 0;
  uint64_t seed = 43052;
  std::string out = "batch.png", train = "train", valid = "test";
  bool flip = false;
  cli.positional("DIR", &folders, "the dataset folder: DIR/<train>/<label>/<image>, DIR/<valid>/<label>/<image>");
  cli.option("--size", &size, "the side of the square crops, in pixels (fastai's Resize)", 1);
  cli.option("--bs", &batch_size, "the batch size", 1);
  cli.option("--seed", &seed, "the seed of the shuffle and the random crops");
  cli.option("--epoch", &epoch, "which epoch's first batch to show", 0);
  cli.option("--max-n", &max_n, "show at most this many images", 1);
  cli.option("--workers", &workers, "decoding threads (-1: min(2, cores); 0: none)", -1);
  cli.option("--out", &out, "the PNG to write");
  cli.option("--train", &train, "the train folder's name");
  cli.option("--valid", &valid, "the valid folder's name (fastai's default is 'valid'; the exercise's 'test')");
  cli.flag("--flip", &flip, "flip images horizontally with probability 0.5 (augmentation)");
  if (!cli.parse(argc, argv)) return cli.exit_code();
  if (folders.size() != 1) {
    std::fprintf(stderr, "ember show-batch: expected one dataset folder, got %zu (see --help)\n", folders.size());
    return 2;
  }
  try {
    const vision::FolderDataset data = vision::FolderDataset::from_folder(folders[0], train, valid);
    std::printf("%s", data.summary().c_str());
    for (const std::string& warning : data.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
    std::fflush(stdout);

    vision::LoaderOptions options = vision::train_loader_options(size, batch_size, seed);
    options.workers = int(workers);
    options.flip = flip;
    options.keep_images = true;
    vision::DataLoader loader(data.train, options);
    const vision::Batch batch = loader.one_batch(epoch);
    vision::show_batch(batch, data.vocab, out, int(max_n));
    const int64_t shown = std::min<int64_t>(batch.size(), max_n);
    std::printf("wrote %s: %lld train images of %lldx%lld (epoch %lld, seed %llu)", out.c_str(),
                static_cast<long long>(shown), static_cast<long long>(size), static_cast<long long>(size),
                static_cast<long long>(epoch), static_cast<unsigned long long>(seed));
    if (loader.skipped_files() > 0)
      std::printf(", %lld unreadable files skipped", static_cast<long long>(loader.skipped_files()));
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember show-batch: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace ember::app
