// Pooling over the last two dims of (N,C,H,W) (or (C,H,W)) float tensors, as torch.nn's:
// max and average pooling with a fixed window, adaptive pooling to a given output size, and
// fastai's AdaptiveConcatPool2d (max and average side by side). Each op is differentiable w.r.t.
// its input (first order: the backward formulas are not themselves recorded); the kernels are in
// tensor/cpu/pooling.cpp (no CUDA kernels yet: on a GPU tensor these raise a clear error).
//
//   Tensor y = nn::functional::max_pool2d(x, 3, 2, 1);          // ResNet's stem: (N,64,112,112) -> (N,64,56,56)
//   Tensor z = nn::functional::adaptive_avg_pool2d(y, 1);       // (N,C,1,1)
//   nn::AdaptiveConcatPool2d head;  head(y);                    // (N,2C,1,1), max first
//
// Output sizes, with kernel k, stride s (default: k), padding p (PyTorch's ceil_mode=False):
//   OH = floor((H + 2p - k) / s) + 1                            (likewise OW)
// Adaptive pooling to OH x OW takes for output row i the input rows
//   floor(i * H / OH) .. ceil((i + 1) * H / OH) - 1             (bins may overlap; likewise columns)
#pragma once
#include <cstdint>
#include <string>

#include "nn/module.h"
#include "tensor/tensor.h"

namespace ember::nn {

// A 2-d size as PyTorch takes it: one number for both dims (`3`, printed "3") or a pair
// (`{2, 3}` = (h, w), printed "(2, 3)"). A default-constructed PoolSize is "not given" (a stride
// that defaults to the kernel size). A module built from one pair alone spells it out,
// MaxPool2d(nn::PoolSize(2, 3)), as MaxPool2d({2, 3}) could also mean the (deleted) copy.
struct PoolSize {
  int64_t h = 0, w = 0;
  bool is_pair = false, given = false;
  PoolSize() = default;
  PoolSize(int64_t size) : h(size), w(size), given(true) {}  // NOLINT: implicit, like PyTorch's int
  PoolSize(int64_t h, int64_t w) : h(h), w(w), is_pair(true), given(true) {}
  std::string str() const;  // "3" or "(2, 3)"
};

namespace functional {

// y[n,c,i,j] = max of x[n,c] over the window at (i*s - p, j*s - p) of size k (padding is -inf).
// The gradient goes to the first maximum of each window (the saved argmax), summed where
// windows overlap. PyTorch's rule: p <= k / 2.
Tensor max_pool2d(const Tensor& x, PoolSize kernel_size, PoolSize stride = {}, PoolSize padding = 0);

// y[n,c,i,j] = (sum of the window's inputs) / (k_h * k_w): padding counts as zeros
// (count_include_pad=True, ceil_mode=False, PyTorch's defaults). p <= k / 2.
Tensor avg_pool2d(const Tensor& x, PoolSize kernel_size, PoolSize stride = {}, PoolSize padding = 0);

// The mean (max) of each adaptive bin; output (N,C,OH,OW). output_size 1 is global pooling.
Tensor adaptive_avg_pool2d(const Tensor& x, PoolSize output_size);
Tensor adaptive_max_pool2d(const Tensor& x, PoolSize output_size);

// fastai: cat([adaptive_max_pool2d(x, size), adaptive_avg_pool2d(x, size)], dim=1) -> (N,2C,OH,OW)
// (for 3-d input, dim 0: (2C,OH,OW)).
Tensor adaptive_concat_pool2d(const Tensor& x, PoolSize size = 1);

}  // namespace functional

// ---- modules ------------------------------------------------------------------------------------
// Printed as PyTorch prints them, e.g. MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1,
// ceil_mode=False); a stride that was not given prints as the kernel size, as in PyTorch.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(PoolSize kernel_size, PoolSize stride = {}, PoolSize padding = 0);
  Tensor forward(const Tensor& x) override { return functional::max_pool2d(x, kernel_size, stride, padding); }
  std::string extra_repr() const override;
  PoolSize kernel_size, stride, padding;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(PoolSize kernel_size, PoolSize stride = {}, PoolSize padding = 0);
  Tensor forward(const Tensor& x) override { return functional::avg_pool2d(x, kernel_size, stride, padding); }
  std::string extra_repr() const override;  // kernel_size=3, stride=2, padding=1
  PoolSize kernel_size, stride, padding;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(PoolSize output_size) : Module("AdaptiveAvgPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return functional::adaptive_avg_pool2d(x, output_size); }
  std::string extra_repr() const override { return "output_size=" + output_size.str(); }
  PoolSize output_size;
};

class AdaptiveMaxPool2d : public Module {
 public:
  explicit AdaptiveMaxPool2d(PoolSize output_size) : Module("AdaptiveMaxPool2d"), output_size(output_size) {}
  Tensor forward(const Tensor& x) override { return functional::adaptive_max_pool2d(x, output_size); }
  std::string extra_repr() const override { return "output_size=" + output_size.str(); }
  PoolSize output_size;
};

// fastai's layer (max first, then avg). fastai prints it as a module with the children `ap` and
// `mp`; here it has no children and prints "AdaptiveConcatPool2d(size=1)".
class AdaptiveConcatPool2d : public Module {
 public:
  explicit AdaptiveConcatPool2d(PoolSize size = 1) : Module("AdaptiveConcatPool2d"), size(size) {}
  Tensor forward(const Tensor& x) override { return functional::adaptive_concat_pool2d(x, size); }
  std::string extra_repr() const override { return "size=" + size.str(); }
  PoolSize size;
};

}  // namespace ember::nn
