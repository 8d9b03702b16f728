#include "nn/adam.h"

#include <cmath>

#include "tensor/kernels.h"

namespace ember::nn {

AdamFamily::AdamFamily(std::string name, ParamGroup defaults, bool decoupled, bool debias_inside_sqrt)
    : Optimizer(std::move(name), std::move(defaults)), decoupled_(decoupled), debias_inside_sqrt_(debias_inside_sqrt) {}

void AdamFamily::check_hyper_parameters(const ParamGroup& group, size_t index) const {
  check_range(group.lr >= 0, index, "learning rate", group.lr, "lr >= 0");
  check_range(group.eps >= 0, index, "epsilon", group.eps, "eps >= 0");
  check_range(group.momentum >= 0 && group.momentum < 1, index, "beta1 (momentum)", group.momentum, "0 <= beta1 < 1");
  check_range(group.beta2 >= 0 && group.beta2 < 1, index, "beta2", group.beta2, "0 <= beta2 < 1");
  check_range(group.weight_decay >= 0, index, "weight_decay", group.weight_decay, "weight_decay >= 0");
}

void AdamFamily::step_group(ParamGroup& group, std::vector<ParamState>& states, const std::vector<int64_t>& with_grad) {
  const double beta1 = group.momentum, beta2 = group.beta2;
  lists_.clear();
  for (int64_t i : with_grad) {
    const Tensor& p = group.params[i];
    ParamState& state = states[i];
    if (!state.exp_avg.defined()) {  // m = v = 0 before the first step
      state.exp_avg = empty(p.shape(), p.dtype(), p.device());
      state.exp_avg_sq = empty(p.shape(), p.dtype(), p.device());
      kernels::fill(state.exp_avg, 0);
      kernels::fill(state.exp_avg_sq, 0);
    }
    const double t = static_cast<double>(++state.step);
    lists_.params.push_back(&p);
    lists_.grads.push_back(&p.impl()->grad);
    lists_.buffers0.push_back(&state.exp_avg);
    lists_.buffers1.push_back(&state.exp_avg_sq);
    lists_.values0.push_back(group.lr / (1 - std::pow(beta1, t)));  // step size lr / (1 - b1^t)
    lists_.values1.push_back(1 - std::pow(beta2, t));               // bias correction of v: 1 - b2^t
    lists_.flags0.push_back(state.do_weight_decay);
  }
  kernels::adam_step({.count = static_cast<int64_t>(lists_.params.size()),
                      .params = lists_.params.data(),
                      .grads = lists_.grads.data(),
                      .exp_avgs = lists_.buffers0.data(),
                      .exp_avg_sqs = lists_.buffers1.data(),
                      .step_sizes = lists_.values0.data(),
                      .bias_corrections2 = lists_.values1.data(),
                      .do_weight_decay = lists_.flags0.data(),
                      .lr = group.lr,
                      .beta1 = beta1,
                      .beta2 = beta2,
                      .eps = group.eps,
                      .weight_decay = group.weight_decay,
                      .decoupled_weight_decay = decoupled_,
                      .debias_inside_sqrt = debias_inside_sqrt_});
}

// ---- the three optimisers: names, defaults and the two switches ------------------------------------

static ParamGroup adam_defaults(double lr, std::pair<double, double> betas, double eps, double weight_decay) {
  return {.lr = lr, .momentum = betas.first, .beta2 = betas.second, .eps = eps, .weight_decay = weight_decay};
}

Adam::Adam(const std::vector<Tensor>& params, const AdamOptions& options) : Adam(one_group(params), options) {}
Adam::Adam(const std::vector<ParamGroupOptions>& groups, const AdamOptions& o)
    : AdamFamily("Adam", adam_defaults(o.lr, o.betas, o.eps, o.weight_decay), /*decoupled=*/false,
                 /*debias_inside_sqrt=*/false) {
  add_param_groups(groups);
}

AdamW::AdamW(const std::vector<Tensor>& params, const AdamWOptions& options) : AdamW(one_group(params), options) {}
AdamW::AdamW(const std::vector<ParamGroupOptions>& groups, const AdamWOptions& o)
    : AdamFamily("AdamW", adam_defaults(o.lr, o.betas, o.eps, o.weight_decay), /*decoupled=*/true,
                 /*debias_inside_sqrt=*/false) {
  add_param_groups(groups);
}

FastaiAdam::FastaiAdam(const std::vector<Tensor>& params, const FastaiAdamOptions& options)
    : FastaiAdam(one_group(params), options) {}
FastaiAdam::FastaiAdam(const std::vector<ParamGroupOptions>& groups, const FastaiAdamOptions& o)
    : AdamFamily("fastai Adam", adam_defaults(o.lr, {o.mom, o.sqr_mom}, o.eps, o.wd), /*decoupled=*/o.decouple_wd,
                 /*debias_inside_sqrt=*/true) {
  add_param_groups(groups);
}

}  // namespace ember::nn
