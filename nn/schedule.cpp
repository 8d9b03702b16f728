#include "nn/schedule.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace ember::nn {

double sched_cos(double start, double end, double pos) {
  // fastai: start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2, in this order
  return start + (1 + std::cos(std::numbers::pi * (1 - pos))) * (end - start) / 2;
}

Schedule combine_scheds(const std::vector<double>& pcts, std::vector<Schedule> scheds) {
  EMBER_CHECK(!pcts.empty() && pcts.size() == scheds.size(),
              "combine_scheds: expected one fraction per schedule, got " + std::to_string(pcts.size()) +
                  " fractions and " + std::to_string(scheds.size()) + " schedules");
  double total = 0;
  for (double pct : pcts) {
    EMBER_CHECK(pct >= 0, "combine_scheds: a fraction is negative (" + std::to_string(pct) + ")");
    total += pct;
  }
  EMBER_CHECK(std::fabs(total - 1) < 1e-6,
              "combine_scheds: the fractions add up to " + std::to_string(total) + ", not 1");
  // edges = torch.cumsum(tensor([0, *pcts]), 0): float32 values; torch's CPU cumsum adds in double
  // and rounds each partial sum to float32.
  std::vector<float> edges{0.0f};
  double running = 0;
  for (double pct : pcts) {
    running += static_cast<double>(static_cast<float>(pct));
    edges.push_back(static_cast<float>(running));
  }
  return [edges, scheds = std::move(scheds)](double pos) {
    // `pos >= edges` and `pos - edges[i]` in torch turn the Python float pos into float32.
    const float pos32 = static_cast<float>(pos);
    size_t i = 0;
    for (size_t j = 0; j < edges.size(); ++j)
      if (pos32 >= edges[j]) i = j;
    if (i > scheds.size() - 1) i = scheds.size() - 1;
    const float fraction = (pos32 - edges[i]) / (edges[i + 1] - edges[i]);
    return scheds[i](static_cast<double>(fraction));
  };
}

Schedule combined_cos(double pct, double start, double middle, double end) {
  return combine_scheds({pct, 1 - pct}, {[=](double pos) { return sched_cos(start, middle, pos); },
                                         [=](double pos) { return sched_cos(middle, end, pos); }});
}

std::vector<double> even_mults(double start, double stop, int64_t n) {
  EMBER_CHECK(n >= 1, "even_mults: expected n >= 1, got " + std::to_string(n));
  if (n == 1) return {stop};
  const double step = std::pow(stop / start, 1.0 / static_cast<double>(n - 1));  // mult ** (1 / (n - 1))
  std::vector<double> values;
  for (int64_t i = 0; i < n; ++i) values.push_back(start * std::pow(step, static_cast<double>(i)));
  return values;
}

std::vector<double> lr_slice(double hi, int64_t groups) {
  EMBER_CHECK(groups >= 1, "lr_slice: expected at least 1 group, got " + std::to_string(groups));
  std::vector<double> lrs(groups, hi / 10);
  lrs.back() = hi;
  return lrs;
}

std::vector<double> lr_slice(double lo, double hi, int64_t groups) {
  if (lo == 0) return lr_slice(hi, groups);  // fastai: `if v.start:` treats slice(0, hi) as slice(hi)
  return even_mults(lo, hi, groups);
}

// ---- one cycle -----------------------------------------------------------------------------------

OneCycleSchedule::OneCycleSchedule(int64_t n_epochs, int64_t batches_per_epoch, std::vector<double> lr_max,
                                   const OneCycleOptions& o)
    : total_steps_(n_epochs * batches_per_epoch) {
  EMBER_CHECK(n_epochs >= 1 && batches_per_epoch >= 1,
              "OneCycleSchedule: expected at least 1 epoch of at least 1 batch, got " + std::to_string(n_epochs) +
                  " epochs of " + std::to_string(batches_per_epoch) + " batches");
  EMBER_CHECK(!lr_max.empty(), "OneCycleSchedule: lr_max is empty; give one per param group (or one for all)");
  EMBER_CHECK(o.pct_start >= 0 && o.pct_start <= 1,
              "OneCycleSchedule: pct_start must be in [0, 1], got " + std::to_string(o.pct_start));
  for (double hi : lr_max) lr_.push_back(combined_cos(o.pct_start, hi / o.div, hi, hi / o.div_final));
  momentum_ = combined_cos(o.pct_start, o.moms[0], o.moms[1], o.moms[2]);
}

void OneCycleSchedule::check_step(int64_t step) const {
  EMBER_CHECK(step >= 0 && step < total_steps_, "OneCycleSchedule: step " + std::to_string(step) +
                                                    " is outside the cycle of " + std::to_string(total_steps_) +
                                                    " steps (0 .. " + std::to_string(total_steps_ - 1) + ")");
}

double OneCycleSchedule::position(int64_t step) const {
  return static_cast<double>(step) / static_cast<double>(total_steps_);
}

double OneCycleSchedule::lr(int64_t step, size_t group) const {
  check_step(step);
  EMBER_CHECK(lr_.size() == 1 || group < lr_.size(), "OneCycleSchedule: no lr_max for param group " +
                                                         std::to_string(group) + " (" + std::to_string(lr_.size()) +
                                                         " given)");
  return lr_[lr_.size() == 1 ? 0 : group](position(step));
}

double OneCycleSchedule::momentum(int64_t step) const {
  check_step(step);
  return momentum_(position(step));
}

void OneCycleSchedule::apply(Optimizer& optimizer, int64_t step) const {
  std::vector<ParamGroup>& groups = optimizer.param_groups();
  EMBER_CHECK(lr_.size() == 1 || lr_.size() == groups.size(),
              "OneCycleSchedule: " + std::to_string(lr_.size()) + " values of lr_max for the " +
                  std::to_string(groups.size()) + " param groups of " + optimizer.name());
  const double mom = momentum(step);
  for (size_t g = 0; g < groups.size(); ++g) {
    groups[g].lr = lr(step, g);
    groups[g].momentum = mom;
  }
}

}  // namespace ember::nn
