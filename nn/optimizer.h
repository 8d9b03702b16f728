// Optimizer: what SGD, Adam, AdamW and fastai's Adam share (PyTorch's torch.optim.Optimizer).
//
//   nn::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
//   for (...) {
//     Tensor loss = ...;
//     backward(loss);
//     opt.step();       // p -= lr * ..., for every param that has a grad
//     opt.zero_grad();  // drop the grads (set_to_none) before the next backward
//   }
//
// Parameter groups (PyTorch's semantics). The params are split into groups, each with its own
// hyper-parameters; a field a group leaves unset takes the optimiser's default:
//
//   nn::SGD opt({{.params = body, .lr = 1e-4}, {.params = head}}, {.lr = 1e-3, .momentum = 0.9});
//
// param_groups() is mutable: a schedule sets each group's lr and momentum before every step
// (nn/schedule.h). Each param also has state: its step count and buffers (momentum, Adam's two
// averages), created on its first step, dropped by clear_state() (fastai's freeze calls it), and a
// do_weight_decay flag (fastai turns weight decay off for biases and norm-layer params) that
// clear_state() keeps.
//
// A param without a grad (undefined grad(): frozen, or not reached by backward) is skipped by
// step(), as in PyTorch; its state does not advance. Params are Tensor handles kept by value: the
// module and the optimiser see one tensor. Params must be contiguous float32/float64 leaves (a
// clear error otherwise); each grad must have its param's shape, dtype and device.
//
// The update itself is one fused kernel per group (tensor/kernels.h: sgd_step, adam_step): one loop
// per tensor on the CPU, one launch for the whole group on a GPU. step() allocates nothing once
// the state exists: the lists passed to the kernel live in reusable scratch vectors.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace ember::nn {

// One group: its params and its hyper-parameters. Each optimiser reads the fields it uses.
struct ParamGroup {
  std::vector<Tensor> params{};
  double lr = 0;
  double momentum = 0;      // SGD: momentum; Adam/AdamW: beta1; fastai's Adam: mom (scheduled)
  double beta2 = 0;         // Adam/AdamW: beta2; fastai's Adam: sqr_mom
  double eps = 0;           // Adam family
  double weight_decay = 0;  // SGD/Adam: L2 added to the grad; AdamW/fastai: decoupled
  double dampening = 0;     // SGD
  bool nesterov = false;    // SGD
};

// A group as the caller describes it: unset fields take the optimiser's defaults.
struct ParamGroupOptions {
  std::vector<Tensor> params{};
  std::optional<double> lr{}, momentum{}, beta2{}, eps{}, weight_decay{}, dampening{};
  std::optional<bool> nesterov{};
};

// The state of one param, created by its first step.
struct ParamState {
  int64_t step = 0;                // steps this param has taken (Adam's bias corrections use it)
  Tensor momentum_buffer{};        // SGD with momentum
  Tensor exp_avg{}, exp_avg_sq{};  // Adam: the averages m of g and v of g^2
  bool do_weight_decay = true;     // fastai: false for biases and norm-layer params
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;  // state and scratch are per optimiser
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every param that has a grad, group by group.
  void step();
  // Drops every grad (set_to_none, PyTorch 2's default) or zeroes it in place (fastai's way).
  void zero_grad(bool set_to_none = true);
  // Forgets every param's step count and buffers; keeps do_weight_decay (fastai's clear_state).
  void clear_state();

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // A new group: unset fields from the defaults; the same checks as the constructor's groups.
  void add_param_group(const ParamGroupOptions& group);
  const ParamGroup& defaults() const { return defaults_; }

  // The state of `param` (an error when the optimiser does not hold it).
  ParamState& state(const Tensor& param);
  // fastai's do_wd: false turns weight decay off for this param (biases, norm-layer params).
  void set_do_weight_decay(const Tensor& param, bool do_weight_decay) {
    state(param).do_weight_decay = do_weight_decay;
  }

  const std::string& name() const { return name_; }  // "SGD", "Adam", ... (for messages)

 protected:
  // `name` for messages; `defaults` fills the fields a group leaves unset.
  Optimizer(std::string name, ParamGroup defaults);
  // Called by the subclass constructor, once its virtual functions exist.
  void add_param_groups(const std::vector<ParamGroupOptions>& groups);

  // Throws when a hyper-parameter of group `index` is out of range (negative lr, ...).
  // check_range(ok, group, index, "learning rate", lr, ">= 0") is the common form of those errors.
  void check_range(bool ok, size_t index, const char* what, double value, const char* expected) const;
  virtual void check_hyper_parameters(const ParamGroup& group, size_t index) const = 0;
  // One fused update of the params of `group` that have a grad (the indices in `with_grad`).
  virtual void step_group(ParamGroup& group, std::vector<ParamState>& states,
                          const std::vector<int64_t>& with_grad) = 0;

  // Reusable lists for the kernel calls (cleared, never shrunk: no allocation per step).
  struct StepLists {
    std::vector<const Tensor*> params, grads, buffers0, buffers1;
    std::vector<double> values0, values1;
    std::vector<uint8_t> flags0, flags1;
    void clear();
  };
  StepLists lists_;

 private:
  std::string name_;
  ParamGroup defaults_;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> states_;  // states_[g][i]: param i of group g
  std::vector<int64_t> with_grad_;               // scratch for step()

  std::string where(size_t group, size_t param) const;  // "SGD: param 1 of group 0"
};

// Parameters as one group: the common case, Optimizer(params, options).
inline std::vector<ParamGroupOptions> one_group(const std::vector<Tensor>& params) { return {{.params = params}}; }

}  // namespace ember::nn
