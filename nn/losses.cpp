// Loss functions: forward call and backward formula side by side, as in autograd/. The math
// per element / per row is in the kernels (tensor/cpu/loss.cpp, cuda/loss.cu); this file checks
// the arguments, arranges shapes, reduces, and records one node per loss.
//
// ---- the cross-entropy gradient (what cross_entropy_backward computes) ---------------------------
// For one sample with logits x (C) and target class t:
//   l = -log softmax(x)_t = -x_t + log sum_j exp(x_j)
//     = -x_t + m + log sum_j exp(x_j - m),     m = max_j x_j
// (the same number; shifted, no exp overflows and the largest term is exp(0) = 1, so logits of
// +-1000 give finite, exact losses). Differentiating by x_c, where d/dx_c log sum_j exp(x_j) =
// exp(x_c) / sum_j exp(x_j) = softmax(x)_c:
//   dl/dx_c = softmax(x)_c - [c == t]
// With g_n = dL/dl_n for sample n, over the batch:
//   dL/dx (N,C) = g (N,1) * (softmax(x) (N,C) - onehot(t) (N,C))
// where g_n is the upstream gradient g (Sum), g / count (Mean, count = samples whose target is not
// ignore_index) or the upstream (N) tensor itself (None), and ignored samples get a zero row.
// PyTorch runs log_softmax and nll_loss as two ops (and stores the (N,C) log-probabilities); here
// one kernel does the forward and one the backward, recomputing softmax from the saved logits.
//
// Only first-order gradients: the backward formulas run under NoGradGuard and are not recorded.
#include "nn/losses.h"

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/reductions.h"
#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember::nn {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
  case Reduction::Mean: return "mean";
  case Reduction::Sum: return "sum";
  case Reduction::None: return "none";
  }
  return "?";
}

// The sum over every element as a 0-d tensor, and the mean with a given count (a number or a
// tensor). The per-element losses never require grad, so these record nothing.
static Tensor reduce_losses(const Tensor& losses, Reduction reduction, const Tensor& count) {
  if (reduction == Reduction::None) return losses;
  Tensor total = sum(losses);
  return reduction == Reduction::Sum ? total : div(total, count);
}

// ==== pointwise losses: mse_loss, binary_cross_entropy_with_logits ==================================
struct PointwiseLossBackward : Node {
  LossOp op = LossOp::SquaredError;
  Reduction reduction = Reduction::Mean;
  SavedTensor input, target, pos_weight;  // pos_weight already broadcast to input's shape
  std::string name() const override {
    return op == LossOp::SquaredError ? "MseLossBackward0" : "BinaryCrossEntropyWithLogitsBackward0";
  }
  // dL/dinput_i = g_i * dl_i/dinput_i with g_i = g (Sum), g / numel (Mean) or g_i (None); likewise
  // for the target. The kernel takes g_i as a stride-0 view when the loss was reduced.
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor x = input.unpack(*this), t = target.unpack(*this), p = pos_weight.unpack(*this);
    Tensor g = grads[0];
    if (reduction == Reduction::Mean) g = div(g, scalar_like(static_cast<double>(x.numel()), g));
    if (reduction != Reduction::None) g = expand(g, x.shape());
    Tensor grad_input = needs_input_grad(0) ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
    Tensor grad_target = needs_input_grad(1) ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
    kernels::pointwise_loss_backward(op, grad_input, grad_target, g, x, t, p);
    return {grad_input, grad_target};
  }
  void release_saved_tensors() override { input.reset(), target.reset(), pos_weight.reset(); }
};

static void check_pointwise_operands(const char* op, const Tensor& input, const Tensor& target) {
  EMBER_CHECK(input.defined() && target.defined(), std::string(op) + ": input or target is undefined");
  kernels::check_same_device(op, input, target);
  EMBER_CHECK(is_floating(input.dtype()) && target.dtype() == input.dtype(),
              std::string(op) + ": expected float input and target of one dtype, got input " +
                  dtype_name(input.dtype()) + " and target " + dtype_name(target.dtype()));
  EMBER_CHECK(input.shape() == target.shape(), std::string(op) + ": target shape " + target.shape().str() +
                                                   " must equal input shape " + input.shape().str() +
                                                   " (reshape one of them; losses do not broadcast)");
}

// Can a tensor of shape `from` be expanded to `to` (NumPy rules, without growing `to`)?
static bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (int i = 1; i <= from.size(); ++i) {
    const int64_t f = from[from.size() - i], t = to[to.size() - i];
    if (f != t && f != 1) return false;
  }
  return true;
}

static Tensor pointwise_loss(LossOp op, const char* name, const Tensor& input, const Tensor& target,
                             Reduction reduction, const Tensor& pos_weight) {
  check_pointwise_operands(name, input, target);
  Tensor weight;  // pos_weight broadcast to input's shape (a stride-0 view)
  if (pos_weight.defined()) {
    kernels::check_same_device(name, input, pos_weight);
    EMBER_CHECK(pos_weight.dtype() == input.dtype(), std::string(name) + ": pos_weight dtype " +
                                                         dtype_name(pos_weight.dtype()) + " must equal input dtype " +
                                                         dtype_name(input.dtype()));
    EMBER_CHECK(!pos_weight.requires_grad() || !GradMode::is_enabled(),
                std::string(name) + ": pos_weight is not differentiated here; pass pos_weight.detach()");
    EMBER_CHECK(broadcasts_to(pos_weight.shape(), input.shape()),
                std::string(name) + ": pos_weight shape " + pos_weight.shape().str() +
                    " does not broadcast to input shape " + input.shape().str());
    weight = expand_view(pos_weight.detach(), input.shape());
  }
  Tensor losses = empty(input.shape(), input.dtype(), input.device());
  kernels::pointwise_loss(op, losses, input, target, weight);
  Tensor out = reduce_losses(losses, reduction, scalar_like(static_cast<double>(input.numel()), losses));
  if (any_requires_grad({&input, &target})) {
    auto node = record<PointwiseLossBackward>({&input, &target}, {&out});
    node->op = op, node->reduction = reduction;
    node->input = SavedTensor(input), node->target = SavedTensor(target), node->pos_weight = SavedTensor(weight);
  }
  return out;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return pointwise_loss(LossOp::SquaredError, "mse_loss", input, target, reduction, Tensor());
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction reduction,
                                        const Tensor& pos_weight) {
  return pointwise_loss(LossOp::BinaryCrossEntropyWithLogits, "binary_cross_entropy_with_logits", input, target,
                        reduction, pos_weight);
}

// ==== class losses: cross_entropy, nll_loss ==========================================================

// The kernels see (M,C) rows and (M) targets. PyTorch's three layouts become rows so:
//   (N,C)          and (N)          as they are
//   (C)            and ()           one row (a view)
//   (N,C,d1..dk)   and (N,d1..dk)   the class dim moved last, then (N*d1*..*dk, C)
struct ClassRows {
  Tensor matrix, target;  // (M,C) and (M), detached
  Shape loss_shape;       // the shape of the unreduced loss: target's shape
};

static void check_class_operands(const char* op, const char* what, const Tensor& scores, const Tensor& target) {
  EMBER_CHECK(scores.defined() && target.defined(), std::string(op) + ": " + what + " or target is undefined");
  kernels::check_same_device(op, scores, target);
  EMBER_CHECK(is_floating(scores.dtype()),
              std::string(op) + ": expected float " + what + ", got " + dtype_name(scores.dtype()));
  EMBER_CHECK(target.dtype() == DType::Int64, std::string(op) + ": expected an int64 target of class indices, got " +
                                                  dtype_name(target.dtype()) +
                                                  " (class probabilities as targets are not supported)");
  EMBER_CHECK(scores.dim() >= 1, std::string(op) + ": expected " + what + " of shape (N,C), (C) or (N,C,d1,...), got " +
                                     scores.shape().str());
  Shape expected = scores.shape();
  expected.erase(scores.dim() == 1 ? 0 : 1);  // drop the class dim
  EMBER_CHECK(target.shape() == expected, std::string(op) + ": target shape " + target.shape().str() +
                                              " does not fit " + what + " shape " + scores.shape().str() +
                                              " (expected target shape " + expected.str() + ")");
}

// The (M) targets: a 0-d target becomes one row, (N,d1..dk) is flattened.
static Tensor target_rows(const Tensor& target) {
  return target.dim() == 0 ? target.as_strided(Shape{1}, Strides{1}, target.offset()) : reshape(target, Shape{-1});
}

static ClassRows class_rows(const Tensor& scores_in, const Tensor& target_in) {
  Tensor scores = scores_in.detach(), target = target_rows(target_in.detach());
  if (scores.dim() == 1)
    return {scores.as_strided(Shape{1, scores.size(0)}, Strides{0, scores.stride(0)}, scores.offset()), target,
            target_in.shape()};
  if (scores.dim() == 2) return {scores, target, target_in.shape()};
  Dims order;  // (N, d1..dk, C)
  order.push_back(0);
  for (int d = 2; d < scores.dim(); ++d) order.push_back(d);
  order.push_back(1);
  return {reshape(permute(scores, order), Shape{-1, scores.size(1)}), target, target_in.shape()};
}

// The (M,C) gradient back in the scores' own layout (the inverse of class_rows).
static Tensor from_class_rows(const Tensor& grad_rows, const Shape& scores_shape) {
  if (scores_shape.size() <= 2) return reshape(grad_rows, scores_shape);
  Shape permuted;  // (N, d1..dk, C)
  permuted.push_back(scores_shape[0]);
  for (int d = 2; d < scores_shape.size(); ++d) permuted.push_back(scores_shape[d]);
  permuted.push_back(scores_shape[1]);
  Dims back;  // (N, d1..dk, C) -> (N, C, d1..dk)
  back.push_back(0);
  back.push_back(scores_shape.size() - 1);
  for (int d = 1; d < scores_shape.size() - 1; ++d) back.push_back(d);
  return permute(reshape(grad_rows, permuted), back);
}

// "position 3", or "position [1, 2]" for a target of several dims.
static std::string position_text(int64_t flat, const Shape& shape) {
  if (shape.size() <= 1) return "position " + std::to_string(flat);
  std::string index;
  for (int d = shape.size() - 1; d >= 0; --d) {
    index = std::to_string(flat % shape[d]) + (index.empty() ? "" : ", ") + index;
    flat /= shape[d];
  }
  return "position [" + index + "]";
}

[[noreturn]] static void throw_bad_target(const char* op, const ClassRows& rows, int64_t position,
                                          int64_t ignore_index) {
  const int64_t classes = rows.matrix.size(1);
  const int64_t value = to_vector<int64_t>(contiguous(slice(rows.target, 0, position, position + 1)))[0];
  throw Error(std::string(op) + ": target " + std::to_string(value) + " at " +
              position_text(position, rows.loss_shape) + " is out of range for " + std::to_string(classes) +
              " classes (expected 0.." + std::to_string(classes - 1) + " or ignore_index " +
              std::to_string(ignore_index) + ")");
}

struct ClassLossBackward : Node {
  bool from_logits = true;  // cross_entropy (softmax inside) or nll_loss
  Reduction reduction = Reduction::Mean;
  int64_t ignore_index = -100;
  SavedTensor scores, target;
  SavedTensor count;  // Mean: the number of samples not ignored (a 0-d tensor)
  Shape scores_shape;
  DType dtype = DType::Float32;
  std::string name() const override { return from_logits ? "CrossEntropyLossBackward0" : "NllLossBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    Tensor t = target_rows(target.unpack(*this).detach());
    const int64_t m = t.size(0), classes = scores_shape[scores_shape.size() == 1 ? 0 : 1];
    Tensor g = grads[0];  // (loss_shape) for None, () otherwise
    if (reduction == Reduction::Mean) g = div(g, count.unpack(*this));
    g = reduction == Reduction::None ? reshape(g, Shape{m}) : expand(reshape(g, Shape{1}), Shape{m});
    Tensor grad_rows = empty(Shape{m, classes}, dtype, t.device());
    if (from_logits)  // nll_loss's gradient does not depend on the log-probabilities: only their shape is kept
      kernels::cross_entropy_backward(grad_rows, g, class_rows(scores.unpack(*this), t).matrix, t, ignore_index);
    else
      kernels::nll_loss_backward(grad_rows, g, t, ignore_index);
    return {from_class_rows(grad_rows, scores_shape)};
  }
  void release_saved_tensors() override { scores.reset(), target.reset(), count.reset(); }
};

static Tensor class_loss(bool from_logits, const Tensor& scores, const Tensor& target, Reduction reduction,
                         int64_t ignore_index) {
  const char* op = from_logits ? "cross_entropy" : "nll_loss";
  check_class_operands(op, from_logits ? "logits" : "log_probs", scores, target);
  ClassRows rows = class_rows(scores, target);
  Tensor losses = empty(Shape{rows.matrix.size(0)}, scores.dtype(), scores.device());
  const int64_t bad = from_logits ? kernels::cross_entropy(losses, rows.matrix, rows.target, ignore_index)
                                  : kernels::nll_loss(losses, rows.matrix, rows.target, ignore_index);
  if (bad >= 0) throw_bad_target(op, rows, bad, ignore_index);

  Tensor count;  // Mean divides by the samples that are not ignored
  if (reduction == Reduction::Mean) {
    NoGradGuard no_grad;
    count =
        to_dtype(sum(ne(rows.target, scalar_tensor(static_cast<double>(ignore_index), DType::Int64, target.device()))),
                 scores.dtype());
  }
  Tensor out = reduction == Reduction::None ? losses.as_strided(rows.loss_shape, contiguous_strides(rows.loss_shape), 0)
                                            : reduce_losses(losses, reduction, count);
  if (any_requires_grad({&scores})) {
    auto node = record<ClassLossBackward>({&scores}, {&out});
    node->from_logits = from_logits, node->reduction = reduction, node->ignore_index = ignore_index;
    if (from_logits) node->scores = SavedTensor(scores);
    node->target = SavedTensor(target), node->count = SavedTensor(count);
    node->scores_shape = scores.shape(), node->dtype = scores.dtype();
  }
  return out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  return class_loss(true, logits, target, reduction, ignore_index);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  return class_loss(false, log_probs, target, reduction, ignore_index);
}

// ==== loss objects ====================================================================================
Tensor MSELoss::operator()(const Tensor& input, const Tensor& target) const {
  return mse_loss(input, target, reduction);
}
Tensor CrossEntropyLoss::operator()(const Tensor& logits, const Tensor& target) const {
  return cross_entropy(logits, target, reduction, ignore_index);
}
Tensor NLLLoss::operator()(const Tensor& log_probs, const Tensor& target) const {
  return nll_loss(log_probs, target, reduction, ignore_index);
}
Tensor BCEWithLogitsLoss::operator()(const Tensor& input, const Tensor& target) const {
  return binary_cross_entropy_with_logits(input, target, reduction, pos_weight);
}

}  // namespace ember::nn
