// See init.h. Each initialiser draws a new tensor of the same shape and copies it into `t`.
#include "nn/init.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "tensor/creation.h"

namespace ember::nn::init {

namespace {

int64_t receptive_field(const Tensor& w) {
  int64_t size = 1;
  for (int d = 2; d < w.dim(); ++d) size *= w.size(d);
  return size;
}

void check_fans(const Tensor& w, const char* who) {
  EMBER_CHECK(w.dim() >= 2, std::string(who) + ": fan in and fan out need a tensor with at least 2 dims, got shape " +
                                w.shape().str());
}

int64_t fan(const Tensor& w, FanMode mode) { return mode == FanMode::FanIn ? fan_in(w) : fan_out(w); }

void fill_from(Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  copy_(t, values);
}

}  // namespace

int64_t fan_in(const Tensor& w) {
  check_fans(w, "fan_in");
  return w.size(1) * receptive_field(w);
}

int64_t fan_out(const Tensor& w) {
  check_fans(w, "fan_out");
  return w.size(0) * receptive_field(w);
}

double calculate_gain(const std::string& nonlinearity, double a) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" || nonlinearity == "sigmoid")
    return 1;
  if (nonlinearity == "tanh") return 5.0 / 3;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1 + a * a));
  if (nonlinearity == "selu") return 3.0 / 4;
  throw Error("calculate_gain: unknown nonlinearity '" + nonlinearity +
              "' (expected linear, conv1d, conv2d, sigmoid, tanh, relu, leaky_relu or selu)");
}

void uniform_(Tensor& t, double low, double high) {
  EMBER_CHECK(low <= high, "uniform_: low " + std::to_string(low) + " is greater than high " + std::to_string(high));
  fill_from(t, uniform(t.shape(), low, high, t.dtype(), t.device()));
}

void normal_(Tensor& t, double mean, double stddev) {
  EMBER_CHECK(stddev >= 0, "normal_: stddev must be >= 0, got " + std::to_string(stddev));
  fill_from(t, normal(t.shape(), mean, stddev, t.dtype(), t.device()));
}

void constant_(Tensor& t, double value) {
  NoGradGuard no_grad;
  fill_(t, value);
}
void zeros_(Tensor& t) { constant_(t, 0); }
void ones_(Tensor& t) { constant_(t, 1); }

void kaiming_uniform_(Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  const double stddev = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode)));
  const double bound = std::sqrt(3.0) * stddev;
  uniform_(t, -bound, bound);
}

void kaiming_normal_(Tensor& t, double a, FanMode mode, const std::string& nonlinearity) {
  normal_(t, 0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode))));
}

void xavier_uniform_(Tensor& t, double gain) {
  const double stddev = gain * std::sqrt(2.0 / static_cast<double>(fan_in(t) + fan_out(t)));
  uniform_(t, -std::sqrt(3.0) * stddev, std::sqrt(3.0) * stddev);
}

void xavier_normal_(Tensor& t, double gain) {
  normal_(t, 0, gain * std::sqrt(2.0 / static_cast<double>(fan_in(t) + fan_out(t))));
}

}  // namespace ember::nn::init
