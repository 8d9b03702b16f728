// Batch normalisation: the differentiable op batch_norm and the modules BatchNorm1d/BatchNorm2d.
//
//   x (N, C) or (N, C, L) [1d], (N, C, H, W) [2d];  per channel c over the other dims:
//   training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias, with the batch's mean and
//             biased variance; then running_mean = (1 - momentum) running_mean + momentum mean_B and
//             running_var = (1 - momentum) running_var + momentum var_B * M / (M - 1) (unbiased)
//   eval:     the same with running_mean and running_var in place of the batch's statistics.
// Kernels: tensor/cpu/batch_norm.cpp (the backward's derivation is at its top).
#pragma once
#include "nn/module.h"

namespace ember::nn {

// running_mean / running_var may be undefined (no running statistics: always batch statistics).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;  // "64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True"
  void reset_parameters();                  // weight 1, bias 0, running stats 0 and 1, count 0

  int64_t num_features;
  double eps, momentum;
  bool affine;
  Tensor weight, bias;                                    // undefined unless affine
  Tensor running_mean, running_var, num_batches_tracked;  // buffers (num_batches_tracked: int64, 0-d)

 protected:
  BatchNorm(std::string type_name, int expected_dims_low, int expected_dims_high, int64_t num_features, double eps,
            double momentum, bool affine);

 private:
  int dims_low_, dims_high_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm("BatchNorm1d", 2, 3, num_features, eps, momentum, affine) {}
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true)
      : BatchNorm("BatchNorm2d", 4, 4, num_features, eps, momentum, affine) {}
};

}  // namespace ember::nn
