// Weight initialisation, as torch.nn.init. Every function fills `t` in place (under no_grad) and
// draws from Ember's global generator (manual_seed), so a seed fixes the initial weights. The
// numbers differ from PyTorch's for the same seed: Ember's generator is Philox, PyTorch's CPU one
// is a Mersenne Twister; the distributions are the same.
//
// fan_in / fan_out of a weight of shape (out, in, k1, k2, ...): fan_in = in * k1 * k2 * ...,
// fan_out = out * k1 * k2 * ... (Linear (out, in) has no kernel dims).
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace ember::nn::init {

enum class FanMode { FanIn, FanOut };

int64_t fan_in(const Tensor& weight);
int64_t fan_out(const Tensor& weight);

// torch.nn.init.calculate_gain: "linear"/"conv2d"/"sigmoid" 1, "tanh" 5/3, "relu" sqrt(2),
// "leaky_relu" sqrt(2 / (1 + a^2)), "selu" 3/4.
double calculate_gain(const std::string& nonlinearity, double a = 0);

void uniform_(Tensor& t, double low = 0, double high = 1);
void normal_(Tensor& t, double mean = 0, double stddev = 1);
void constant_(Tensor& t, double value);
void zeros_(Tensor& t);
void ones_(Tensor& t);

// He et al. 2015: std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).
//   kaiming_uniform_: U(-b, b) with b = sqrt(3) * std       kaiming_normal_: N(0, std^2)
void kaiming_uniform_(Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                      const std::string& nonlinearity = "leaky_relu");
void kaiming_normal_(Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                     const std::string& nonlinearity = "leaky_relu");

// Glorot & Bengio 2010: std = gain * sqrt(2 / (fan_in + fan_out)).
//   xavier_uniform_: U(-b, b) with b = sqrt(3) * std        xavier_normal_: N(0, std^2)
void xavier_uniform_(Tensor& t, double gain = 1);
void xavier_normal_(Tensor& t, double gain = 1);

}  // namespace ember::nn::init
