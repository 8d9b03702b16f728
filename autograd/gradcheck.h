// Checks a backward formula against finite differences, as torch.autograd.gradcheck does.
//
// For y = f(inputs) and a fixed random v of y's shape, let s(x) = sum(v * f(x)). Backward with
// gradient v gives ds/dx analytically; central differences give it numerically:
//   ds/dx_i ~ (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)
// Every element of every input that requires grad is compared (float64 inputs, so the
// difference quotient has ~10 correct digits). Inputs may be non-contiguous views.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace ember {

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;  // largest |analytical - numerical| - rtol * |numerical|, clipped at 0
  std::string message;   // names the first failing input and element
};

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3);

}  // namespace ember
