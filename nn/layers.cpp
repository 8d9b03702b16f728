// See layers.h.
#include "nn/layers.h"

#include <cmath>
#include <cstdio>

#include "nn/init.h"
#include "tensor/creation.h"

namespace ember::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, DType dtype)
    : Module("Linear"), in_features(in_features), out_features(out_features) {
  EMBER_CHECK(in_features > 0 && out_features > 0, "Linear: in_features and out_features must be positive, got " +
                                                       std::to_string(in_features) + " and " +
                                                       std::to_string(out_features));
  EMBER_CHECK(is_floating(dtype), std::string("Linear: dtype must be a float type, got ") + dtype_name(dtype));
  weight = register_parameter("weight", empty({out_features, in_features}, dtype));
  if (has_bias) bias = register_parameter("bias", empty({out_features}, dtype));
  reset_parameters();
}

// PyTorch's Linear.reset_parameters: kaiming_uniform_(W, a=sqrt(5)) has bound
// sqrt(3) * sqrt(2 / (1 + 5)) / sqrt(fan_in) = 1 / sqrt(fan_in), and so has the bias.
void Linear::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1 / std::sqrt(static_cast<double>(in_features));
    init::uniform_(bias, -bound, bound);
  }
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (bias.defined() ? "True" : "False");
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Dropout::Dropout(double p) : Module("Dropout"), p(p) {
  EMBER_CHECK(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got " + std::to_string(p));
}

std::string Dropout::extra_repr() const {
  char text[64];
  std::snprintf(text, sizeof text, "p=%g, inplace=False", p);
  return text;
}

}  // namespace ember::nn
