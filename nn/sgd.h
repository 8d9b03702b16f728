// SGD with momentum, dampening, Nesterov and weight decay: PyTorch's torch.optim.SGD, formula for
// formula. Per param, with g its grad and b its momentum buffer:
//
//   g  = g + wd * p                                   (weight_decay != 0: L2, part of the grad)
//   b  = g                                on the first step (no dampening: PyTorch clones g)
//   b  = momentum * b + (1 - dampening) * g           afterwards                (momentum != 0)
//   d  = nesterov ? g + momentum * b : b              (d = g without momentum)
//   p -= lr * d
//
// Nesterov needs momentum > 0 and dampening 0 (PyTorch's rule). The group fields used are lr,
// momentum, dampening, weight_decay, nesterov (nn/optimizer.h).
#pragma once
#include "nn/optimizer.h"

namespace ember::nn {

struct SgdOptions {
  double lr = 1e-3;  // PyTorch 2's default
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  explicit SGD(const std::vector<Tensor>& params, const SgdOptions& options = {});
  explicit SGD(const std::vector<ParamGroupOptions>& groups, const SgdOptions& options = {});

 protected:
  void check_hyper_parameters(const ParamGroup& group, size_t index) const override;
  void step_group(ParamGroup& group, std::vector<ParamState>& states, const std::vector<int64_t>& with_grad) override;
};

}  // namespace ember::nn
