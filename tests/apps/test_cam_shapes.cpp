// CAM quality on the generated shapes dataset (exercise 1's pointing game): a small CNN with the
// exercise's CAM head, AdaptiveAvgPool2d(1) -> Flatten -> Linear(64, 2, bias=False), trained from
// scratch by the Learner on circles and squares, must learn them and point at the object
// (pointing_game.h) far more often than the box areas give by chance.
//
// Why not the exercise's ResNet34: from scratch on two CPU cores it needs far more time than a test
// can spend. A body of three VGG-style stages has an 8 x 8 map at 64 px, and learns
// circle-vs-square, so the same cam() and pointing_game() code is checked on a model that really
// learned. Learning shapes from scratch is a plateau that a run leaves at a moment that depends on
// the seed: with fit_one_cycle(20, 1e-3) both seeds below reach accuracy 1.0 and point inside the
// box on 0.67-0.73 of the test images (0.53-0.80 over the runs and schedules tried; chance is
// about 0.08); 8 to 16 epochs at 2e-3 to 1e-2 stayed at accuracy 0.5, and so did PyTorch on some
// seeds with the same recipe. Runs differ a little from machine to machine (threads), so the
// bounds leave room.
#include <doctest/doctest.h>

#include "nn/batch_norm.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/pooling.h"
#include "nn/sequential.h"
#include "tensor/random.h"
#include "tests/apps/learner_fixture.h"
#include "tests/test_util.h"
#include "vision/cam.h"
#include "vision/folder_dataset.h"
#include "vision/pointing_game.h"
#include "vision/shapes_dataset.h"

using namespace ember;
using namespace ember::test;

namespace {

std::shared_ptr<nn::Module> conv_bn_relu(int64_t in, int64_t out) {
  return std::make_shared<nn::Sequential>(
      nn::Sequential::List{std::make_shared<nn::Conv2d>(in, out, 3, 1, 1, /*bias=*/false),
                           std::make_shared<nn::BatchNorm2d>(out), std::make_shared<nn::ReLU>()});
}

// Three stages of conv-conv-maxpool: (N, 3, 64, 64) -> (N, 64, 8, 8).
std::shared_ptr<nn::Sequential> small_body() {
  nn::Sequential::List layers;
  int64_t in = 3;
  for (int64_t out : {16, 32, 64}) {
    layers.push_back(conv_bn_relu(in, out));
    layers.push_back(conv_bn_relu(out, out));
    layers.push_back(std::make_shared<nn::MaxPool2d>(2));
    in = out;
  }
  return std::make_shared<nn::Sequential>(layers);
}

struct CamRun {
  double accuracy = 0;
  vision::PointingGameResult game;
};

// Shapes at 64 px (400 + 400 train, 50 + 50 test), the small body + CAM head, fit_one_cycle(epochs,
// 1e-3) as a plain one-group Learner (fastai's Adam), then CAM over every test image and the pointing game.
CamRun train_and_point(uint64_t data_seed, uint64_t model_seed, int64_t epochs) {
  TempDir dir("cam_shapes");
  vision::ShapesExport shapes;
  shapes.out = dir.path.string();
  shapes.train = 400;
  shapes.test = 50;
  shapes.size = 64;
  shapes.seed = data_seed;
  vision::export_shapes(shapes);
  const vision::FolderDataset data = vision::FolderDataset::from_folder(dir.path.string());
  REQUIRE(data.vocab == std::vector<std::string>{"circle", "square"});

  vision::LoaderOptions train_options = vision::train_loader_options(64, 16, data_seed);
  vision::LoaderOptions valid_options = vision::valid_loader_options(64, int64_t(data.valid.size()));
  train_options.workers = valid_options.workers = 1;
  vision::DataLoader train(data.train, train_options), valid(data.valid, valid_options);

  manual_seed(model_seed);
  auto body = small_body();
  auto cam_head = vision::make_cam_head(64, 2);
  auto model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, cam_head});
  app::Learner learn(model, train, valid, {model->parameters()}, quiet_learner_options());
  learn.fit_one_cycle(epochs, {1e-3});

  CamRun run;
  run.accuracy = learn.validate().accuracy;
  valid.start_epoch(0);
  std::optional<vision::Batch> batch = valid.next();
  REQUIRE(batch);
  REQUIRE(batch->size() == 100);
  const vision::ClassMaps why = vision::cam(*body, *cam_head, batch->x);
  CHECK(why.maps.shape() == Shape{100, 8, 8});
  run.game = vision::pointing_game(why.maps, vision::read_object_boxes(batch->paths), 64, 64);
  MESSAGE("data seed " << data_seed << ", model seed " << model_seed << ": accuracy " << run.accuracy
                       << ", pointing game " << run.game.score << " (chance " << run.game.chance << " for a point, "
                       << run.game.chance_cells << " for a cell)");
  return run;
}

}  // namespace

TEST_CASE("CAM on shapes: a small CNN trained from scratch points at the object far above chance") {
  // Two data and initialisation seeds, so that one lucky start cannot pass the test.
  for (auto [data_seed, model_seed] : {std::pair<uint64_t, uint64_t>{5, 11}, {6, 12}}) {
    const CamRun run = train_and_point(data_seed, model_seed, 20);
    CHECK(run.accuracy >= 0.9);
    CHECK(run.game.total == 100);
    CHECK(run.game.chance < 0.15);  // objects cover about a tenth of the picture
    CHECK(run.game.chance_cells < 0.15);
    CHECK(run.game.score >= 0.4);  // five times chance
    CHECK(run.game.score >= 4 * run.game.chance);
  }
}
