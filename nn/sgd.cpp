#include "nn/sgd.h"

#include "tensor/kernels.h"

namespace ember::nn {

static ParamGroup sgd_defaults(const SgdOptions& o) {
  return {.lr = o.lr,
          .momentum = o.momentum,
          .weight_decay = o.weight_decay,
          .dampening = o.dampening,
          .nesterov = o.nesterov};
}

SGD::SGD(const std::vector<Tensor>& params, const SgdOptions& options) : SGD(one_group(params), options) {}

SGD::SGD(const std::vector<ParamGroupOptions>& groups, const SgdOptions& options)
    : Optimizer("SGD", sgd_defaults(options)) {
  add_param_groups(groups);
}

void SGD::check_hyper_parameters(const ParamGroup& group, size_t index) const {
  check_range(group.lr >= 0, index, "learning rate", group.lr, "lr >= 0");
  check_range(group.momentum >= 0, index, "momentum", group.momentum, "momentum >= 0");
  check_range(group.weight_decay >= 0, index, "weight_decay", group.weight_decay, "weight_decay >= 0");
  EMBER_CHECK(!group.nesterov || (group.momentum > 0 && group.dampening == 0),
              "SGD: nesterov momentum requires a momentum > 0 and zero dampening (param group " +
                  std::to_string(index) + " has momentum " + std::to_string(group.momentum) + ", dampening " +
                  std::to_string(group.dampening) + ")");
}

void SGD::step_group(ParamGroup& group, std::vector<ParamState>& states, const std::vector<int64_t>& with_grad) {
  const bool use_momentum = group.momentum != 0;
  lists_.clear();
  for (int64_t i : with_grad) {
    const Tensor& p = group.params[i];
    ParamState& state = states[i];
    bool first_step = false;
    if (use_momentum && !state.momentum_buffer.defined()) {  // b = g on its first step (the kernel writes it)
      state.momentum_buffer = empty(p.shape(), p.dtype(), p.device());
      first_step = true;
    }
    ++state.step;
    lists_.params.push_back(&p);
    lists_.grads.push_back(&p.impl()->grad);
    lists_.buffers0.push_back(&state.momentum_buffer);
    lists_.flags0.push_back(first_step);
    lists_.flags1.push_back(state.do_weight_decay);
  }
  kernels::sgd_step({.count = static_cast<int64_t>(lists_.params.size()),
                     .params = lists_.params.data(),
                     .grads = lists_.grads.data(),
                     .momentum_buffers = lists_.buffers0.data(),
                     .first_step = lists_.flags0.data(),
                     .do_weight_decay = lists_.flags1.data(),
                     .lr = group.lr,
                     .momentum = group.momentum,
                     .dampening = group.dampening,
                     .weight_decay = group.weight_decay,
                     .nesterov = group.nesterov});
}

}  // namespace ember::nn
