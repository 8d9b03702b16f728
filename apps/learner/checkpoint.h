// The Learner's checkpoint: everything needed to continue a stopped training run exactly where it
// stopped, in one safetensors file, so that the weights and the optimiser state can never come
// from different epochs (the file is replaced atomically: temp file + rename, tensor/io/safetensors.h).
//
//   app::write_checkpoint("model.safetensors", model, optimizer, state);      // after an epoch
//   app::Checkpoint c = app::read_checkpoint("model.safetensors", model, optimizer);  // checks all
//   app::apply_checkpoint(c, model, optimizer);                              // then copies
//
// The file holds
//   <state_dict key>                    the model's parameters and buffers under their own names
//                                       ("0.4.0.conv1.weight", "1.2.running_mean", ...), float32
//   optimizer/<param name>/exp_avg      Adam's m and v for each param that has taken a step
//   optimizer/<param name>/exp_avg_sq
//   optimizer/<param name>/step         int64 scalar: the steps it has taken (bias corrections)
//   optimizer/<param name>/do_weight_decay   uint8 scalar: 0 for norm-layer params and biases
// and the metadata (strings; JSON where a value has structure):
//   format        "ember-learner-checkpoint/1"
//   architecture  e.g. "resnet34-fastai-head";  categories  the vocab, a JSON list of strings;
//                 image_size  the side of the valid crop (so `ember predict` reads the file, export.h)
//   fit, epoch, phase   the fit (fine_tune: 0 frozen, 1 unfrozen) and its epoch just finished
//   training      JSON: the train loader's next epoch, the frozen groups, the smoothed loss's raw
//                 state, the random generator (dropout), and every fit so far with its settings
//                 and table rows
//   optimizer     JSON: the optimiser's name and, per group, its hyper-parameters and param names
//   tensors_sha256  SHA-256 over every tensor (name, dtype, shape, bytes, in name order): the
//                 format has no checksum, and a flipped bit in the weights must not load silently
//
// read_checkpoint trusts nothing: a file that is not a checkpoint, a model or optimiser of another
// shape (other keys, shapes, groups, hyper-parameters) is one ember::Error that names the file and
// what differs, and nothing is changed until apply_checkpoint.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "apps/learner/recorder.h"
#include "nn/module.h"
#include "nn/optimizer.h"
#include "nn/schedule.h"

namespace ember::app {

// One fit_one_cycle call: its settings and the rows of the epochs it has finished.
struct FitRecord {
  int64_t n_epoch = 0;
  std::vector<double> lr_max{};
  nn::OneCycleOptions options{};
  int64_t frozen_groups = 0;
  std::vector<EpochRow> rows{};
};

// Where a run stands after an epoch.
struct TrainingState {
  std::string architecture{};
  std::vector<std::string> categories{};
  int64_t image_size = 0;    // the valid crop's side, for ember predict (0: not written)
  int64_t fit = 0;           // index into fits: the fit whose epoch just finished
  int64_t epoch = 0;         // that epoch, from 0
  int64_t loader_epoch = 0;  // the train loader's next epoch number (epochs trained in the run)
  int64_t frozen_groups = 0;
  double smooth_loss_raw = 0;  // AvgSmoothLoss's raw state
  int64_t smooth_loss_count = 0;
  uint64_t rng_seed = 0, rng_offset = 0;  // default_generator(): dropout masks
  std::vector<FitRecord> fits{};
};

// The optimiser's state of one param, as stored.
struct ParamRecord {
  int64_t step = 0;
  Tensor exp_avg{}, exp_avg_sq{};  // undefined before the param's first step
  bool do_weight_decay = true;
};

struct Checkpoint {
  std::string path;
  TrainingState state;
  nn::StateDict model;                            // CPU tensors, in the model's state_dict order
  std::vector<std::vector<ParamRecord>> params;   // [group][param], the optimiser's order
  std::vector<std::pair<double, double>> hypers;  // per group: (lr, momentum) when saved
};

// The model's name of every optimiser param, [group][param]; an error for a param the model lacks.
std::vector<std::vector<std::string>> optimizer_param_names(const nn::Module& model, const nn::Optimizer& optimizer);

void write_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer,
                      const TrainingState& state);
Checkpoint read_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer);
void apply_checkpoint(const Checkpoint& checkpoint, nn::Module& model, nn::Optimizer& optimizer);

}  // namespace ember::app
