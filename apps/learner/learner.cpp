// See learner.h. The loop itself is train_epoch (one epoch: training steps, then validation, then
// the row and the checkpoint); fit_one_cycle adds the schedule and the resume logic around it.
#include "apps/learner/learner.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "apps/common/progress.h"
#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/reductions.h"
#include "nn/losses.h"
#include "tensor/creation.h"
#include "tensor/random.h"

namespace ember::app {

namespace {

std::string lr_list(const std::vector<double>& lrs) {
  std::string out = "[";
  for (size_t i = 0; i < lrs.size(); ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", lrs[i]);
    out += (i ? ", " : "") + std::string(text);
  }
  return out + "]";
}

std::string describe_fit(const FitRecord& fit) {
  char text[160];
  std::snprintf(text, sizeof text, "div %g, div_final %g, pct_start %g, moms (%g, %g, %g)", fit.options.div,
                fit.options.div_final, fit.options.pct_start, fit.options.moms[0], fit.options.moms[1],
                fit.options.moms[2]);
  return "fit_one_cycle(" + std::to_string(fit.n_epoch) + " epochs, lr_max " + lr_list(fit.lr_max) + ", " + text +
         ") with " + std::to_string(fit.frozen_groups) + " frozen param groups";
}

bool same_settings(const FitRecord& a, const FitRecord& b) {
  return a.n_epoch == b.n_epoch && a.lr_max == b.lr_max && a.options.div == b.options.div &&
         a.options.div_final == b.options.div_final && a.options.pct_start == b.options.pct_start &&
         a.options.moms == b.options.moms && a.frozen_groups == b.frozen_groups;
}

// fastai's norm_types: a parameter of a norm layer (BatchNorm1d/2d, ...) is never weight-decayed and
// keeps training while its group is frozen.
bool is_norm_layer(const nn::Module& module) { return module.type_name().find("Norm") != std::string::npos; }

}  // namespace

Learner::Learner(std::shared_ptr<nn::Module> model, vision::DataLoader& train, vision::DataLoader& valid,
                 std::vector<std::vector<Tensor>> param_groups, LearnerOptions options)
    : model_(std::move(model)),
      train_(train),
      valid_(valid),
      options_(std::move(options)),
      groups_(std::move(param_groups)) {
  EMBER_CHECK(model_ != nullptr, "Learner: the model is null");
  EMBER_CHECK(!groups_.empty(), "Learner: no param groups (give at least one, e.g. {model->parameters()})");
  model_->to(options_.device);

  std::unordered_set<const TensorImpl*> norm_params, biases;
  for (auto& [name, module] : model_->named_modules())
    if (is_norm_layer(*module))
      for (const Tensor& p : module->parameters(/*recurse=*/false)) norm_params.insert(p.impl());
  for (const auto& [name, p] : model_->named_parameters())
    if (name == "bias" || (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)) biases.insert(p.impl());

  std::vector<nn::ParamGroupOptions> groups;
  for (const std::vector<Tensor>& group : groups_) groups.push_back({.params = group});
  optimizer_ = std::make_unique<nn::FastaiAdam>(groups, options_.adam);
  optimizer_param_names(*model_, *optimizer_);  // every param must be the model's (an error names it)

  for (const std::vector<Tensor>& group : groups_) {
    is_norm_param_.emplace_back();
    for (const Tensor& p : group) {
      const bool norm = norm_params.count(p.impl()) > 0;
      is_norm_param_.back().push_back(norm);
      if (!options_.wd_bn_bias && (norm || biases.count(p.impl()))) optimizer_->set_do_weight_decay(p, false);
    }
  }
}

void Learner::freeze_to(int64_t n) {
  const int64_t count = int64_t(groups_.size());
  const int64_t frozen = n >= 0 ? n : count + n;
  EMBER_CHECK(frozen >= 0, "Learner::freeze_to(" + std::to_string(n) + "): the model has only " +
                               std::to_string(count) + " param groups");
  if (frozen >= count && count > 1)
    std::fprintf(stderr, "warning: freezing %lld param groups; the model has %lld, so all of it is frozen\n",
                 static_cast<long long>(frozen), static_cast<long long>(count));
  frozen_groups_ = frozen;
  for (int64_t g = 0; g < count; ++g) {
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      Tensor p = groups_[g][i];
      const bool trains = g >= frozen || (options_.train_bn && is_norm_param_[g][i]);
      p.requires_grad_(trains);
      if (!trains) p.set_grad(Tensor());  // a frozen param must not be stepped with an old grad
    }
  }
  optimizer_->clear_state();
}

std::vector<EpochRow> Learner::fine_tune(int64_t epochs, const FineTuneOptions& o) {
  const int64_t count = int64_t(groups_.size());
  freeze();
  std::vector<EpochRow> rows =
      fit_one_cycle(o.freeze_epochs, nn::lr_slice(o.base_lr, count), {.pct_start = 0.99});  // div 25
  const double base_lr = o.base_lr / 2;
  unfreeze();
  std::vector<EpochRow> more = fit_one_cycle(epochs, nn::lr_slice(base_lr / o.lr_mult, base_lr, count),
                                             {.div = o.div, .pct_start = o.pct_start});
  rows.insert(rows.end(), more.begin(), more.end());
  return rows;
}

void Learner::resume(const std::string& path) {
  EMBER_CHECK(fits_started_ == 0, "Learner::resume('" + path + "'): call it before the first fit");
  Checkpoint checkpoint = read_checkpoint(path, *model_, *optimizer_);
  const TrainingState& s = checkpoint.state;
  auto check_same = [&](const std::string& what, const std::string& saved, const std::string& mine) {
    if (saved != mine)
      throw Error("checkpoint '" + path + "' was written for " + what + " " + saved + ", this run has " + mine);
  };
  check_same("architecture", "'" + s.architecture + "'", "'" + options_.architecture + "'");
  std::string saved_categories, my_categories;
  for (const std::string& c : s.categories) saved_categories += "'" + c + "' ";
  for (const std::string& c : options_.categories) my_categories += "'" + c + "' ";
  check_same("the categories", "[ " + saved_categories + "]", "[ " + my_categories + "]");
  pending_resume_ = std::move(checkpoint);
}

std::string Learner::phase_name(int64_t fit) const {
  return "fit " + std::to_string(fit) + " (" + (fits_[size_t(fit)].frozen_groups > 0 ? "frozen" : "unfrozen") + ")";
}

std::vector<EpochRow> Learner::fit_one_cycle(int64_t n_epoch, std::vector<double> lr_max,
                                             const nn::OneCycleOptions& options) {
  EMBER_CHECK(n_epoch >= 0, "fit_one_cycle: n_epoch must be >= 0, got " + std::to_string(n_epoch));
  EMBER_CHECK(lr_max.size() == 1 || lr_max.size() == groups_.size(),
              "fit_one_cycle: " + std::to_string(lr_max.size()) + " values of lr_max for " +
                  std::to_string(groups_.size()) + " param groups (give one per group, or one for all)");
  const int64_t fit = fits_started_++;
  FitRecord record{.n_epoch = n_epoch, .lr_max = lr_max, .options = options, .frozen_groups = frozen_groups_};
  int64_t first_epoch = 0;

  if (pending_resume_) {
    const TrainingState& s = pending_resume_->state;
    const std::string path = pending_resume_->path;
    EMBER_CHECK(fit < int64_t(s.fits.size()), "checkpoint '" + path + "': internal: fit past its fits");
    const FitRecord& saved = s.fits[size_t(fit)];
    if (!same_settings(saved, record))
      throw Error("checkpoint '" + path + "': its fit " + std::to_string(fit) + " was " + describe_fit(saved) +
                  ", but this run's is " + describe_fit(record) + "; resume with the same settings");
    fits_.push_back(saved);
    history_.insert(history_.end(), saved.rows.begin(), saved.rows.end());
    if (fit < s.fit) return saved.rows;  // finished before the checkpoint: nothing to do
    // The fit the checkpoint stopped in: its weights, optimiser, schedule position and generator.
    apply_checkpoint(*pending_resume_, *model_, *optimizer_);
    loader_epoch_ = s.loader_epoch;
    smooth_loss_.restore(s.smooth_loss_raw, s.smooth_loss_count);
    default_generator() = Generator{.seed = s.rng_seed, .offset = s.rng_offset};
    last_saved_ = std::make_pair(s.fit, s.epoch);
    first_epoch = s.epoch + 1;
    pending_resume_.reset();
  } else {
    fits_.push_back(record);
    smooth_loss_.reset();  // fastai: once per fit, not per epoch
  }

  if (first_epoch >= n_epoch) return fits_.back().rows;
  const int64_t n_iter = train_.size();
  EMBER_CHECK(n_iter >= 1, "fit_one_cycle: the training loader has no full batch (" +
                               std::to_string(train_.items().size()) + " images, batch size " +
                               std::to_string(train_.options().batch_size) + ", drop_last)");
  const nn::OneCycleSchedule schedule(n_epoch, n_iter, lr_max, options);

  if (options_.table) {  // the header once per fit (fastai's before_fit), with the rows of a resumed fit
    table_.emplace(*options_.table);
    table_->write_header();
    for (const EpochRow& row : fits_.back().rows) table_->write(row);
  }
  for (int64_t epoch = first_epoch; epoch < n_epoch; ++epoch) train_epoch(fit, epoch, n_epoch, schedule);
  return fits_.back().rows;
}

void Learner::train_epoch(int64_t fit, int64_t epoch, int64_t n_epoch, const nn::OneCycleSchedule& schedule) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n_iter = schedule.total_steps() / n_epoch;
  auto stop = [&](const std::string& what, int64_t batch, int64_t batches) {
    std::string kept = "checkpoints are off";
    if (!options_.checkpoint_path.empty())
      kept = last_saved_ ? "the last good checkpoint '" + options_.checkpoint_path + "' (fit " +
                               std::to_string(last_saved_->first) + ", epoch " + std::to_string(last_saved_->second) +
                               ") is kept"
                         : "no checkpoint was written yet";
    return Error(
        "training stopped: " + what + " in epoch " + std::to_string(epoch) + " of " + phase_name(fit) +
        " (epochs counted from 0, as in the table)" +
        (batch < 0 ? std::string() : ", batch " + std::to_string(batch + 1) + " of " + std::to_string(batches)) + "; " +
        kept);
  };

  // Training: one step per batch, the hypers set first (fastai's before_batch).
  model_->train();
  train_.start_epoch(loader_epoch_);
  std::optional<ProgressBar> bar;
  if (options_.progress) bar.emplace("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(n_epoch), n_iter);
  char status[64] = "";
  int64_t batch_index = 0;
  while (std::optional<vision::Batch> batch = train_.next()) {
    schedule.apply(*optimizer_, epoch * n_iter + batch_index);
    if (options_.on_step) options_.on_step(*optimizer_);
    const Tensor x = to(batch->x, options_.device), y = to(batch->y, options_.device);
    const Tensor loss = nn::cross_entropy((*model_)(x), y);
    const double value = to_cpu(loss).item();
    if (!std::isfinite(value))
      throw stop("the training loss is " + std::string(std::isnan(value) ? "nan" : "infinite"), batch_index, n_iter);
    backward(loss);
    optimizer_->step();
    optimizer_->zero_grad();
    smooth_loss_.accumulate(value);
    ++batch_index;
    if (bar) {
      std::snprintf(status, sizeof status, "loss %.4f", smooth_loss_.value());
      bar->update(batch_index, status);
    }
  }
  if (bar) bar->finish(status);

  const Validation valid = validate();
  if (valid.items > 0 && !std::isfinite(valid.loss))
    throw stop("the validation loss is " + std::string(std::isnan(valid.loss) ? "nan" : "infinite") + " (over " +
                   std::to_string(valid.items) + " items)",
               -1, 0);
  const EpochRow row{.epoch = epoch,
                     .train_loss = smooth_loss_.value(),
                     .valid_loss = valid.loss,
                     .accuracy = valid.accuracy,
                     .seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
  fits_.back().rows.push_back(row);
  history_.push_back(row);
  ++loader_epoch_;
  if (table_) table_->write(row);
  if (!options_.checkpoint_path.empty()) save_checkpoint(fit, epoch);
  if (options_.on_epoch) options_.on_epoch(row);
}

Validation Learner::validate() { return validate(valid_); }

Validation Learner::validate(vision::DataLoader& loader) {
  model_->eval();
  NoGradGuard no_grad;
  std::optional<ProgressBar> bar;
  if (options_.progress) bar.emplace("valid", loader.size());
  loader.start_epoch(0);
  double loss_sum = 0;  // sum over batches of (mean loss of the batch) * (batch size)
  int64_t correct = 0, items = 0, batches = 0;
  while (std::optional<vision::Batch> batch = loader.next()) {
    const Tensor logits = (*model_)(to(batch->x, options_.device));
    const Tensor y = to(batch->y, options_.device);
    const int64_t n = batch->size();
    loss_sum += to_cpu(nn::cross_entropy(logits, y)).item() * double(n);
    const std::vector<int64_t> predicted = to_vector<int64_t>(to_cpu(argmax(logits, 1)));
    const std::vector<int64_t> labels = to_vector<int64_t>(batch->y);
    for (int64_t i = 0; i < n; ++i) correct += predicted[size_t(i)] == labels[size_t(i)] ? 1 : 0;
    items += n;
    if (bar) bar->update(++batches);
  }
  if (bar) bar->finish();
  const double nan = std::nan("");
  return {.loss = items ? loss_sum / double(items) : nan,
          .accuracy = items ? double(correct) / double(items) : nan,
          .items = items};
}

void Learner::save_checkpoint(int64_t fit, int64_t epoch) {
  const Generator& generator = default_generator();
  const TrainingState state{.architecture = options_.architecture,
                            .categories = options_.categories,
                            .image_size = options_.image_size,
                            .fit = fit,
                            .epoch = epoch,
                            .loader_epoch = loader_epoch_,
                            .frozen_groups = frozen_groups_,
                            .smooth_loss_raw = smooth_loss_.raw_value(),
                            .smooth_loss_count = smooth_loss_.count(),
                            .rng_seed = generator.seed,
                            .rng_offset = generator.offset,
                            .fits = fits_};
  write_checkpoint(options_.checkpoint_path, *model_, *optimizer_, state);
  last_saved_ = std::make_pair(fit, epoch);
}

}  // namespace ember::app
