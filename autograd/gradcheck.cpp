#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/reductions.h"
#include "tensor/creation.h"

namespace ember {

// s(x) = sum(v * f(x)) without recording a graph.
static double projected(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                        const Tensor& v) {
  NoGradGuard no_grad;
  return sum(mul(f(inputs), v)).item();
}

// Storage offsets of every element of t, in row-major order of its logical index.
static std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> offsets;
  const int nd = t.dim();
  int64_t counter[kMaxDims] = {};
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    int64_t offset = t.offset();
    for (int d = 0; d < nd; ++d) offset += counter[d] * t.strides()[d];
    offsets.push_back(offset);
    for (int d = nd - 1; d >= 0; --d) {
      if (++counter[d] < t.shape()[d]) break;
      counter[d] = 0;
    }
  }
  return offsets;
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          double eps, double atol, double rtol) {
  GradcheckResult result;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    EMBER_CHECK(x.dtype() == DType::Float64, "gradcheck: input " + std::to_string(k) + " requires grad but is " +
                                                 dtype_name(x.dtype()) + "; gradcheck needs float64");
    EMBER_CHECK(x.is_leaf(), "gradcheck: input " + std::to_string(k) + " must be a leaf");
    for (int64_t s : x.strides())
      EMBER_CHECK(s != 0, "gradcheck: input " + std::to_string(k) + " has a stride-0 (expanded) dim");
    x.set_grad(Tensor());
  }

  // Analytical: one backward with a random v.
  Tensor y = f(inputs);
  EMBER_CHECK(y.dtype() == DType::Float64,
              std::string("gradcheck: f returned ") + dtype_name(y.dtype()) + "; it must compute in float64");
  Generator generator{20240917, 0};
  Tensor v = normal(y.shape(), 0, 1, DType::Float64, Device::cpu(), &generator);
  backward(y, v);

  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor analytical = x.grad().defined() ? x.grad() : zeros(x.shape(), DType::Float64);
    std::vector<double> grad = to_vector<double>(analytical);
    double* base = static_cast<double*>(x.storage()->data);
    std::vector<int64_t> offsets = element_offsets(x);
    for (size_t i = 0; i < offsets.size(); ++i) {
      double& element = base[offsets[i]];
      const double original = element;
      element = original + eps;
      double plus = projected(f, inputs, v);
      element = original - eps;
      double minus = projected(f, inputs, v);
      element = original;
      double numerical = (plus - minus) / (2 * eps);
      double error = std::fabs(grad[i] - numerical);
      double excess = error - rtol * std::fabs(numerical);
      result.max_error = std::max(result.max_error, std::max(excess, 0.0));
      if (!(excess <= atol) && result.ok) {  // also catches NaN
        result.ok = false;
        result.message = "gradcheck: input " + std::to_string(k) + " (shape " + x.shape().str() + ") element " +
                         std::to_string(i) + ": analytical " + std::to_string(grad[i]) + " vs numerical " +
                         std::to_string(numerical);
      }
    }
  }
  return result;
}

}  // namespace ember
