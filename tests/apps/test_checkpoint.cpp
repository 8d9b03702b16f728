// The Learner's checkpoints (apps/learner/checkpoint.h): a round trip restores the model and Adam's
// state bit for bit; a run stopped after any epoch and resumed ends with the same weights, bit for
// bit, as a run that never stopped (fit_one_cycle, and fine_tune stopped in either fit); broken or
// mismatched checkpoints are clear errors that change nothing; a save that fails (disk full, a
// read-only folder) is an error that leaves the previous checkpoint as it was.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

#include "apps/learner/export.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/views.h"
#include "nn/models/fastai_head.h"
#include "nn/models/resnet.h"
#include "tensor/io/file.h"
#include "tensor/io/json.h"
#include "tensor/io/safetensors.h"
#include "tests/apps/learner_fixture.h"
#include "tests/apps/run_command.h"
#include "vision/augment.h"
#include "vision/transforms.h"

using namespace ember;
using ember::test::named;
using ember::test::same_bits;
using ember::test::snapshot;
using ember::test::TempDir;
using ember::test::TinyData;
using ember::test::TinyModel;

namespace {

struct Interrupt {};  // thrown from on_epoch: the run "stops" there, as a killed process would

app::LearnerOptions options(const std::string& checkpoint = "", int64_t stop_after_epochs = -1) {
  app::LearnerOptions o = test::quiet_learner_options();
  o.checkpoint_path = checkpoint;
  o.architecture = "tiny-test";
  o.categories = {"dark", "light"};
  if (stop_after_epochs > 0) {
    auto done = std::make_shared<int64_t>(0);
    o.on_epoch = [done, stop_after_epochs](const app::EpochRow&) {
      if (++*done == stop_after_epochs) throw Interrupt{};
    };
  }
  return o;
}

void check_same_state(const nn::StateDict& a, const nn::StateDict& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].first == b[i].first);
    CHECK(same_bits(a[i].second, b[i].second));
  }
}

void check_same_optimizer(app::Learner& a, app::Learner& b) {
  const auto& ga = a.optimizer().param_groups();
  const auto& gb = b.optimizer().param_groups();
  REQUIRE(ga.size() == gb.size());
  for (size_t g = 0; g < ga.size(); ++g) {
    CHECK(ga[g].lr == gb[g].lr);
    CHECK(ga[g].momentum == gb[g].momentum);
    for (size_t i = 0; i < ga[g].params.size(); ++i) {
      const nn::ParamState& sa = a.optimizer().state(ga[g].params[i]);
      const nn::ParamState& sb = b.optimizer().state(gb[g].params[i]);
      INFO("group " << g << " param " << i);
      CHECK(sa.step == sb.step);
      CHECK(sa.do_weight_decay == sb.do_weight_decay);
      REQUIRE(sa.exp_avg.defined() == sb.exp_avg.defined());
      if (sa.exp_avg.defined()) {
        CHECK(same_bits(sa.exp_avg, sb.exp_avg));
        CHECK(same_bits(sa.exp_avg_sq, sb.exp_avg_sq));
      }
    }
  }
}

// How a test trains: fit_one_cycle(3) or fine_tune(2) (1 frozen epoch + 2).
enum class Plan { OneCycle, FineTune };
std::vector<app::EpochRow> train(app::Learner& learn, Plan plan) {
  if (plan == Plan::OneCycle) return learn.fit_one_cycle(3, {2e-3, 1e-2});
  return learn.fine_tune(2, {.base_lr = 1e-2});
}

// Trains straight through, then again stopped after `stop_after` epochs and resumed by a fresh
// Learner whose model starts from other random weights; both must end with the same bits.
void check_resume(Plan plan, int64_t stop_after) {
  TinyData d;
  TempDir dir("learner_resume");
  const std::string path = dir.file("model.safetensors");

  TinyModel straight_model(11);
  app::Learner straight(straight_model.model, d.train, d.valid, straight_model.groups, options());
  const std::vector<app::EpochRow> straight_rows = train(straight, plan);

  TinyModel stopped_model(11);
  app::Learner stopped(stopped_model.model, d.train, d.valid, stopped_model.groups, options(path, stop_after));
  CHECK_THROWS_AS(train(stopped, plan), Interrupt);
  CHECK(stopped.epochs_trained() == stop_after);

  TinyModel resumed_model(99);  // other weights, other generator state: all must come from the file
  app::Learner resumed(resumed_model.model, d.train, d.valid, resumed_model.groups, options(path));
  resumed.resume(path);
  const std::vector<app::EpochRow> resumed_rows = train(resumed, plan);

  check_same_state(straight_model.model->state_dict(), resumed_model.model->state_dict());
  check_same_optimizer(straight, resumed);
  REQUIRE(resumed_rows.size() == straight_rows.size());
  for (size_t i = 0; i < straight_rows.size(); ++i) {
    INFO("row " << i);
    CHECK(resumed_rows[i].epoch == straight_rows[i].epoch);
    CHECK(resumed_rows[i].train_loss == straight_rows[i].train_loss);
    CHECK(resumed_rows[i].valid_loss == straight_rows[i].valid_loss);
    CHECK(resumed_rows[i].accuracy == straight_rows[i].accuracy);
  }
  CHECK(resumed.epochs_trained() == straight.epochs_trained());
}

}  // namespace

TEST_CASE("checkpoint: a round trip restores the weights, Adam's state and where training stands") {
  TinyData d;
  TempDir dir("learner_roundtrip");
  const std::string path = dir.file("model.safetensors");
  TinyModel a_model(21);
  app::Learner a(a_model.model, d.train, d.valid, a_model.groups, options(path));
  a.freeze();
  const std::vector<app::EpochRow> rows = a.fit_one_cycle(1, {1e-3, 1e-2});
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});  // no temp files left

  const SafetensorsFile file = load_safetensors(path);
  CHECK(file.metadata.at("architecture") == "tiny-test");
  CHECK(file.metadata.at("categories") == "[\"dark\", \"light\"]");
  CHECK(file.metadata.at("epoch") == "0");
  CHECK(file.metadata.at("phase") == "frozen");
  CHECK(file.tensors.count("0.0.weight") == 1);  // the model's own key names
  CHECK(file.tensors.count("1.3.weight") == 1);
  CHECK(file.tensors.count("optimizer/1.3.weight/exp_avg") == 1);
  CHECK(file.tensors.count("optimizer/0.0.weight/exp_avg") == 0);  // frozen: never stepped
  CHECK(file.tensors.at("optimizer/1.3.weight/step").item<int64_t>() == 4);
  CHECK(file.tensors.at("optimizer/1.3.bias/do_weight_decay").item<uint8_t>() == 0);

  TinyModel b_model(22);
  app::Learner b(b_model.model, d.train, d.valid, b_model.groups, options());
  const app::Checkpoint c = app::read_checkpoint(path, *b_model.model, b.optimizer());
  CHECK(c.state.fit == 0);
  CHECK(c.state.epoch == 0);
  CHECK(c.state.loader_epoch == 1);
  CHECK(c.state.frozen_groups == 1);
  REQUIRE(c.state.fits.size() == 1);
  CHECK(c.state.fits[0].lr_max == std::vector<double>{1e-3, 1e-2});
  REQUIRE(c.state.fits[0].rows.size() == 1);
  CHECK(c.state.fits[0].rows[0].valid_loss == rows[0].valid_loss);  // doubles survive exactly
  CHECK(c.state.fits[0].rows[0].train_loss == rows[0].train_loss);
  app::apply_checkpoint(c, *b_model.model, b.optimizer());
  check_same_state(a_model.model->state_dict(), b_model.model->state_dict());
  check_same_optimizer(a, b);
}

TEST_CASE("checkpoint: fit_one_cycle stopped after epoch 1 and resumed gives the same bits") {
  check_resume(Plan::OneCycle, 1);
}

TEST_CASE("checkpoint: fine_tune stopped after its frozen fit, or inside the unfrozen one, resumes exactly") {
  SUBCASE("after the frozen epoch") { check_resume(Plan::FineTune, 1); }
  SUBCASE("after the first unfrozen epoch") { check_resume(Plan::FineTune, 2); }
}

TEST_CASE("checkpoint: broken or mismatched checkpoints are clear errors that change nothing") {
  TinyData d;
  TempDir dir("learner_bad_checkpoint");
  const std::string path = dir.file("model.safetensors");
  {
    TinyModel m(31);
    app::Learner learn(m.model, d.train, d.valid, m.groups, options(path));
    learn.fit_one_cycle(1, {1e-3});
  }
  const std::string good = read_file(path, "test");

  TinyModel m(32);
  const nn::StateDict before = snapshot(*m.model);
  auto resume_error = [&](const std::string& file, app::LearnerOptions o = options()) {
    app::Learner learn(m.model, d.train, d.valid, m.groups, o);
    std::string message;
    try {
      learn.resume(file);
    } catch (const Error& e) {
      message = e.what();
    }
    check_same_state(before, m.model->state_dict());  // nothing was loaded
    return message;
  };

  const std::string truncated = dir.file("truncated.safetensors");
  write_file_atomically(truncated, good.substr(0, good.size() / 2), "test");
  CHECK(resume_error(truncated).find("checkpoint '" + truncated + "': cannot be read") != std::string::npos);

  const std::string flipped = dir.file("flipped.safetensors");  // one bit of the last tensor's data
  std::string bytes = good;
  bytes[bytes.size() - 3] ^= 0x10;
  write_file_atomically(flipped, bytes, "test");
  CHECK(resume_error(flipped).find("checkpoint '" + flipped + "': is corrupted") != std::string::npos);

  const std::string plain = dir.file("plain.safetensors");
  nn::save_safetensors(*m.model, plain);
  CHECK(resume_error(plain).find("is not an Ember Learner checkpoint") != std::string::npos);

  CHECK(resume_error(dir.file("missing.safetensors")).find("missing.safetensors") != std::string::npos);

  {  // another model: 5 channels instead of 4
    TinyModel wider(33, 5);
    app::Learner learn(wider.model, d.train, d.valid, wider.groups, options());
    CHECK_THROWS_WITH(learn.resume(path), doctest::Contains("does not match the model"));
    CHECK_THROWS_WITH(learn.resume(path),
                      doctest::Contains("\"0.0.weight\" is float32 [4, 3, 3, 3], the model's is float32 [5, 3, 3, 3]"));
  }

  app::LearnerOptions other_classes = options();
  other_classes.categories = {"cat", "dog"};
  CHECK(resume_error(path, other_classes).find("was written for the categories [ 'dark' 'light' ]") !=
        std::string::npos);

  app::LearnerOptions other_wd = options();
  other_wd.adam.wd = 0.1;
  CHECK(resume_error(path, other_wd).find("was saved with wd = 0.01, this optimiser has 0.1") != std::string::npos);

  {  // a resumed run must repeat the stopped run's calls
    app::Learner learn(m.model, d.train, d.valid, m.groups, options());
    learn.resume(path);
    CHECK_THROWS_WITH(learn.fit_one_cycle(2, {1e-3}), doctest::Contains("resume with the same settings"));
  }
  CHECK(read_file(path, "test") == good);  // the checkpoint itself was never touched
}

TEST_CASE("checkpoint: a failed save (disk full, read-only folder) is an error; the last checkpoint stays") {
  TinyData d;
  TempDir dir("learner_unwritable");
  const std::string path = dir.file("model.safetensors");
  TinyModel m(41);
  app::Learner learn(m.model, d.train, d.valid, m.groups, options(path));
  learn.fit_one_cycle(1, {1e-3});
  const std::string good = read_file(path, "test");

  SUBCASE("disk full (a file size limit)") {
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto previous = std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
    rlimit small = old;
    small.rlim_cur = 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string message;
    try {
      learn.fit_one_cycle(1, {1e-3});
    } catch (const Error& e) {
      message = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    CHECK(message.find("could not save the checkpoint '" + path + "'") != std::string::npos);
  }
  SUBCASE("a read-only folder") {
    if (geteuid() == 0) {
      MESSAGE("skipped: root may write into a read-only folder");
      return;
    }
    chmod(dir.path.c_str(), 0555);
    CHECK_THROWS_WITH(learn.fit_one_cycle(1, {1e-3}), doctest::Contains("could not save the checkpoint"));
    chmod(dir.path.c_str(), 0755);
  }
  CHECK(read_file(path, "test") == good);
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
}

// ---- export for `ember predict` (apps/learner/export.h) ----------------------------------------------

TEST_CASE("export: torchvision names for the body, head.<i> for fastai's head") {
  CHECK(app::exported_name("0.0.weight") == "conv1.weight");
  CHECK(app::exported_name("0.1.running_mean") == "bn1.running_mean");
  CHECK(app::exported_name("0.4.0.conv1.weight") == "layer1.0.conv1.weight");
  CHECK(app::exported_name("0.7.0.downsample.1.num_batches_tracked") == "layer4.0.downsample.1.num_batches_tracked");
  CHECK(app::exported_name("1.8.weight") == "head.8.weight");
  CHECK(app::exported_name("1.2.running_var") == "head.2.running_var");
  CHECK_THROWS_WITH(app::exported_name("0.3.weight"), doctest::Contains("not a key of Sequential(ResNet body"));
  CHECK_THROWS_WITH(app::exported_name("fc.weight"), doctest::Contains("not a key"));
}

namespace {

// A fastai ResNet18 learner's model, Sequential(body, head), with non-default running means.
std::shared_ptr<nn::Sequential> fastai_resnet18(uint64_t seed) {
  manual_seed(seed);
  auto body = nn::resnet18()->body();
  auto model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, nn::create_head(512, 2)});
  NoGradGuard no_grad;  // running statistics that are not the defaults, so that a mix-up would show
  for (auto& [name, t] : model->named_buffers())
    if (name.find("running_mean") != std::string::npos) fill_(t, 0.01 * double(name.size() % 7));
  model->eval();
  return model;
}

const app::FastaiResnetInfo kInfo{.arch = "resnet18", .categories = {"dark", "light"}, .image_size = 32};

// The same model as a Learner checkpoint (Sequential names + optimiser state).
void write_as_checkpoint(const nn::Module& model, const std::string& path) {
  nn::FastaiAdam adam(model.parameters());
  app::TrainingState state{.architecture = "resnet18-fastai-head", .categories = {"dark", "light"}, .image_size = 32};
  state.fits.push_back({.n_epoch = 1, .lr_max = {1e-3}, .rows = {app::EpochRow{}}});
  app::write_checkpoint(path, model, adam, state);
}

}  // namespace

TEST_CASE("export: an exported fastai ResNet, or a Learner checkpoint of one, loads back bit for bit") {
  TempDir dir("learner_export");
  auto model = fastai_resnet18(51);
  const std::string exported = dir.file("export.safetensors");
  app::export_fastai_resnet(*model, kInfo, exported);

  const SafetensorsFile file = load_safetensors(exported);
  CHECK(file.metadata.at("architecture") == "resnet18-fastai-head");
  CHECK(file.metadata.at("num_classes") == "2");
  CHECK(file.metadata.at("image_size") == "32");
  CHECK(file.tensors.count("conv1.weight") == 1);
  CHECK(file.tensors.count("layer4.1.bn2.running_var") == 1);
  CHECK(file.tensors.count("head.8.weight") == 1);
  CHECK(file.tensors.size() == model->state_dict().size());

  const app::FastaiResnet loaded = app::load_fastai_resnet(exported);
  CHECK(loaded.num_classes == 2);
  CHECK(loaded.info.image_size == 32);
  CHECK(loaded.info.categories == std::vector<std::string>{"dark", "light"});
  check_same_state(model->state_dict(), loaded.model->state_dict());

  const std::string checkpoint = dir.file("checkpoint.safetensors");
  write_as_checkpoint(*model, checkpoint);
  check_same_state(model->state_dict(), app::load_fastai_resnet(checkpoint).model->state_dict());

  // Wrong files: a plain torchvision ResNet named as a fastai one, then with a stray head tensor.
  const std::string plain = dir.file("plain.safetensors");
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind("head.", 0) != 0) tensors[name] = t;
  tensors["fc.weight"] = zeros({1000, 512});
  save_safetensors(plain, tensors, {{"architecture", "resnet18-fastai-head"}});
  CHECK_THROWS_WITH(app::load_fastai_resnet(plain), doctest::Contains("no fastai head"));
  tensors["head.8.weight"] = zeros({2, 512});
  save_safetensors(plain, tensors, {{"architecture", "resnet18-fastai-head"}});
  std::string message;
  try {
    app::load_fastai_resnet(plain);
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("'" + plain + "': ") == 0);
  CHECK(message.find("1 tensors that a resnet18-fastai-head model does not have") != std::string::npos);  // fc
}

TEST_CASE("export: ember predict classifies with an exported fastai ResNet and with a Learner checkpoint") {
  TempDir dir("learner_predict");
  auto model = fastai_resnet18(52);
  const std::string exported = dir.file("export.safetensors"), checkpoint = dir.file("checkpoint.safetensors");
  app::export_fastai_resnet(*model, kInfo, exported);
  write_as_checkpoint(*model, checkpoint);

  // fastai's valid transform: the centre crop of Resize(32), /255, Normalize.
  const std::string png = dir.file("wide.png");
  vision::Image image(40, 30);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t((i * 37) % 251);
  vision::save_png(image, png);
  Tensor x = reshape(vision::normalize(vision::image_to_tensor(vision::resize_crop(image, 32, 32))), {1, 3, 32, 32});
  std::vector<float> expected;
  {
    NoGradGuard no_grad;
    expected = to_vector<float>((*model)(x));
  }
  for (const std::string& weights : {exported, checkpoint}) {
    const test::CommandOutput r = test::run_ember("predict --json --weights " + weights + " " + png);
    INFO(weights << "\n" << r.err);
    REQUIRE(r.status == 0);
    const json::Value line = json::parse(r.out);
    CHECK(line.find("arch")->as_string() == "resnet18-fastai-head");
    const json::Value::Array& logits = line.find("logits")->as_array();
    REQUIRE(logits.size() == 2);
    for (size_t k = 0; k < 2; ++k) CHECK(logits[k].as_double() == doctest::Approx(expected[k]).epsilon(1e-5));
    const std::string best = expected[1] > expected[0] ? "light" : "dark";
    CHECK(line.find("top")->as_array()[0].find("label")->as_string() == best);
  }
}
