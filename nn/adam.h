// The Adam family: PyTorch's Adam and AdamW, and fastai's Adam. One fused kernel serves all three
// (tensor/kernels.h: adam_step); they differ in where weight decay goes, where the bias correction
// of v sits, and their defaults. Per param, with g its grad and t its step count (1 on its first step):
//
//   Adam (PyTorch)          g  = g + wd * p                                    (L2, in the grad)
//   AdamW, fastai's Adam    p  = p * (1 - lr * wd)                  (decoupled, before the rest)
//   all                     m  = b1 * m + (1 - b1) * g
//                           v  = b2 * v + (1 - b2) * g^2
//   PyTorch                 p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   fastai                  p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
//
// sqrt(v) / sqrt(1 - b2^t) and sqrt(v / (1 - b2^t)) are the same number up to rounding (a few
// ulps), so the two placements of eps are, in fact, one formula; each class computes it the way
// its original does. m and v start at 0, so the bias corrections 1 - b^t undo their pull towards 0
// in the first steps.
//
// In a group, b1 is the field `momentum` and b2 is `beta2` (nn/optimizer.h), so a schedule that
// sets momentum (nn/schedule.h: one-cycle) drives b1; the bias correction uses the b1 of the
// current step, as fastai does. Weight decay applies only to params whose do_weight_decay is true
// (all, unless changed: fastai turns it off for biases and norm-layer params).
#pragma once
#include <utility>

#include "nn/optimizer.h"

namespace ember::nn {

struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
};

// PyTorch's AdamW: Adam's defaults, but weight decay decoupled and 0.01 by default.
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

// fastai's Adam (fastai/optimizer.py): mom 0.9, sqr_mom 0.99, eps 1e-5, wd 0.01, decoupled.
// decouple_wd = false puts weight decay into the grad instead (fastai's l2_reg).
struct FastaiAdamOptions {
  double lr = 1e-3;
  double mom = 0.9;
  double sqr_mom = 0.99;
  double eps = 1e-5;
  double wd = 0.01;
  bool decouple_wd = true;
};

// The shared machinery; use one of the three classes below.
class AdamFamily : public Optimizer {
 protected:
  // decoupled: p *= 1 - lr wd (else g += wd p); debias_inside_sqrt: fastai's sqrt(v / (1 - b2^t)).
  AdamFamily(std::string name, ParamGroup defaults, bool decoupled, bool debias_inside_sqrt);
  void check_hyper_parameters(const ParamGroup& group, size_t index) const override;
  void step_group(ParamGroup& group, std::vector<ParamState>& states, const std::vector<int64_t>& with_grad) override;

 private:
  bool decoupled_, debias_inside_sqrt_;
};

class Adam : public AdamFamily {
 public:
  explicit Adam(const std::vector<Tensor>& params, const AdamOptions& options = {});
  explicit Adam(const std::vector<ParamGroupOptions>& groups, const AdamOptions& options = {});
};

class AdamW : public AdamFamily {
 public:
  explicit AdamW(const std::vector<Tensor>& params, const AdamWOptions& options = {});
  explicit AdamW(const std::vector<ParamGroupOptions>& groups, const AdamWOptions& options = {});
};

class FastaiAdam : public AdamFamily {
 public:
  explicit FastaiAdam(const std::vector<Tensor>& params, const FastaiAdamOptions& options = {});
  explicit FastaiAdam(const std::vector<ParamGroupOptions>& groups, const FastaiAdamOptions& options = {});
};

}  // namespace ember::nn
