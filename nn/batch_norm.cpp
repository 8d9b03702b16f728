// See batch_norm.h.
#include "nn/batch_norm.h"

#include <cstdio>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember::nn {

namespace {

struct BatchNormBackward : Node {
  SavedTensor x, mean, invstd, weight;
  bool batch_statistics = true, has_weight = false, has_bias = false;
  std::string name() const override { return "NativeBatchNormBackward0"; }
  void release_saved_tensors() override {
    x.reset();
    mean.reset();
    invstd.reset();
    weight.reset();
  }
  // Inputs in order: x, weight (when affine), bias (when affine).
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor xs = x.unpack(*this), w = weight.unpack(*this);
    const int64_t C = xs.size(1);
    Tensor gx = needs_input_grad(0) ? empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
    Tensor gw = has_weight && needs_input_grad(1) ? empty({C}, xs.dtype(), xs.device()) : Tensor();
    Tensor gb = has_bias && needs_input_grad(2) ? empty({C}, xs.dtype(), xs.device()) : Tensor();
    kernels::batch_norm_backward(gx, gw, gb, grads[0], xs, mean.unpack(*this), invstd.unpack(*this), w,
                                 batch_statistics);
    return {gx, gw, gb};
  }
};

// 1 / sqrt(var + eps), elementwise, no graph.
Tensor inverse_std(const Tensor& var, double eps) {
  NoGradGuard no_grad;
  return div(scalar_like(1.0, var), sqrt(add(var, scalar_like(eps, var))));
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  EMBER_CHECK(x.dim() >= 2,
              "batch_norm: expected an input with a channel dim (N, C, ...), got shape " + x.shape().str());
  EMBER_CHECK(is_floating(x.dtype()), std::string("batch_norm: expected a float input, got ") + dtype_name(x.dtype()));
  const int64_t C = x.size(1), M = x.numel() / std::max<int64_t>(1, C);
  auto check_vector = [&](const Tensor& t, const char* what) {
    if (t.defined())
      EMBER_CHECK(t.dim() == 1 && t.size(0) == C && t.dtype() == x.dtype(),
                  std::string("batch_norm: ") + what + " must be a " + dtype_name(x.dtype()) + " tensor of shape [" +
                      std::to_string(C) + "], got " + t.shape().str() + " " + dtype_name(t.dtype()));
  };
  check_vector(running_mean, "running_mean");
  check_vector(running_var, "running_var");
  check_vector(weight, "weight");
  check_vector(bias, "bias");
  const bool batch_statistics = training || !running_mean.defined();
  EMBER_CHECK(!batch_statistics || M > 1,
              "batch_norm: expected more than 1 value per channel when training, got input "
              "of shape " +
                  x.shape().str());

  Tensor mean, invstd;
  if (batch_statistics) {
    mean = empty({C}, x.dtype(), x.device());
    Tensor var = empty({C}, x.dtype(), x.device());
    kernels::batch_norm_stats(mean, var, x);
    invstd = inverse_std(var, eps);
    if (training && running_mean.defined()) {  // the running statistics (no graph: they are buffers)
      NoGradGuard no_grad;
      Tensor rm = running_mean, rv = running_var;
      const Tensor unbiased = mul(var, scalar_like(static_cast<double>(M) / static_cast<double>(M - 1), var));
      mul_(rm, 1 - momentum);
      add_(rm, mul(mean, scalar_like(momentum, mean)));
      mul_(rv, 1 - momentum);
      add_(rv, mul(unbiased, scalar_like(momentum, unbiased)));
    }
  } else {
    mean = running_mean.detach();
    invstd = inverse_std(running_var.detach(), eps);
  }
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  kernels::batch_norm_forward(y, x, mean, invstd, weight, bias);
  if (any_requires_grad({&x, &weight, &bias})) {
    auto node = weight.defined() ? (bias.defined() ? record<BatchNormBackward>({&x, &weight, &bias}, {&y})
                                                   : record<BatchNormBackward>({&x, &weight}, {&y}))
                                 : record<BatchNormBackward>({&x}, {&y});
    node->x = SavedTensor(x);
    node->mean = SavedTensor(mean);
    node->invstd = SavedTensor(invstd);
    node->weight = SavedTensor(weight);
    node->batch_statistics = batch_statistics;
    node->has_weight = weight.defined();
    node->has_bias = bias.defined();
  }
  return y;
}

BatchNorm::BatchNorm(std::string type_name, int dims_low, int dims_high, int64_t num_features, double eps,
                     double momentum, bool affine)
    : Module(std::move(type_name)),
      num_features(num_features),
      eps(eps),
      momentum(momentum),
      affine(affine),
      dims_low_(dims_low),
      dims_high_(dims_high) {
  EMBER_CHECK(num_features > 0,
              this->type_name() + ": num_features must be positive, got " + std::to_string(num_features));
  if (affine) {
    weight = register_parameter("weight", empty({num_features}));
    bias = register_parameter("bias", empty({num_features}));
  }
  running_mean = register_buffer("running_mean", empty({num_features}));
  running_var = register_buffer("running_var", empty({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  reset_parameters();
}

void BatchNorm::reset_parameters() {
  NoGradGuard no_grad;
  if (affine) {
    fill_(weight, 1);
    fill_(bias, 0);
  }
  fill_(running_mean, 0);
  fill_(running_var, 1);
  fill_(num_batches_tracked, 0);
}

Tensor BatchNorm::forward(const Tensor& x) {
  EMBER_CHECK(x.dim() >= dims_low_ && x.dim() <= dims_high_,
              type_name() + ": expected a " +
                  (dims_low_ == dims_high_ ? std::to_string(dims_low_) + "-d"
                                           : std::to_string(dims_low_) + "-d or " + std::to_string(dims_high_) + "-d") +
                  " input, got shape " + x.shape().str());
  EMBER_CHECK(x.size(1) == num_features, type_name() + ": expected " + std::to_string(num_features) +
                                             " channels (dim 1), got input of shape " + x.shape().str());
  if (is_training()) {
    NoGradGuard no_grad;
    Tensor count = num_batches_tracked;
    add_(count, 1.0);
  }
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

std::string BatchNorm::extra_repr() const {
  char text[160];
  std::snprintf(text, sizeof text, "%lld, eps=%g, momentum=%g, affine=%s, track_running_stats=True",
                static_cast<long long>(num_features), eps, momentum, affine ? "True" : "False");
  return text;
}

}  // namespace ember::nn
