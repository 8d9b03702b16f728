// Reductions: forward kernels with their backward formulas.
//   sum:   dx = g broadcast back over the reduced dims
//   mean:  dx = g / N
//   amax:  dx = g * (x == max) / (number of maxima)
//   max along a dim with indices: dx = zeros, with g scattered to the argmax positions
//   softmax / log_softmax: see tensor/cpu/reduce.cpp for the formula
#include "autograd/reductions.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember {

// The keepdim shape and the set of reduced dims (all dims when `dims` is empty and `all` is set).
static Shape keepdim_shape(const Tensor& t, const Dims& dims, const char* op, std::vector<bool>& reduced) {
  reduced.assign(t.dim(), false);
  for (int64_t d : dims) {
    int w = wrap_dim(d, t.dim(), op);
    if (t.dim() == 0) continue;
    EMBER_CHECK(!reduced[w], std::string(op) + ": dim " + std::to_string(d) + " appears twice in " + dims.str());
    reduced[w] = true;
  }
  Shape shape = t.shape();
  for (int d = 0; d < t.dim(); ++d)
    if (reduced[d]) shape[d] = 1;
  return shape;
}

static Shape drop_reduced(const Shape& keep, const std::vector<bool>& reduced) {
  Shape out;
  for (int d = 0; d < keep.size(); ++d)
    if (!reduced[d]) out.push_back(keep[d]);
  return out;
}

static Dims all_dims(const Tensor& t) {
  Dims dims;
  for (int d = 0; d < t.dim(); ++d) dims.push_back(d);
  return dims;
}

// ---- sum ----------------------------------------------------------------------------------------------
struct SumBackward : Node {
  Shape input_shape, keep_shape;
  bool over_all_dims = false;  // PyTorch names sum() SumBackward0 and sum(dims) SumBackward1
  std::string name() const override { return over_all_dims ? "SumBackward0" : "SumBackward1"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    return {expand(reshape(g[0], keep_shape), input_shape)};  // a stride-0 view, no copy
  }
};

Tensor sum(const Tensor& t, const Dims& dims, bool keepdim) {
  std::vector<bool> reduced;
  Shape keep = keepdim_shape(t, dims, "sum", reduced);
  DType dtype = is_floating(t.dtype()) ? t.dtype() : DType::Int64;  // bool and uint8 sums count in int64
  Tensor in = t.dtype() == dtype ? t : to_dtype(t.detach(), dtype);
  Tensor out = empty(keep, dtype, t.device());
  kernels::reduce(ReduceOp::Sum, out, in);
  if (!keepdim) out = out.as_strided(drop_reduced(keep, reduced), contiguous_strides(drop_reduced(keep, reduced)), 0);
  if (any_requires_grad({&t})) {
    auto node = record<SumBackward>({&t}, {&out});
    node->input_shape = t.shape(), node->keep_shape = keep;
  }
  return out;
}

Tensor sum(const Tensor& t) {
  Tensor out = sum(t, all_dims(t));
  if (out.grad_fn()) static_cast<SumBackward&>(*out.grad_fn()).over_all_dims = true;
  return out;
}

Tensor mean(const Tensor& t, const Dims& dims, bool keepdim) {
  std::vector<bool> reduced;
  Shape keep = keepdim_shape(t, dims, "mean", reduced);
  EMBER_CHECK(is_floating(t.dtype()), std::string("mean: expected a float tensor, got ") + dtype_name(t.dtype()));
  double count = static_cast<double>(t.numel()) / static_cast<double>(std::max<int64_t>(keep.numel(), 1));
  return div(sum(t, dims, keepdim), scalar_like(count, t));
}

Tensor mean(const Tensor& t) { return mean(t, all_dims(t)); }

// ---- amax / amin --------------------------------------------------------------------------------------
struct AmaxBackward : Node {
  SavedTensor x, y_keep;  // input, and the result with keepdim
  Dims dims;
  std::string name() const override { return "AmaxBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor xv = x.unpack(*this), yv = y_keep.unpack(*this);
    Tensor mask = to_dtype(eq(xv, yv), g[0].dtype());
    Tensor count = sum(mask, dims, true);
    return {mul(div(reshape(g[0], yv.shape()), count), mask)};
  }
  void release_saved_tensors() override { x.reset(), y_keep.reset(); }
};

static Tensor extreme(ReduceOp op, const char* name, const Tensor& t, const Dims& dims, bool keepdim) {
  std::vector<bool> reduced;
  Shape keep = keepdim_shape(t, dims, name, reduced);
  Tensor out_keep = empty(keep, t.dtype(), t.device());
  kernels::reduce(op, out_keep, t);
  Tensor out =
      keepdim ? out_keep
              : out_keep.as_strided(drop_reduced(keep, reduced), contiguous_strides(drop_reduced(keep, reduced)), 0);
  if (any_requires_grad({&t})) {
    auto node = record<AmaxBackward>({&t}, {&out});
    node->x = SavedTensor(t), node->y_keep = SavedTensor(out_keep), node->dims = dims;
  }
  return out;
}

Tensor amax(const Tensor& t, const Dims& dims, bool keepdim) {
  return extreme(ReduceOp::Max, "amax", t, dims, keepdim);
}
Tensor amin(const Tensor& t, const Dims& dims, bool keepdim) {
  return extreme(ReduceOp::Min, "amin", t, dims, keepdim);
}
Tensor max(const Tensor& t) { return amax(t, all_dims(t)); }
Tensor min(const Tensor& t) { return amin(t, all_dims(t)); }

// ---- max / min along one dim, with indices ------------------------------------------------------------
struct IndexedExtremeBackward : Node {
  Shape input_shape, keep_shape;
  SavedTensor indices_keep;
  int dim = 0;
  std::string name() const override { return "MaxBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor grad_in = zeros(input_shape, g[0].dtype(), g[0].device());
    kernels::scatter_add(grad_in, dim, indices_keep.unpack(*this), contiguous(reshape(g[0], keep_shape)));
    return {grad_in};
  }
  void release_saved_tensors() override { indices_keep.reset(); }
};

static std::pair<Tensor, Tensor> indexed_extreme(ReduceOp op, const char* name, const Tensor& t, int64_t dim_in,
                                                 bool keepdim) {
  int dim = wrap_dim(dim_in, t.dim(), name);
  Tensor in = t.dim() == 0 ? t.as_strided(Shape{1}, Strides{1}, t.offset()) : t;
  Shape keep = in.shape();
  keep[dim] = 1;
  Tensor values = empty(keep, t.dtype(), t.device()), indices = empty(keep, DType::Int64, t.device());
  kernels::reduce_with_index(op, values, indices, in, dim);
  Tensor indices_keep = indices;
  if (!keepdim || t.dim() == 0) {
    Shape squeezed = keep;
    squeezed.erase(dim);
    values = values.as_strided(squeezed, contiguous_strides(squeezed), 0);
    indices = indices.as_strided(squeezed, contiguous_strides(squeezed), 0);
  }
  if (any_requires_grad({&t})) {
    auto node = record<IndexedExtremeBackward>({&t}, {&values});
    node->input_shape = in.shape(), node->keep_shape = keep, node->dim = dim;
    node->indices_keep = SavedTensor(indices_keep);
  }
  return {values, indices};
}

std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim) {
  return indexed_extreme(ReduceOp::Max, "max", t, dim, keepdim);
}
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim) {
  return indexed_extreme(ReduceOp::Min, "min", t, dim, keepdim);
}
Tensor argmax(const Tensor& t, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return max(t, dim, keepdim).second;
}
Tensor argmin(const Tensor& t, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return min(t, dim, keepdim).second;
}
Tensor argmax(const Tensor& t) {
  NoGradGuard no_grad;
  return max(reshape(t, Shape{t.numel()}), 0).second;
}

// ---- var / std / logsumexp: composites, so autograd differentiates them through their parts ------
Tensor var(const Tensor& t, const Dims& dims, int64_t correction, bool keepdim) {
  std::vector<bool> reduced;
  Shape keep = keepdim_shape(t, dims, "var", reduced);
  int64_t n = t.numel() / std::max<int64_t>(keep.numel(), 1);
  Tensor centred = sub(t, mean(t, dims, true));
  return div(sum(mul(centred, centred), dims, keepdim),
             scalar_like(static_cast<double>(std::max<int64_t>(n - correction, 0)), t));
}
Tensor var(const Tensor& t) { return var(t, all_dims(t)); }
Tensor stddev(const Tensor& t, const Dims& dims, int64_t correction, bool keepdim) {
  return sqrt(var(t, dims, correction, keepdim));
}
Tensor stddev(const Tensor& t) { return sqrt(var(t)); }

Tensor logsumexp(const Tensor& t, const Dims& dims, bool keepdim) {
  Tensor m;
  {
    NoGradGuard no_grad;  // the shift cancels out of the gradient, so it needs none
    m = amax(t.detach(), dims, true);
    m = where(eq(abs(m), scalar_like(INFINITY, m)), zeros_like(m), m);  // an infinite max would give inf - inf
  }
  Tensor out = add(log(sum(exp(sub(t, m)), dims, true)), m);
  if (keepdim) return out;
  std::vector<bool> reduced;
  Shape keep = keepdim_shape(t, dims, "logsumexp", reduced);
  return reshape(out, drop_reduced(keep, reduced));
}

// ---- softmax / log_softmax ----------------------------------------------------------------------------
struct SoftmaxBackward : Node {
  SavedTensor y;
  int dim = 0;
  bool log = false;
  std::string name() const override { return log ? "LogSoftmaxBackward0" : "SoftmaxBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor yv = y.unpack(*this), grad_in = empty(yv.shape(), yv.dtype(), yv.device());
    kernels::softmax_backward(grad_in, g[0], yv, dim, log);
    return {grad_in};
  }
  void release_saved_tensors() override { y.reset(); }
};

static Tensor softmax_impl(const Tensor& t_in, int64_t dim_in, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  Tensor t = is_floating(t_in.dtype()) ? t_in : to_dtype(t_in, DType::Float32);
  Tensor t1 = t.dim() == 0 ? t.as_strided(Shape{1}, Strides{1}, t.offset()) : t;
  int dim = wrap_dim(dim_in, t.dim(), name);
  Tensor out = empty(t1.shape(), t.dtype(), t.device());
  kernels::softmax(out, t1, dim, log);
  if (t.dim() == 0) out = out.as_strided(Shape{}, Strides{}, 0);
  if (any_requires_grad({&t})) {
    auto node = record<SoftmaxBackward>({&t}, {&out});
    node->y = SavedTensor(out.dim() == 0 ? out.as_strided(Shape{1}, Strides{1}, 0) : out);
    node->dim = dim, node->log = log;
  }
  return out;
}

Tensor softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, false); }
Tensor log_softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, true); }

// ---- sum_to -------------------------------------------------------------------------------------------
Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int lead = grad.dim() - shape.size();
  EMBER_CHECK(lead >= 0, "sum_to: cannot sum shape " + grad.shape().str() + " down to " + shape.str());
  Dims dims;
  for (int d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  Tensor summed = sum(grad, dims, true);
  return reshape(summed, shape);
}

}  // namespace ember
