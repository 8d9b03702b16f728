// See functional.h.
#include "nn/functional.h"

#include "autograd/linalg.h"
#include "tensor/creation.h"

namespace ember::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  EMBER_CHECK(weight.dim() == 2,
              "linear: weight must be 2-d (out_features, in_features), got shape " + weight.shape().str());
  EMBER_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
              "linear: input of shape " + x.shape().str() + " does not fit a weight of shape " + weight.shape().str() +
                  " (the input's last dim must be in_features = " + std::to_string(weight.size(1)) + ")");
  Tensor y = matmul(x, mT(weight));  // (*, in) @ (in, out) -> (*, out)
  if (!bias.defined()) return y;
  EMBER_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0),
              "linear: bias must have shape [" + std::to_string(weight.size(0)) + "], got " + bias.shape().str());
  return add(y, bias);
}

Tensor dropout(const Tensor& x, double p, bool training) {
  EMBER_CHECK(p >= 0 && p <= 1, "dropout: p must be in [0, 1], got " + std::to_string(p));
  if (!training || p == 0) return x;
  if (p == 1) return mul(x, zeros_like(x));
  // keep = (u >= p) with u ~ U[0, 1): probability 1 - p; scaled so that E[out] = x.
  Tensor u = uniform(x.shape(), 0, 1, x.dtype(), x.device());
  Tensor keep = to_dtype(ge(u, scalar_like(p, u)), x.dtype());
  return mul(x, mul(keep, scalar_like(1 / (1 - p), keep)));
}

}  // namespace ember::nn::functional
