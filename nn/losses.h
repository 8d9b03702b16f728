// Loss functions: first-class differentiable ops with their own forward and backward kernels
// (tensor/kernels.h: pointwise_loss, cross_entropy, nll_loss and their backward), like
// torch.nn.functional's. Each returns a 0-d tensor (Reduction::Mean or Sum) or the per-element /
// per-sample losses (Reduction::None), and records one node whose backward accepts any upstream
// gradient. First-order only: the backward formulas are not themselves differentiable.
//
//   Tensor loss = nn::cross_entropy(logits, labels);        // logits (N,C) float, labels (N) int64
//   backward(loss);
//
// The loss objects (MSELoss, CrossEntropyLoss, ...) hold the options and are called like the
// functions; they are plain callables, not nn::Module (a Module's forward takes one tensor).
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace ember::nn {

// How the per-element losses become the result: their mean, their sum, or left as they are.
enum class Reduction { Mean, Sum, None };
const char* reduction_name(Reduction reduction);  // "mean", "sum", "none"

// (x - t)^2 per element. input and target: float tensors of one shape and dtype (PyTorch
// broadcasts different shapes with a warning; here that is an error, as it is nearly always a
// bug such as (N,1) against (N)). Differentiable w.r.t. input and target.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

// -log softmax(logits)[target] per sample, computed from logits with the row max subtracted (so
// logits of +-1000 are fine). Shapes, as in PyTorch:
//   logits (N,C), target (N);   logits (C), target () ;   logits (N,C,d1..dk), target (N,d1..dk)
// target holds int64 class indices in 0..C-1; samples whose target is ignore_index contribute
// nothing, and Mean divides by the number of the others (NaN when there are none, as PyTorch).
// Differentiable w.r.t. logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     int64_t ignore_index = -100);

// -log_probs[target] per sample: cross_entropy without the log_softmax (pair it with
// log_softmax(x, 1)). Same shapes, targets and ignore_index rule as cross_entropy.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
                int64_t ignore_index = -100);

// Binary cross entropy on logits x with targets t in [0, 1], without forming sigmoid(x):
//   l = max(x, 0) - x t + log1p(exp(-|x|))          (= -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)))
// pos_weight (optional, broadcast to input's shape, e.g. one per class (C)) weights the positive
// term: l = -p t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)); it is not differentiated.
// input and target: float tensors of one shape and dtype. Differentiable w.r.t. input and target.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction = Reduction::Mean, const Tensor& pos_weight = Tensor());

// ---- loss objects --------------------------------------------------------------------------------
struct MSELoss {
  Reduction reduction = Reduction::Mean;
  Tensor operator()(const Tensor& input, const Tensor& target) const;
};

struct CrossEntropyLoss {
  Reduction reduction = Reduction::Mean;
  int64_t ignore_index = -100;
  Tensor operator()(const Tensor& logits, const Tensor& target) const;
};

struct NLLLoss {
  Reduction reduction = Reduction::Mean;
  int64_t ignore_index = -100;
  Tensor operator()(const Tensor& log_probs, const Tensor& target) const;
};

struct BCEWithLogitsLoss {
  Reduction reduction = Reduction::Mean;
  Tensor pos_weight;  // undefined: every positive weighs 1
  Tensor operator()(const Tensor& input, const Tensor& target) const;
};

}  // namespace ember::nn
