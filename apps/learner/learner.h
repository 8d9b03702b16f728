// fastai's Learner: the training loop of exercise 1 (reference spec, sections 6-7). It trains a
// model on a train DataLoader, validates on a valid one after every epoch, drives fastai's Adam with
// the one-cycle schedule, freezes and unfreezes parameter groups, prints fastai's progress bars and
// epoch table, and checkpoints after every epoch so that a stopped run can be resumed.
//
//   auto resnet = nn::resnet34();                       // + nn::load_torchvision_weights(*resnet, ...)
//   auto body = resnet->body();
//   auto head = nn::create_head(512, data.vocab.size());
//   auto model = std::make_shared<nn::Sequential>(nn::Sequential::List{body, head});
//   app::Learner learn(model, train_loader, valid_loader, nn::resnet_split(*body, *head),
//                      {.device = device, .checkpoint_path = "out/ex1/model.safetensors",
//                       .architecture = "resnet34-fastai-head", .categories = data.vocab,
//                       .image_size = 224});           // `ember predict --weights` reads the checkpoint
//   if (resume) learn.resume("out/ex1/model.safetensors");   // then the same call as the first run
//   std::vector<app::EpochRow> rows = learn.fine_tune(1);     // fastai's learn.fine_tune(1)
//
// The plain Learner of the CAM model has one group: Learner(net, train, valid, {net->parameters()}).
//
// What one epoch does (fastai/learner.py): model.train(); for each training batch: set every group's
// lr and momentum from the schedule, forward, loss = cross_entropy(logits, y) (fastai's
// CrossEntropyLossFlat), stop if it is NaN or infinite, backward, optimiser step, zero_grad; smooth
// the loss (AvgSmoothLoss, recorder.h). Then model.eval() and, without autograd, the valid batches:
// valid_loss and accuracy are means over the batches weighted by their sizes (fastai's AvgLoss and
// AvgMetric). Then the table row is printed, on_epoch is called, and the checkpoint is written.
//
// fit_one_cycle(n, lr_max, {div, div_final, pct_start, moms}) sets, before training step k of the
// fit's T = n * len(train) steps, lr_g = one-cycle(k / T) of lr_max_g for each group g and the
// momentum (Adam's beta1) alike (nn/schedule.h). The optimiser (and its state) lives as long as the
// Learner (fastai's fit keeps it); the smoothed loss restarts with each fit; the train loader's epoch
// number (its shuffle and crops) keeps counting across fits.
//
// fine_tune(epochs, {base_lr = 2e-3, freeze_epochs = 1, lr_mult = 100, pct_start = 0.3, div = 5}) is
// fastai's code (fastai/callback/schedule.py):
//   freeze(); fit_one_cycle(freeze_epochs, lr_slice(base_lr), pct_start = 0.99)   // div 25
//   base_lr /= 2; unfreeze();
//   fit_one_cycle(epochs, lr_slice(base_lr / lr_mult, base_lr), pct_start, div)
// With 3 groups: lr_max = [2e-4, 2e-4, 2e-3] frozen, then [1e-5, 1e-4, 1e-3].
//
// freeze_to(n) (fastai's Learner.freeze_to): groups before n stop training (requires_grad false)
// except their BatchNorm params (fastai's force_train, with train_bn), groups from n on train; then
// the optimiser's state is cleared (Adam's moments restart; unfreeze() = freeze_to(0) clears it
// too). freeze() = freeze_to(-1): all groups but the last. BatchNorm layers of frozen groups stay in
// training mode, so their running statistics keep updating, as in fastai. With one group, freeze()
// freezes nothing.
//
// fastai's Adam (nn/adam.h: mom 0.9, sqr_mom 0.99, eps 1e-5, wd 0.01 decoupled), with weight decay
// off (do_weight_decay false) for every norm-layer param and every bias (fastai's wd_bn_bias=False).
//
// Checkpoints (checkpoint.h): with checkpoint_path set, after every epoch one safetensors file holds
// the model's state_dict (its own key names: "0.4.0.conv1.weight" for Sequential(body, head)), the
// optimiser's state and where training stands, written atomically. resume(path) reads and checks
// it; the following fit_one_cycle / fine_tune calls, which must be the same calls as in the stopped
// run, skip the fits the checkpoint finished and continue after its epoch, with the same results as
// a run that never stopped (same weights, bit for bit, on the CPU). A NaN or infinite loss throws an
// ember::Error naming the fit, the epoch and the batch, and leaves the last checkpoint as it was.
#pragma once
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/learner/checkpoint.h"
#include "apps/learner/recorder.h"
#include "nn/adam.h"
#include "nn/module.h"
#include "nn/schedule.h"
#include "vision/data_loader.h"

namespace ember::app {

struct LearnerOptions {
  Device device = Device::cpu();
  nn::FastaiAdamOptions adam{};                         // fastai's Adam defaults; .lr is replaced by the schedule
  bool wd_bn_bias = false;                              // fastai: no weight decay on norm-layer params and biases
  bool train_bn = true;                                 // fastai: BatchNorm params of frozen groups still train
  bool progress = true;                                 // progress bars on stderr (fastprogress's)
  std::ostream* table = &std::cout;                     // the epoch table; nullptr: not printed
  std::function<void(const EpochRow&)> on_epoch{};      // after each epoch's row (e.g. for a report)
  std::function<void(const nn::Optimizer&)> on_step{};  // before each training step, hypers set
  std::string checkpoint_path{};                        // "": no checkpoints
  std::string architecture{};                           // checkpoint metadata, e.g. "resnet34-fastai-head"
  std::vector<std::string> categories{};                // checkpoint metadata: the vocab
  int64_t image_size = 0;                               // checkpoint metadata (for ember predict); 0: none
};

struct FineTuneOptions {
  double base_lr = 2e-3;
  int64_t freeze_epochs = 1;
  double lr_mult = 100;
  double pct_start = 0.3;
  double div = 5;
};

// The mean loss and accuracy over a loader (batch-size-weighted), and how many items it held.
struct Validation {
  double loss = 0, accuracy = 0;
  int64_t items = 0;
};

class Learner {
 public:
  // The loaders must outlive the Learner. Every param of param_groups must be one of the model's
  // (they are the groups of the optimiser); the model is moved to options.device.
  Learner(std::shared_ptr<nn::Module> model, vision::DataLoader& train, vision::DataLoader& valid,
          std::vector<std::vector<Tensor>> param_groups, LearnerOptions options = {});

  void freeze_to(int64_t n);  // negative: counted from the end
  void freeze() { freeze_to(-1); }
  void unfreeze() { freeze_to(0); }
  int64_t frozen_groups() const { return frozen_groups_; }

  // lr_max: one per param group, or one for all. Returns this fit's rows.
  std::vector<EpochRow> fit_one_cycle(int64_t n_epoch, std::vector<double> lr_max,
                                      const nn::OneCycleOptions& options = {});
  // Returns the rows of both fits (the frozen one first; epochs counted from 0 in each).
  std::vector<EpochRow> fine_tune(int64_t epochs, const FineTuneOptions& options = {});

  // The model in eval mode, without autograd, over `loader` (default: the valid loader).
  Validation validate();
  Validation validate(vision::DataLoader& loader);

  // Reads and checks a checkpoint now (an error names the file and what is wrong, and changes
  // nothing); the next fit_one_cycle / fine_tune calls continue from it.
  void resume(const std::string& checkpoint_path);

  nn::Module& model() { return *model_; }
  std::shared_ptr<nn::Module> model_ptr() const { return model_; }
  nn::FastaiAdam& optimizer() { return *optimizer_; }
  const std::vector<EpochRow>& history() const { return history_; }  // every row of every fit
  int64_t epochs_trained() const { return loader_epoch_; }           // across fits

 private:
  std::vector<EpochRow> train_fit(int64_t fit, int64_t n_epoch, const nn::OneCycleSchedule& schedule,
                                  int64_t first_epoch, std::vector<EpochRow> rows);
  void train_epoch(int64_t fit, int64_t epoch, int64_t n_epoch, const nn::OneCycleSchedule& schedule);
  void save_checkpoint(int64_t fit, int64_t epoch);
  std::string phase_name(int64_t fit) const;

  std::shared_ptr<nn::Module> model_;
  vision::DataLoader& train_;
  vision::DataLoader& valid_;
  LearnerOptions options_;
  std::vector<std::vector<Tensor>> groups_;
  std::vector<std::vector<bool>> is_norm_param_;  // [group][param]: a norm layer's param (force_train)
  std::unique_ptr<nn::FastaiAdam> optimizer_;
  std::optional<EpochTable> table_;

  int64_t frozen_groups_ = 0;
  int64_t fits_started_ = 0;  // fit_one_cycle calls so far (fine_tune makes two)
  int64_t loader_epoch_ = 0;  // the train loader's next epoch number
  AvgSmoothLoss smooth_loss_;
  std::vector<FitRecord> fits_;  // every fit of the run, with its rows (saved in checkpoints)
  std::vector<EpochRow> history_;
  std::optional<Checkpoint> pending_resume_;               // read by resume(), applied by the fit it names
  std::optional<std::pair<int64_t, int64_t>> last_saved_;  // (fit, epoch) of the last checkpoint
};

}  // namespace ember::app
