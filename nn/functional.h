// Functional forms of the layers (torch.nn.functional): plain differentiable functions, no state.
// The activations already exist as ops in autograd/ (relu, sigmoid, tanh, softmax, log_softmax,
// flatten); they are named here too so that `nn::functional::` lists every layer's function.
#pragma once
#include "autograd/elementwise.h"
#include "autograd/reductions.h"
#include "autograd/views.h"
#include "tensor/tensor.h"

namespace ember::nn::functional {

// y = x W^T + b.   x (*, in), weight (out, in), bias (out) or undefined  ->  y (*, out)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// In training, zeroes each element with probability p and scales the rest by 1 / (1 - p), so the
// expected value is unchanged (inverted dropout). Not training, or p == 0: x itself.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

using ember::flatten;
using ember::log_softmax;
using ember::relu;
using ember::sigmoid;
using ember::softmax;
using ember::tanh;
inline Tensor identity(const Tensor& x) { return x; }

}  // namespace ember::nn::functional
