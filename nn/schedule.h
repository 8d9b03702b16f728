// Hyper-parameter schedules, as fastai writes them (fastai/callback/schedule.py), and fastai's
// one-cycle policy. A schedule maps the position in training, pos in [0, 1), to a value.
//
//   sched_cos(a, b, pos) = a + (1 + cos(pi (1 - pos))) (b - a) / 2     a half cosine from a to b
//
//   combine_scheds(pcts, scheds): schedule i runs over the fraction pcts[i] of training:
//     edges = cumsum([0, pcts...])   (a float32 tensor in fastai, so: float32 here too)
//     i     = min(last i with pos >= edges[i], number of schedules - 1)    (pos compared as float32)
//     value = scheds[i]((pos - edges[i]) / (edges[i+1] - edges[i]))        (that fraction in float32)
//
//   combined_cos(pct, start, middle, end) = combine_scheds([pct, 1 - pct],
//                                                          [sched_cos(start, middle), sched_cos(middle, end)])
//
// One cycle (fit_one_cycle(n_epochs, lr_max, div=25, div_final=1e5, pct_start=0.25, moms)): for
// training step k of T = n_epochs * batches_per_epoch, pos = k / T, and each group g gets
//   lr_g = combined_cos(pct_start, lr_max_g / div, lr_max_g, lr_max_g / div_final)(pos)
//   mom  = combined_cos(pct_start, 0.95, 0.85, 0.95)(pos)          (SGD's momentum, Adam's beta1)
// set before step k's forward pass (apply). pos never reaches 1, so the last lr is just above
// lr_max / div_final. (fastai sums 1 / T once per batch to get pos; k / T is the same number up to
// the last bits of a double, which vanish when pos is rounded to float32 above.)
//
// Learning rates per group (fastai's slice): lr_slice(hi, G) = [hi/10, ..., hi/10, hi];
// lr_slice(lo, hi, G) = even_mults(lo, hi, G), log-spaced from lo to hi (just hi when G == 1).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "nn/optimizer.h"

namespace ember::nn {

// A value as a function of the position in training, pos in [0, 1].
using Schedule = std::function<double(double pos)>;

double sched_cos(double start, double end, double pos);
Schedule combine_scheds(const std::vector<double>& pcts, std::vector<Schedule> scheds);
Schedule combined_cos(double pct, double start, double middle, double end);

// fastai's even_mults: start * step^i for i < n, step = (stop / start)^(1 / (n - 1)); {stop} when n == 1.
std::vector<double> even_mults(double start, double stop, int64_t n);
// fastai's slice(hi) and slice(lo, hi) expanded to `groups` learning rates (lo == 0 acts as slice(hi)).
std::vector<double> lr_slice(double hi, int64_t groups);
std::vector<double> lr_slice(double lo, double hi, int64_t groups);

struct OneCycleOptions {
  double div = 25;                               // lr starts at lr_max / div
  double div_final = 1e5;                        // ... and ends near lr_max / div_final
  double pct_start = 0.25;                       // fraction of the steps spent warming up
  std::array<double, 3> moms{0.95, 0.85, 0.95};  // momentum at the start, at the top of lr, at the end
};

class OneCycleSchedule {
 public:
  // lr_max: one per param group, or one for all groups.
  OneCycleSchedule(int64_t n_epochs, int64_t batches_per_epoch, std::vector<double> lr_max,
                   const OneCycleOptions& options = {});

  int64_t total_steps() const { return total_steps_; }
  double position(int64_t step) const;          // step / total_steps
  double lr(int64_t step, size_t group) const;  // the lr of `group` at training step `step`
  double momentum(int64_t step) const;
  // Sets every group's lr and momentum for training step `step` (0 <= step < total_steps).
  void apply(Optimizer& optimizer, int64_t step) const;

 private:
  int64_t total_steps_;
  std::vector<Schedule> lr_;  // one per entry of lr_max
  Schedule momentum_;
  void check_step(int64_t step) const;
};

}  // namespace ember::nn
