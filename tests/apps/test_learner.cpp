// The Learner (apps/learner) against fastai's rules, each written out again here from the
// reference spec (sections 6-7) rather than taken from the code under test: the smoothed loss, the
// console table, the one-cycle lr/momentum of every group at every step of fine_tune, freezing
// (frozen weights keep their bits, BatchNorm still trains), weight decay off for BN params and
// biases, valid_loss/accuracy recomputed image by image, and a NaN loss stopping the run.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "tensor/io/file.h"
#include "tests/apps/learner_fixture.h"

using namespace ember;
using ember::test::named;
using ember::test::quiet_learner_options;
using ember::test::same_bits;
using ember::test::snapshot;
using ember::test::TempDir;
using ember::test::TinyData;
using ember::test::TinyModel;

namespace {

// fastai's schedule, transcribed from the spec: sched_cos, and combine_scheds with float32 edges
// cumsum([0, pct, 1 - pct]) and a float32 position / fraction.
double reference_cos(double a, double b, double p) { return a + (1 + std::cos(M_PI * (1 - p))) * (b - a) / 2; }
double reference_one_cycle(int64_t k, int64_t total, double pct, double start, double middle, double end) {
  const float pos = float(double(k) / double(total));
  const float edges[3] = {0.0f, float(pct), float(float(pct) + float(1 - pct))};
  const int i = pos >= edges[1] ? 1 : 0;
  const float p = (pos - edges[i]) / (edges[i + 1] - edges[i]);
  return i == 0 ? reference_cos(start, middle, p) : reference_cos(middle, end, p);
}

}  // namespace

TEST_CASE("learner: AvgSmoothLoss is the debiased EMA, i.e. a weighted mean of the losses") {
  app::AvgSmoothLoss smooth;
  CHECK(std::isnan(smooth.value()));
  const std::vector<double> losses{2.0, 1.0, 3.0, 0.5, 0.25, 4.0, 1.5};
  for (size_t n = 1; n <= losses.size(); ++n) {
    smooth.accumulate(losses[n - 1]);
    // sum_i w_i l_i / sum_i w_i with w_i = 0.98^(n-i): the closed form of the debiased average.
    double weighted = 0, weights = 0;
    for (size_t i = 1; i <= n; ++i) {
      const double w = std::pow(0.98, double(n - i));
      weighted += w * losses[i - 1], weights += w;
    }
    CHECK(smooth.value() == doctest::Approx(weighted / weights).epsilon(1e-12));
  }
  CHECK(smooth.count() == 7);
  smooth.reset();
  smooth.accumulate(0.75);
  CHECK(smooth.value() == doctest::Approx(0.75).epsilon(1e-15));  // one loss: itself, no pull towards 0
}

TEST_CASE("learner: the table is fastprogress's console table, times as fastai's format_time") {
  std::ostringstream out;
  app::EpochTable table(out);
  table.write({.epoch = 0, .train_loss = 0.5, .valid_loss = 0.4, .accuracy = 0.9, .seconds = 72.9});
  table.write({.epoch = 12, .train_loss = 0.0123456, .valid_loss = 1.25, .accuracy = 1, .seconds = 3725});
  // names padded to 8 and joined by 2 spaces; each cell padded to its name's width + 2
  CHECK(out.str() ==
        "epoch     train_loss  valid_loss  accuracy  time    \n"
        "0         0.500000    0.400000    0.900000  01:12     \n"
        "12        0.012346    1.250000    1.000000  1:02:05   \n");
  CHECK(app::format_time(59.99) == "00:59");
  CHECK(app::format_time(0) == "00:00");
  CHECK(app::format_time(3600) == "1:00:00");
}

TEST_CASE("learner: fine_tune sets fastai's one-cycle lr and momentum for every group at every step") {
  TinyData d;
  TinyModel m(1);
  struct Step {
    double lr0, lr1, mom0, mom1;
    bool conv_trains;
  };
  std::vector<Step> steps;
  app::LearnerOptions o = quiet_learner_options();
  o.on_step = [&](const nn::Optimizer& opt) {
    const auto& g = opt.param_groups();
    steps.push_back({g[0].lr, g[1].lr, g[0].momentum, g[1].momentum, m.body->at<nn::Conv2d>(0).weight.requires_grad()});
  };
  app::Learner learn(m.model, d.train, d.valid, m.groups, o);
  const std::vector<app::EpochRow> rows = learn.fine_tune(2);  // freeze_epochs 1, base_lr 2e-3
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].epoch == 0);
  CHECK(rows[1].epoch == 0);  // each fit counts its epochs from 0
  CHECK(rows[2].epoch == 1);

  const int64_t n_iter = 4;  // 16 train images, bs 4, drop_last
  REQUIRE(steps.size() == size_t(n_iter * 3));
  // Frozen fit: slice(2e-3) over 2 groups = [2e-4, 2e-3], pct_start 0.99, div 25, div_final 1e5.
  // Unfrozen fit: base_lr 1e-3, slice(1e-5, 1e-3) = even_mults = [1e-5, 1e-3], pct_start 0.3, div 5.
  for (size_t s = 0; s < steps.size(); ++s) {
    const bool frozen = s < size_t(n_iter);
    const int64_t k = frozen ? int64_t(s) : int64_t(s) - n_iter, total = frozen ? n_iter : 2 * n_iter;
    const double pct = frozen ? 0.99 : 0.3, div = frozen ? 25 : 5;
    const double lr_max0 = frozen ? 2e-4 : 1e-5, lr_max1 = frozen ? 2e-3 : 1e-3;
    INFO("step " << s);
    CHECK(steps[s].lr0 ==
          doctest::Approx(reference_one_cycle(k, total, pct, lr_max0 / div, lr_max0, lr_max0 / 1e5)).epsilon(1e-12));
    CHECK(steps[s].lr1 ==
          doctest::Approx(reference_one_cycle(k, total, pct, lr_max1 / div, lr_max1, lr_max1 / 1e5)).epsilon(1e-12));
    const double mom = reference_one_cycle(k, total, pct, 0.95, 0.85, 0.95);
    CHECK(steps[s].mom0 == doctest::Approx(mom).epsilon(1e-12));
    CHECK(steps[s].mom1 == doctest::Approx(mom).epsilon(1e-12));
    CHECK(steps[s].conv_trains == !frozen);
  }
  CHECK(steps[0].lr1 == doctest::Approx(2e-3 / 25).epsilon(1e-12));  // pos 0: lr_max / div
  CHECK(steps[n_iter].lr1 == doctest::Approx(1e-3 / 5).epsilon(1e-12));
  CHECK(learn.epochs_trained() == 3);
}

TEST_CASE("learner: frozen params keep their bits while BatchNorm and the head train; unfreeze clears Adam") {
  TinyData d;
  TinyModel m(2);
  app::Learner learn(m.model, d.train, d.valid, m.groups, quiet_learner_options());
  learn.freeze();
  CHECK(learn.frozen_groups() == 1);
  auto& conv = m.body->at<nn::Conv2d>(0);
  auto& bn = m.body->at<nn::BatchNorm2d>(1);
  CHECK_FALSE(conv.weight.requires_grad());
  CHECK_FALSE(conv.bias.requires_grad());
  CHECK(bn.weight.requires_grad());  // fastai's force_train for norm layers
  CHECK(bn.bias.requires_grad());

  const nn::StateDict before = snapshot(*m.model);
  learn.fit_one_cycle(1, {1e-2, 1e-2});
  const nn::StateDict after = m.model->state_dict();
  CHECK(same_bits(named(before, "0.0.weight"), named(after, "0.0.weight")));
  CHECK(same_bits(named(before, "0.0.bias"), named(after, "0.0.bias")));
  for (const char* trains :
       {"0.1.weight", "0.1.bias", "0.1.running_mean", "0.1.running_var", "1.3.weight", "1.3.bias"}) {
    INFO(trains);
    CHECK_FALSE(same_bits(named(before, trains), named(after, trains)));
  }
  // BN stayed in training mode: one running-stat update per training batch (validation adds none).
  CHECK(named(after, "0.1.num_batches_tracked").item<int64_t>() == 4);
  CHECK(learn.optimizer().state(conv.weight).step == 0);
  CHECK(learn.optimizer().state(bn.weight).step == 4);

  learn.unfreeze();
  CHECK(conv.weight.requires_grad());
  CHECK(learn.optimizer().state(bn.weight).step == 0);  // freeze_to clears the optimiser's state
  CHECK_FALSE(learn.optimizer().state(bn.weight).exp_avg.defined());
}

TEST_CASE("learner: weight decay is off for norm-layer params and biases (fastai's wd_bn_bias=False)") {
  TinyData d;
  TinyModel m(3);
  app::Learner learn(m.model, d.train, d.valid, m.groups, quiet_learner_options());
  const std::map<std::string, bool> expected{{"0.0.weight", true}, {"0.0.bias", false},  {"0.1.weight", false},
                                             {"0.1.bias", false},  {"1.3.weight", true}, {"1.3.bias", false}};
  for (const auto& [name, p] : m.model->named_parameters()) {
    INFO(name);
    REQUIRE(expected.count(name));
    CHECK(learn.optimizer().state(p).do_weight_decay == expected.at(name));
  }
  CHECK(learn.optimizer().param_groups()[0].weight_decay == 0.01);
  CHECK(learn.optimizer().param_groups()[0].eps == 1e-5);
  CHECK(learn.optimizer().param_groups()[0].beta2 == 0.99);

  TinyModel all(3);
  app::LearnerOptions o = quiet_learner_options();
  o.wd_bn_bias = true;
  app::Learner with_wd(all.model, d.train, d.valid, all.groups, o);
  for (const Tensor& p : all.model->parameters()) CHECK(with_wd.optimizer().state(p).do_weight_decay);
}

TEST_CASE("learner: valid_loss and accuracy equal a recomputation image by image; the table prints them") {
  TinyData d;
  TinyModel m(4);
  std::ostringstream table;
  std::vector<app::EpochRow> seen;
  app::LearnerOptions o = quiet_learner_options();
  o.table = &table;
  o.on_epoch = [&](const app::EpochRow& row) { seen.push_back(row); };
  app::Learner learn(m.model, d.train, d.valid, m.groups, o);
  const std::vector<app::EpochRow> rows = learn.fit_one_cycle(5, {5e-2});
  REQUIRE(rows.size() == 5);
  REQUIRE(seen.size() == 5);

  // Each valid image alone (batch size 1), the loss by hand in double: logsumexp(z) - z_y.
  vision::LoaderOptions one = TinyData::valid_options();
  one.batch_size = 1;
  vision::DataLoader single(d.data.valid, one);
  m.model->eval();
  NoGradGuard no_grad;
  single.start_epoch(0);
  double loss_sum = 0;
  int64_t correct = 0, n = 0;
  while (std::optional<vision::Batch> batch = single.next()) {
    const std::vector<float> z = to_vector<float>((*m.model)(batch->x));
    const int64_t y = to_vector<int64_t>(batch->y)[0];
    const double top = std::max(z[0], z[1]);
    loss_sum += top + std::log(std::exp(z[0] - top) + std::exp(z[1] - top)) - z[size_t(y)];
    correct += (z[1] > z[0] ? 1 : 0) == y ? 1 : 0;
    ++n;
  }
  REQUIRE(n == 8);
  CHECK(rows.back().valid_loss == doctest::Approx(loss_sum / double(n)).epsilon(1e-5));
  CHECK(rows.back().accuracy == double(correct) / double(n));
  CHECK(rows.back().accuracy >= 0.75);  // red vs blue: it does learn
  CHECK(rows.back().train_loss < rows.front().train_loss);
  CHECK(seen.back().valid_loss == rows.back().valid_loss);

  std::istringstream lines(table.str());
  std::string header, line;
  std::getline(lines, header);
  CHECK(header == "epoch     train_loss  valid_loss  accuracy  time    ");
  for (const app::EpochRow& row : rows) {
    REQUIRE(std::getline(lines, line));
    const std::vector<std::string> cells = app::format_row(row);
    std::istringstream words(line);
    for (const std::string& cell : cells) {
      std::string word;
      words >> word;
      CHECK(word == cell);
    }
  }
}

TEST_CASE("learner: a NaN loss stops training, naming the fit, epoch and batch; the last checkpoint is kept") {
  TinyData d;
  TinyModel m(5);
  TempDir dir("learner_nan");
  const std::string path = dir.file("model.safetensors");
  std::string saved_bytes;
  app::LearnerOptions o = quiet_learner_options();
  o.checkpoint_path = path;
  o.on_epoch = [&](const app::EpochRow& row) {
    if (row.epoch != 0) return;
    saved_bytes = read_file(path, "test");
    NoGradGuard no_grad;
    Tensor w = m.head->at<nn::Linear>(3).weight;
    fill_(w, std::nan(""));  // poison the weights: the next forward gives NaN logits
  };
  app::Learner learn(m.model, d.train, d.valid, m.groups, o);
  std::string message;
  try {
    learn.fit_one_cycle(3, {1e-3});
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("training loss is nan") != std::string::npos);
  CHECK(message.find("epoch 1 of fit 0 (unfrozen)") != std::string::npos);
  CHECK(message.find("batch 1 of 4") != std::string::npos);
  CHECK(message.find("the last good checkpoint '" + path + "' (fit 0, epoch 0) is kept") != std::string::npos);
  CHECK(read_file(path, "test") == saved_bytes);
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});

  TinyModel fresh(6);  // from scratch, without checkpoints: the error says so
  {
    NoGradGuard no_grad;
    Tensor w = fresh.head->at<nn::Linear>(3).weight;
    fill_(w, INFINITY);
  }
  app::Learner inf(fresh.model, d.train, d.valid, fresh.groups, quiet_learner_options());
  CHECK_THROWS_WITH(inf.fine_tune(1), doctest::Contains("batch 1 of 4; checkpoints are off"));
}

TEST_CASE("learner: bad arguments are clear errors") {
  TinyData d;
  TinyModel m(7), other(8);
  CHECK_THROWS_WITH(app::Learner(m.model, d.train, d.valid, {}, quiet_learner_options()),
                    doctest::Contains("no param groups"));
  CHECK_THROWS_WITH(app::Learner(m.model, d.train, d.valid, {other.model->parameters()}, quiet_learner_options()),
                    doctest::Contains("is not a parameter of the model"));
  app::Learner learn(m.model, d.train, d.valid, m.groups, quiet_learner_options());
  CHECK_THROWS_WITH(learn.freeze_to(-3), doctest::Contains("only 2 param groups"));
  CHECK_THROWS_WITH(learn.fit_one_cycle(1, {1e-3, 1e-3, 1e-3}),
                    doctest::Contains("3 values of lr_max for 2 param groups"));
}

TEST_CASE("learner: an image that stops decoding mid-run is skipped with a warning; training goes on") {
  TempDir dir("learner_bad_image");
  const vision::FolderDataset data = TinyData::written(dir.path / "images");
  std::vector<std::string> warnings;
  vision::LoaderOptions train_options = TinyData::train_options(), valid_options = TinyData::valid_options();
  train_options.warn = valid_options.warn = [&](const std::string& w) { warnings.push_back(w); };
  vision::DataLoader train(data.train, train_options), valid(data.valid, valid_options);

  // After epoch 0, one train image and one test image are cut short, as by a copy that did not finish.
  const std::string bad_train = data.train[3].path, bad_valid = data.valid[0].path;
  app::LearnerOptions o = quiet_learner_options();
  o.checkpoint_path = (dir.path / "model.safetensors").string();
  o.on_epoch = [&](const app::EpochRow& row) {
    if (row.epoch != 0) return;
    for (const std::string& path : {bad_train, bad_valid}) {
      std::string bytes = read_file(path, "test");
      bytes.resize(bytes.size() / 2);
      write_file_atomically(path, bytes, "test");
    }
  };
  TinyModel m(9);
  app::Learner learn(m.model, train, valid, m.groups, o);
  const std::vector<app::EpochRow> rows = learn.fit_one_cycle(3, {1e-3});
  REQUIRE(rows.size() == 3);
  for (const app::EpochRow& row : rows) {
    CHECK(std::isfinite(row.train_loss));
    CHECK(std::isfinite(row.valid_loss));
  }
  // One warning per bad file, naming it, the first time it is met; later epochs skip it quietly.
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find(bad_train) != std::string::npos);
  CHECK(warnings[1].find(bad_valid) != std::string::npos);
  CHECK(train.skipped_files() == 1);
  CHECK(valid.skipped_files() == 1);
  // The validation after the damage counts the 7 test images left, not 8.
  CHECK(learn.validate().items == 7);
  CHECK(std::filesystem::exists(o.checkpoint_path));
}
