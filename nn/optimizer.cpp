#include "nn/optimizer.h"

#include <sstream>
#include <unordered_map>

#include "tensor/kernels.h"

namespace ember::nn {

Optimizer::Optimizer(std::string name, ParamGroup defaults) : name_(std::move(name)), defaults_(std::move(defaults)) {}

std::string Optimizer::where(size_t group, size_t param) const {
  return name_ + ": param " + std::to_string(param) + " of param group " + std::to_string(group);
}

void Optimizer::check_range(bool ok, size_t index, const char* what, double value, const char* expected) const {
  if (ok) return;
  std::ostringstream os;
  os << name_ << ": invalid " << what << " " << value << " in param group " << index << " (expected " << expected
     << ")";
  throw Error(os.str());
}

void Optimizer::StepLists::clear() {
  params.clear(), grads.clear(), buffers0.clear(), buffers1.clear();
  values0.clear(), values1.clear(), flags0.clear(), flags1.clear();
}

void Optimizer::add_param_groups(const std::vector<ParamGroupOptions>& groups) {
  EMBER_CHECK(!groups.empty(), name_ + ": got an empty list of param groups");
  for (const ParamGroupOptions& group : groups) add_param_group(group);
}

void Optimizer::add_param_group(const ParamGroupOptions& options) {
  const size_t index = groups_.size();
  const std::string group_name = name_ + ": param group " + std::to_string(index);
  EMBER_CHECK(!options.params.empty(), group_name + " is empty: a group needs at least one parameter");

  // Where every param already held sits, to find one listed twice (PyTorch: "some parameters
  // appear in more than one parameter group").
  std::unordered_map<const TensorImpl*, std::pair<size_t, size_t>> held;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i) held[groups_[g].params[i].impl()] = {g, i};
  for (size_t i = 0; i < options.params.size(); ++i) {
    const Tensor& p = options.params[i];
    const std::string what = where(index, i);
    EMBER_CHECK(p.defined(), what + " is an undefined tensor");
    EMBER_CHECK(is_floating(p.dtype()),
                what + " has dtype " + dtype_name(p.dtype()) + "; an optimiser updates float32 or float64 tensors");
    EMBER_CHECK(p.is_leaf(), what +
                                 " is not a leaf (it has a grad_fn): an optimiser can only update leaves; "
                                 "detach() it or optimise the tensor it was computed from");
    EMBER_CHECK(p.is_contiguous(), what + " is not contiguous (shape " + p.shape().str() + ", strides " +
                                       p.strides().str() + "); pass a contiguous tensor");
    auto [it, inserted] = held.emplace(p.impl(), std::make_pair(index, i));
    EMBER_CHECK(inserted, what + " is already param " + std::to_string(it->second.second) + " of param group " +
                              std::to_string(it->second.first) + ": a tensor may appear only once");
  }

  ParamGroup group = defaults_;
  group.params = options.params;
  if (options.lr) group.lr = *options.lr;
  if (options.momentum) group.momentum = *options.momentum;
  if (options.beta2) group.beta2 = *options.beta2;
  if (options.eps) group.eps = *options.eps;
  if (options.weight_decay) group.weight_decay = *options.weight_decay;
  if (options.dampening) group.dampening = *options.dampening;
  if (options.nesterov) group.nesterov = *options.nesterov;
  check_hyper_parameters(group, index);

  groups_.push_back(std::move(group));
  states_.emplace_back(options.params.size());
}

void Optimizer::step() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& group = groups_[g];
    std::vector<ParamState>& states = states_[g];
    EMBER_CHECK(group.params.size() == states.size(),
                name_ + ": param group " + std::to_string(g) + " has " + std::to_string(group.params.size()) +
                    " params but had " + std::to_string(states.size()) +
                    " when it was added; add params with add_param_group instead");
    with_grad_.clear();
    for (size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      const Tensor& grad = p.impl()->grad;  // a reference: no refcount traffic per param
      if (!grad.defined()) continue;        // frozen, or not reached by backward: skipped
      if (grad.device() != p.device() || grad.dtype() != p.dtype() || grad.shape() != p.shape() ||
          !grad.is_contiguous())
        throw Error(where(g, i) + " (" + dtype_name(p.dtype()) + " " + p.shape().str() + " on " + p.device().str() +
                    ") has a grad that does not match it: " + dtype_name(grad.dtype()) + " " + grad.shape().str() +
                    " on " + grad.device().str() + (grad.is_contiguous() ? "" : ", not contiguous"));
      with_grad_.push_back(static_cast<int64_t>(i));
    }
    if (with_grad_.empty()) continue;
    step_group(group, states, with_grad_);
    for (int64_t i : with_grad_) group.params[i].bump_version();  // an in-place write, as add_ would
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (ParamGroup& group : groups_) {
    for (const Tensor& p : group.params) {
      const Tensor& grad = p.impl()->grad;
      if (!grad.defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else {
        kernels::fill(grad, 0);
        grad.bump_version();
      }
    }
  }
}

void Optimizer::clear_state() {
  for (std::vector<ParamState>& states : states_)
    for (ParamState& state : states) state = ParamState{.do_weight_decay = state.do_weight_decay};
}

ParamState& Optimizer::state(const Tensor& param) {
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i)
      if (groups_[g].params[i].is_same(param)) return states_[g][i];
  throw Error(name_ + ": the tensor " + (param.defined() ? param.shape().str() : "(undefined)") +
              " is not one of this optimiser's params");
}

}  // namespace ember::nn
