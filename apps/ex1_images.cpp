// Exercise 1 (../shared/EXERCISES.md): crawl two keywords, fine-tune a ResNet34, explain it with CAM.
// The notebook's steps, in its order:
//   1. images: crawl DuckDuckGo as the seed did (--data crawl --classes iu,hynn), or, offline by
//      default, two Fashion-MNIST classes (--data fashion-mnist) or generated shapes (--data shapes),
//      in images/{train,test}/<label>/;
//   2. verify_images + unlink;
//   3. ImageDataLoaders.from_folder(train='train', valid='test', item_tfms=Resize(size), bs=8) and
//      show_batch;
//   4. vision_learner(dls, resnet34, metrics=accuracy).fine_tune(epochs), then show_results, the
//      confusion matrix, the top losses and Grad-CAM of this model;
//   5. the CAM model: the trained body + AdaptiveAvgPool2d(1), Flatten, Linear(512, n, bias=False),
//      fine_tune(epochs) as a plain Learner, and the 5x5 CAM grid of the 25 images from index 200 of
//      get_image_files (as the seed's loop); on the shapes dataset also the pointing game.
// --size 512 is the exercise; the default (128) finishes in a few minutes on 2 CPU cores.
//
// Writes into --out: images/ (the dataset, unless --data names a folder), show_batch.png,
// results.png, confusion.png, top_losses.png, grad_cam.png, cam.png, model.safetensors and
// cam_model.safetensors (checkpoints), report.html and results.json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "apps/common/cli.h"
#include "apps/common/progress.h"
#include "apps/common/results.h"
#include "apps/common/text.h"
#include "apps/ex1_data.h"
#include "apps/learner/learner.h"
#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/models/fastai_head.h"
#include "nn/models/resnet.h"
#include "nn/models/resnet_weights.h"
#include "tensor/error.h"
#include "vision/cam.h"
#include "vision/folder_dataset.h"
#include "vision/image_files.h"
#include "vision/interpret.h"
#include "vision/pointing_game.h"
#include "vision/pretrained.h"
#include "vision/report.h"
#include "vision/show_batch.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

struct Flags {
  std::string data = "fashion-mnist", classes = "pullover,coat", weights;
  int64_t train = 100, test = 50, size = 128, bs = 8, epochs = 5, workers = -1;
  bool pretrained = false, allow_random_init = false, resume = false;
  app::FineTuneOptions fine_tune;  // --lr, --lr-mult, --freeze-epochs: fastai's fine_tune arguments
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

// Every prediction of a model over a loader that keeps its images (eval mode, no autograd).
struct Predictions {
  std::vector<vision::Image> images;
  std::vector<std::string> paths;
  std::vector<int64_t> actual, predicted;
  std::vector<double> probability, loss;
  std::vector<vision::ClassifiedImage> items(const std::vector<size_t>& which) const {
    std::vector<vision::ClassifiedImage> out;
    for (size_t i : which) out.push_back({&images[i], actual[i], predicted[i], probability[i], loss[i]});
    return out;
  }
};

Predictions predict_all(nn::Module& model, vision::DataLoader& loader, Device device) {
  Predictions p;
  model.eval();
  NoGradGuard no_grad;
  loader.start_epoch(0);
  while (std::optional<vision::Batch> batch = loader.next()) {
    const Tensor logits = to_cpu(model(to(batch->x, device)));
    const auto probs = to_vector<float>(softmax(logits, 1));
    const auto losses = to_vector<float>(nn::cross_entropy(logits, batch->y, nn::Reduction::None));
    const auto labels = to_vector<int64_t>(batch->y);
    const int64_t n = batch->size(), classes = logits.shape()[1];
    for (int64_t i = 0; i < n; ++i) {
      const float* row = &probs[size_t(i * classes)];
      const int64_t best = std::max_element(row, row + classes) - row;
      p.images.push_back(batch->images[size_t(i)]);
      p.paths.push_back(batch->paths[size_t(i)]);
      p.actual.push_back(labels[size_t(i)]);
      p.predicted.push_back(best);
      p.probability.push_back(row[best]);
      p.loss.push_back(losses[size_t(i)]);
    }
  }
  return p;
}

// The network's input for a list of images: the validation transform, normalised, (N, 3, s, s).
vision::Batch batch_of(const std::vector<vision::DatasetItem>& items, int64_t size) {
  vision::LoaderOptions options = vision::valid_loader_options(size, int64_t(items.size()));
  options.keep_images = true;
  options.workers = 0;
  vision::DataLoader loader(items, options);
  return loader.one_batch();
}

std::vector<std::vector<std::string>> table_rows(const std::vector<app::EpochRow>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const app::EpochRow& row : rows) out.push_back(app::format_row(row));
  return out;
}

// The seed's titles, "label(prob)": each image's predicted class and its probability.
std::vector<std::string> cam_titles(const vision::ClassMaps& why, const std::vector<std::string>& vocab) {
  const std::vector<float> probs = to_vector<float>(why.probs);
  std::vector<std::string> titles;
  for (size_t i = 0; i < why.predicted.size(); ++i) {
    const size_t c = size_t(why.predicted[i]);
    titles.push_back(vision::cam_title(vocab[c], probs[i * vocab.size() + c]));
  }
  return titles;
}

// fine_tune's two fits as fastai prints them: the frozen epochs' table, then the unfrozen epochs'.
void add_fine_tune_tables(vision::Report& report, const std::vector<app::EpochRow>& rows, int64_t freeze_epochs) {
  const size_t frozen = std::min<size_t>(size_t(freeze_epochs), rows.size());
  if (frozen > 0) report.table(app::epoch_table_columns(), table_rows({rows.begin(), rows.begin() + long(frozen)}));
  if (rows.size() > frozen)
    report.table(app::epoch_table_columns(), table_rows({rows.begin() + long(frozen), rows.end()}));
}

app::JsonObject rows_json(const std::vector<app::EpochRow>& rows) {
  std::vector<double> train, valid, accuracy, seconds;
  for (const app::EpochRow& r : rows)
    train.push_back(r.train_loss), valid.push_back(r.valid_loss), accuracy.push_back(r.accuracy),
        seconds.push_back(r.seconds);
  return app::JsonObject()
      .set("train_loss", train)
      .set("valid_loss", valid)
      .set("accuracy", accuracy)
      .set("seconds", seconds);
}

// The weights the body starts from: ImageNet's (--pretrained, --weights FILE) or random.
std::string load_start_weights(nn::ResNet& resnet, const Flags& flags,
                               const std::function<void(const std::string&)>& print) {
  std::string path = flags.weights;
  if (path.empty() && flags.pretrained) {
    vision::PretrainedOptions options;
    options.log = print;
    try {
      path = app::with_progress("resnet34.tv_in1k", [&](const app::ProgressCallback& p) {
        options.progress = p;
        return vision::pretrained_resnet34_path(options);
      });
    } catch (const vision::PretrainedWeightsError& e) {
      if (e.problem == vision::WeightsProblem::failed_check || !flags.allow_random_init) throw;
      print(std::string(e.what()) + "\n--allow-random-init: training from random weights instead");
      return "random (torchvision's init; the pretrained weights could not be downloaded)";
    }
  }
  if (path.empty()) return "random (torchvision's init; --pretrained or --weights FILE for ImageNet's)";
  nn::load_torchvision_weights(resnet, path);
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  app::Cli cli("ember_ex1", "Exercise 1: images of two classes, a fine-tuned ResNet34, and CAM.");
  app::CommonOptions& common = cli.add_common("out/ex1");
  Flags flags;
  cli.option("--data", &flags.data, "fashion-mnist, shapes, crawl (DuckDuckGo, as the seed), or a folder");
  cli.option("--classes", &flags.classes, "fashion-mnist classes, or the labels to crawl (e.g. iu,hynn)");
  cli.option("--train", &flags.train, "images per class for train/ (crawl: per query)", 1);
  cli.option("--test", &flags.test, "images per class for test/ (crawl: per query)", 1);
  cli.option("--size", &flags.size, "fastai's Resize(size); 512 is the exercise's", 32);
  cli.option("--bs", &flags.bs, "batch size", 1);
  cli.option("--epochs", &flags.epochs, "fine_tune(epochs) for both models", 0);
  cli.positive("--lr", &flags.fine_tune.base_lr, "fine_tune's base_lr");
  cli.positive("--lr-mult", &flags.fine_tune.lr_mult,
               "fine_tune's lr_mult: the body's first group trains at lr / lr_mult");
  cli.option("--freeze-epochs", &flags.fine_tune.freeze_epochs, "fine_tune's freeze_epochs (frozen body, head only)",
             0);
  cli.option("--workers", &flags.workers, "data loader threads (-1: min(2, cores))", -1);
  cli.flag("--pretrained", &flags.pretrained, "start from torchvision's ImageNet weights (downloaded once)");
  cli.option("--weights", &flags.weights, "start from this torchvision-named ResNet34 safetensors file");
  cli.flag("--allow-random-init", &flags.allow_random_init, "when --pretrained cannot download, train from scratch");
  cli.flag("--resume", &flags.resume, "continue from the checkpoints in --out");
  if (!cli.parse(argc, argv)) return cli.exit_code();

  try {
    const Device device = common.parsed_device();
    manual_seed(common.seed);
    const std::string out = common.out;
    fs::create_directories(out);
    vision::Report report(out, "Exercise 1: crawled images, a fine-tuned ResNet34, and CAM");
    auto print = [&](const std::string& text) { report.print(text); };
    app::JsonObject results;
    results.set("exercise", 1).set("seed", common.seed).set("device", device.str()).set("size", flags.size);

    // ---- 1. images -----------------------------------------------------------------------------
    report.heading("1. Images");
    app::ImageSource source;
    source.kind = flags.data;
    source.classes = split_commas(flags.classes);
    source.train = flags.train;
    source.test = flags.test;
    source.seed = common.seed;
    const std::string root = app::make_images(source, (fs::path(out) / "images").string(), print);

    // ---- 2. verify -------------------------------------------------------------------------------
    report.heading("2. Verify");
    const int64_t removed = app::verify_and_delete(root, print);
    results.set("bad_images_removed", removed);
    report.save();

    // ---- 3. data loaders -------------------------------------------------------------------------
    report.heading("3. DataLoaders (from_folder, Resize(" + std::to_string(flags.size) + "), bs " +
                   std::to_string(flags.bs) + ")");
    const vision::FolderDataset data = vision::FolderDataset::from_folder(root, "train", "test");
    print(data.summary());
    for (const std::string& warning : data.warnings) print("warning: " + warning);
    if (data.vocab.size() < 2)
      throw Error("the train split of '" + root + "' has " + std::to_string(data.vocab.size()) +
                  " class(es); exercise 1 needs two or more label folders with images in train/");
    if (data.valid.empty()) throw Error("the test split of '" + root + "' has no images (expected test/<label>/...)");
    vision::LoaderOptions train_options = vision::train_loader_options(flags.size, flags.bs, common.seed);
    vision::LoaderOptions valid_options = vision::valid_loader_options(flags.size, flags.bs);
    train_options.workers = valid_options.workers = int(flags.workers);
    train_options.keep_images = true;
    // On a GPU, batches come in page-locked memory so their copies overlap the previous step.
    train_options.pin_memory = valid_options.pin_memory = device.is_cuda();
    vision::DataLoader train(data.train, train_options), valid(data.valid, valid_options);
    vision::show_batch(train.one_batch(), data.vocab, (fs::path(out) / "show_batch.png").string());
    report.figure("show_batch.png", "dls.show_batch(): a training batch (random crops)");
    results.set("vocab", data.vocab)
        .set("train_items", int64_t(data.train.size()))
        .set("valid_items", int64_t(data.valid.size()));
    report.save();

    // ---- 4. vision_learner(dls, resnet34).fine_tune(epochs) ----------------------------------------
    report.heading("4. vision_learner(dls, resnet34, metrics=accuracy).fine_tune(" + std::to_string(flags.epochs) +
                   ")");
    auto resnet = nn::resnet34();
    const std::string start = load_start_weights(*resnet, flags, print);
    print("body weights: " + start);
    auto body = resnet->body();
    auto head = nn::create_head(512, int64_t(data.vocab.size()));
    auto model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, head});
    app::LearnerOptions learner_options{.device = device,
                                        .table = &std::cout,
                                        .checkpoint_path = (fs::path(out) / "model.safetensors").string(),
                                        .architecture = "resnet34-fastai-head",
                                        .categories = data.vocab,
                                        .image_size = flags.size};
    app::Learner learn(model, train, valid, nn::resnet_split(*body, *head), learner_options);
    if (flags.resume && fs::exists(learner_options.checkpoint_path)) learn.resume(learner_options.checkpoint_path);
    const std::vector<app::EpochRow> rows = learn.fine_tune(flags.epochs, flags.fine_tune);
    add_fine_tune_tables(report, rows, flags.fine_tune.freeze_epochs);
    results.set("fine_tune", rows_json(rows)).set("start_weights", start);
    report.save();

    vision::LoaderOptions interp_options = vision::valid_loader_options(flags.size, flags.bs);
    interp_options.keep_images = true;
    interp_options.workers = int(flags.workers);
    vision::DataLoader interp_loader(data.valid, interp_options);
    const Predictions predictions = predict_all(*model, interp_loader, device);

    // show_results: 9 valid images (a seeded sample), titles actual / predicted, green or red
    std::vector<size_t> order(predictions.images.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const std::vector<int64_t> shuffled = vision::epoch_order(int64_t(order.size()), true, common.seed, 1);
    std::vector<size_t> shown;
    for (size_t i = 0; i < shuffled.size() && i < 9; ++i) shown.push_back(size_t(shuffled[i]));
    vision::show_results_figure(predictions.items(shown), data.vocab)
        .save_png((fs::path(out) / "results.png").string());
    report.figure("results.png", "learn.show_results(): actual above, prediction below; green right, red wrong");

    const vision::ConfusionMatrix cm =
        vision::confusion_matrix(predictions.actual, predictions.predicted, int64_t(data.vocab.size()));
    print(vision::confusion_matrix_text(cm, data.vocab));
    vision::confusion_matrix_figure(cm, data.vocab).save_png((fs::path(out) / "confusion.png").string());
    report.figure("confusion.png", "ClassificationInterpretation: plot_confusion_matrix()");
    const std::vector<size_t> worst = vision::top_losses(predictions.loss, 9);
    vision::top_losses_figure(predictions.items(worst), data.vocab)
        .save_png((fs::path(out) / "top_losses.png").string());
    report.figure("top_losses.png", "plot_top_losses(9): prediction/actual / loss / probability");
    results.set("confusion_matrix", cm);
    report.save();

    // Grad-CAM of this model (its head has no single Linear layer, so CAM itself does not apply)
    {
      std::vector<vision::DatasetItem> items;
      for (size_t i = 0; i < shown.size(); ++i) items.push_back(data.valid[size_t(shuffled[i])]);
      const vision::Batch batch = batch_of(items, flags.size);
      body->to(Device::cpu());
      head->to(Device::cpu());
      const vision::ClassMaps why = vision::grad_cam(*body, *head, batch.x);
      body->to(device);
      head->to(device);
      vision::save_cam_figure(batch.images, why.maps, cam_titles(why, data.vocab),
                              (fs::path(out) / "grad_cam.png").string());
      report.figure("grad_cam.png", "Grad-CAM of the fastai-head model: where the evidence for its prediction is");
    }

    // ---- 5. the CAM model ------------------------------------------------------------------------
    report.heading("5. CAM: body + AdaptiveAvgPool2d(1), Flatten, Linear(512, " + std::to_string(data.vocab.size()) +
                   ", bias=False)");
    auto cam_head = vision::make_cam_head(512, int64_t(data.vocab.size()));
    auto cam_model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, cam_head});
    app::LearnerOptions cam_options = learner_options;
    cam_options.checkpoint_path = (fs::path(out) / "cam_model.safetensors").string();
    cam_options.architecture = "resnet34-cam-head";
    app::Learner learn2(cam_model, train, valid, {cam_model->parameters()}, cam_options);
    if (flags.resume && fs::exists(cam_options.checkpoint_path)) learn2.resume(cam_options.checkpoint_path);
    const std::vector<app::EpochRow> cam_rows = learn2.fine_tune(flags.epochs, flags.fine_tune);
    add_fine_tune_tables(report, cam_rows, flags.fine_tune.freeze_epochs);
    results.set("cam_fine_tune", rows_json(cam_rows));
    report.save();

    // The seed's loop: the 25 files from index 200 of get_image_files(path) (fewer files: wrap around)
    std::vector<std::string> files = vision::get_image_files(root);
    std::vector<vision::DatasetItem> cam_items;
    for (size_t k = 0; k < 25 && !files.empty(); ++k) cam_items.push_back({files[(200 + k) % files.size()], 0});
    const vision::Batch cam_batch = batch_of(cam_items, flags.size);
    body->to(Device::cpu());
    cam_head->to(Device::cpu());
    const vision::ClassMaps why = vision::cam(*body, *cam_head, cam_batch.x);
    print("net1(x).shape = " + body->forward(slice(cam_batch.x, 0, 0, 1)).shape().str() + "   (one image)");
    vision::save_cam_figure(cam_batch.images, why.maps, cam_titles(why, data.vocab),
                            (fs::path(out) / "cam.png").string());
    report.figure("cam.png", "CAM: each image with its predicted class's map (magma, alpha 0.5), title label(prob)");

    if (fs::exists(fs::path(root) / "test" / data.vocab[0] / "boxes.csv")) {
      std::vector<std::string> paths;
      for (const vision::DatasetItem& item : data.valid) paths.push_back(item.path);
      const vision::Batch valid_batch = batch_of(data.valid, flags.size);
      const vision::ClassMaps valid_why = vision::cam(*body, *cam_head, valid_batch.x);
      // The boxes are in the files' pixels; shapes are square, so the centre crop keeps the whole
      // picture and the map stretches over all of it.
      const vision::Image first = vision::load_image(paths.front());
      const vision::PointingGameResult game =
          vision::pointing_game(valid_why.maps, vision::read_object_boxes(paths), first.width, first.height);
      print(
          app::format("pointing game on the test images: %lld of %lld maps peak inside the object's box = %.3f "
                      "(chance: %.3f for a random point, %.3f for a random cell)",
                      static_cast<long long>(game.hits), static_cast<long long>(game.total), game.score, game.chance,
                      game.chance_cells));
      results.set("pointing_game", app::JsonObject()
                                       .set("score", game.score)
                                       .set("chance", game.chance)
                                       .set("chance_cells", game.chance_cells)
                                       .set("hits", game.hits)
                                       .set("total", game.total));
    }
    body->to(device);
    cam_head->to(device);
    report.save();
    results.save((fs::path(out) / "results.json").string());
    std::printf("\nwrote %s/report.html\n", out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ember_ex1: %s\n", e.what());
    return 1;
  }
}
