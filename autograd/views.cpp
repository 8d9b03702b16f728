// Shape ops and their backward formulas. A view's backward undoes the view on the gradient:
//   reshape: reshape g back     permute: permute g by the inverse     expand: sum_to(g, shape)
//   slice / select: zeros of the input's shape with g written into the same view
//   cat: g sliced back into pieces    index_select: index_add     gather: scatter_add
#include "autograd/views.h"

#include <numeric>

#include "autograd/node.h"
#include "autograd/reductions.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember {

// ---- raw views (no autograd), each a new shape/strides/offset over the same storage --------------
static Tensor raw_permute(const Tensor& t, const Dims& dims) {
  Shape shape;
  Strides strides;
  for (int64_t d : dims) shape.push_back(t.shape()[d]), strides.push_back(t.strides()[d]);
  return t.as_strided(shape, strides, t.offset());
}

static Tensor raw_slice(const Tensor& t, int dim, int64_t start, int64_t length, int64_t step) {
  Shape shape = t.shape();
  Strides strides = t.strides();
  shape[dim] = length;
  strides[dim] *= step;
  return t.as_strided(shape, strides, t.offset() + start * t.strides()[dim]);
}

static Tensor raw_select(const Tensor& t, int dim, int64_t index) {
  Shape shape = t.shape();
  Strides strides = t.strides();
  shape.erase(dim);
  strides.erase(dim);
  return t.as_strided(shape, strides, t.offset() + index * t.strides()[dim]);
}

bool view_strides(const Shape& old_shape_in, const Strides& old_strides_in, const Shape& shape, Strides& out) {
  Shape old_shape = old_shape_in.empty() ? Shape{1} : old_shape_in;
  Strides old_strides = old_shape_in.empty() ? Strides{1} : old_strides_in;
  out = Dims::filled(shape.size(), 1);
  if (old_shape.numel() == 0 || shape.empty()) {
    out = contiguous_strides(shape);
    return true;
  }
  // Walk "chunks" of old dims that are contiguous with each other; each chunk must be covered by
  // a run of new dims with exactly the same number of elements.
  int view_d = shape.size() - 1;
  int64_t chunk_base_stride = old_strides.back(), tensor_numel = 1, view_numel = 1;
  for (int d = old_shape.size() - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) chunk_base_stride = old_strides[d - 1], tensor_numel = 1, view_numel = 1;
    }
  }
  return view_d == -1;
}

// Resolves a -1 entry and checks the element count.
static Shape infer_shape(const Tensor& t, const Shape& requested, const char* op) {
  Shape shape = requested;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(infer < 0, std::string(op) + ": only one dim can be -1 in " + requested.str());
      infer = i;
    } else {
      EMBER_CHECK(shape[i] >= 0,
                  std::string(op) + ": invalid size " + std::to_string(shape[i]) + " in " + requested.str());
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    EMBER_CHECK(known != 0 && t.numel() % known == 0, std::string(op) + ": shape " + requested.str() +
                                                          " is invalid for input of size " + std::to_string(t.numel()));
    shape[infer] = t.numel() / known;
  }
  EMBER_CHECK(shape.numel() == t.numel(), std::string(op) + ": shape " + requested.str() +
                                              " is invalid for input of shape " + t.shape().str() + " (" +
                                              std::to_string(t.numel()) + " elements)");
  return shape;
}

// ---- reshape / view / flatten / squeeze / unsqueeze: backward reshapes g to the input shape ------
struct ReshapeBackward : Node {
  Shape input_shape;
  std::string name() const override { return "ViewBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {reshape(g[0], input_shape)}; }
};

static Tensor reshape_impl(const Tensor& t, const Shape& requested, const char* op, bool allow_copy) {
  Shape shape = infer_shape(t, requested, op);
  Strides strides;
  Tensor out;
  if (view_strides(t.shape(), t.strides(), shape, strides)) {
    out = t.as_strided(shape, strides, t.offset());
  } else {
    EMBER_CHECK(allow_copy, std::string(op) + ": the tensor of shape " + t.shape().str() + " and strides " +
                                t.strides().str() + " cannot be viewed as " + shape.str() + "; use reshape()");
    Tensor copy = empty(t.shape(), t.dtype(), t.device());
    kernels::copy(copy, t);
    out = copy.as_strided(shape, contiguous_strides(shape), 0);
  }
  if (any_requires_grad({&t})) record<ReshapeBackward>({&t}, {&out})->input_shape = t.shape();
  return out;
}

Tensor reshape(const Tensor& t, const Shape& shape) { return reshape_impl(t, shape, "reshape", true); }
Tensor view(const Tensor& t, const Shape& shape) { return reshape_impl(t, shape, "view", false); }

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.dim() == 0) return reshape(t, Shape{1});
  int s = wrap_dim(start_dim, t.dim(), "flatten"), e = wrap_dim(end_dim, t.dim(), "flatten");
  EMBER_CHECK(s <= e,
              "flatten: start_dim " + std::to_string(start_dim) + " comes after end_dim " + std::to_string(end_dim));
  Shape shape;
  for (int d = 0; d < s; ++d) shape.push_back(t.shape()[d]);
  int64_t merged = 1;
  for (int d = s; d <= e; ++d) merged *= t.shape()[d];
  shape.push_back(merged);
  for (int d = e + 1; d < t.dim(); ++d) shape.push_back(t.shape()[d]);
  return reshape(t, shape);
}

Tensor squeeze(const Tensor& t) {
  Shape shape;
  for (int64_t s : t.shape())
    if (s != 1) shape.push_back(s);
  return reshape(t, shape);
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  if (t.dim() == 0) return t;
  int d = wrap_dim(dim, t.dim(), "squeeze");
  if (t.shape()[d] != 1) return t;
  Shape shape = t.shape();
  shape.erase(d);
  return reshape(t, shape);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  int d = wrap_dim(dim, t.dim() + 1, "unsqueeze");
  Shape shape = t.shape();
  shape.insert(d, 1);
  return reshape(t, shape);
}

// ---- permute / transpose --------------------------------------------------------------------------
struct PermuteBackward : Node {
  Dims inverse;
  std::string name() const override { return "PermuteBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {permute(g[0], inverse)}; }
};

Tensor permute(const Tensor& t, const Dims& dims_in) {
  EMBER_CHECK(dims_in.size() == t.dim(), "permute: " + dims_in.str() + " names " + std::to_string(dims_in.size()) +
                                             " dims, but the tensor of shape " + t.shape().str() + " has " +
                                             std::to_string(t.dim()));
  Dims dims, inverse = Dims::filled(t.dim(), -1);
  for (int i = 0; i < t.dim(); ++i) {
    int d = wrap_dim(dims_in[i], t.dim(), "permute");
    EMBER_CHECK(inverse[d] < 0, "permute: dim " + std::to_string(d) + " repeats in " + dims_in.str());
    inverse[d] = i;
    dims.push_back(d);
  }
  Tensor out = raw_permute(t, dims);
  if (any_requires_grad({&t})) record<PermuteBackward>({&t}, {&out})->inverse = inverse;
  return out;
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  if (t.dim() == 0) return t;
  Dims dims;
  for (int d = 0; d < t.dim(); ++d) dims.push_back(d);
  std::swap(dims[wrap_dim(dim0, t.dim(), "transpose")], dims[wrap_dim(dim1, t.dim(), "transpose")]);
  return permute(t, dims);
}

Tensor mT(const Tensor& t) {
  EMBER_CHECK(t.dim() >= 2, "mT: expected a tensor with at least 2 dims, got shape " + t.shape().str());
  return transpose(t, -2, -1);
}

// ---- slice / select: backward writes g into the same view of a zero tensor ------------------------
struct SliceBackward : Node {
  Shape input_shape;
  int dim = 0;
  int64_t start = 0, length = 0, step = 1;
  bool is_select = false;
  std::string name() const override { return is_select ? "SelectBackward0" : "SliceBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor grad_in = zeros(input_shape, g[0].dtype(), g[0].device());
    kernels::copy(is_select ? raw_select(grad_in, dim, start) : raw_slice(grad_in, dim, start, length, step), g[0]);
    return {grad_in};
  }
};

Tensor slice(const Tensor& t, int64_t dim_in, int64_t start, int64_t end, int64_t step) {
  int dim = wrap_dim(dim_in, t.dim(), "slice");
  EMBER_CHECK(step > 0, "slice: step must be positive, got " + std::to_string(step));
  const int64_t size = t.shape()[dim];
  auto clip = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
  start = clip(start), end = std::max(clip(end), start);
  int64_t length = (end - start + step - 1) / step;
  Tensor out = raw_slice(t, dim, start, length, step);
  if (any_requires_grad({&t})) {
    auto node = record<SliceBackward>({&t}, {&out});
    node->input_shape = t.shape(), node->dim = dim, node->start = start, node->length = length, node->step = step;
  }
  return out;
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  int d = wrap_dim(dim, t.dim(), "narrow");
  EMBER_CHECK(start >= 0 && length >= 0 && start + length <= t.shape()[d],
              "narrow: [" + std::to_string(start) + ", " + std::to_string(start + length) + ") is outside dim " +
                  std::to_string(d) + " of size " + std::to_string(t.shape()[d]));
  return slice(t, d, start, start + length);
}

Tensor select(const Tensor& t, int64_t dim_in, int64_t index) {
  int dim = wrap_dim(dim_in, t.dim(), "select");
  const int64_t size = t.shape()[dim];
  EMBER_CHECK(index >= -size && index < size, "select: index " + std::to_string(index) + " is out of range for dim " +
                                                  std::to_string(dim) + " of size " + std::to_string(size));
  if (index < 0) index += size;
  Tensor out = raw_select(t, dim, index);
  if (any_requires_grad({&t})) {
    auto node = record<SliceBackward>({&t}, {&out});
    node->input_shape = t.shape(), node->dim = dim, node->start = index, node->is_select = true;
  }
  return out;
}

// ---- expand -----------------------------------------------------------------------------------------
struct ExpandBackward : Node {
  Shape input_shape;
  std::string name() const override { return "ExpandBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {sum_to(g[0], input_shape)}; }
};

Tensor expand(const Tensor& t, const Shape& requested) {
  Shape shape = requested;
  const int lead = shape.size() - t.dim();
  for (int i = 0; i < shape.size(); ++i)
    if (shape[i] == -1) {
      EMBER_CHECK(i >= lead, "expand: -1 is not allowed for a new leading dim in " + requested.str());
      shape[i] = t.shape()[i - lead];
    }
  Tensor out = expand_view(t, shape);
  if (!out.is_same(t) && any_requires_grad({&t})) record<ExpandBackward>({&t}, {&out})->input_shape = t.shape();
  return out;
}

Tensor broadcast_to(const Tensor& t, const Shape& shape) { return expand(t, shape); }

// ---- clone / contiguous -----------------------------------------------------------------------------
struct CloneBackward : Node {
  std::string name() const override { return "CloneBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0]}; }
};

Tensor clone(const Tensor& t) {
  Tensor out = empty(t.shape(), t.dtype(), t.device());
  kernels::copy(out, t);
  if (any_requires_grad({&t})) record<CloneBackward>({&t}, {&out});
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

// ---- cat / stack ------------------------------------------------------------------------------------
struct CatBackward : Node {
  int dim = 0;
  std::vector<int64_t> sizes;
  std::string name() const override { return "CatBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (int64_t size : sizes) {
      grads.push_back(raw_slice(g[0], dim, start, size, 1));
      start += size;
    }
    return grads;
  }
};

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim_in) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  int dim = wrap_dim(dim_in, first.dim(), "cat");
  Shape shape = first.shape();
  DType dtype = first.dtype();
  shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    kernels::check_same_device("cat", first, t);
    EMBER_CHECK(t.dim() == first.dim(), "cat: tensor " + std::to_string(i) + " has shape " + t.shape().str() +
                                            ", expected " + std::to_string(first.dim()) + " dims like tensor 0 " +
                                            first.shape().str());
    for (int d = 0; d < t.dim(); ++d)
      EMBER_CHECK(d == dim || t.shape()[d] == first.shape()[d],
                  "cat: sizes must match except in dim " + std::to_string(dim) + ": tensor " + std::to_string(i) +
                      " has shape " + t.shape().str() + ", tensor 0 has " + first.shape().str());
    shape[dim] += t.shape()[dim];
    dtype = promote_types(dtype, t.dtype());
  }
  Tensor out = empty(shape, dtype, first.device());
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    kernels::copy(raw_slice(out, dim, start, t.shape()[dim], 1), t);
    start += t.shape()[dim];
  }
  bool needs_grad = false;
  for (const Tensor& t : tensors) needs_grad = needs_grad || any_requires_grad({&t});
  if (needs_grad) {
    auto node = std::make_shared<CatBackward>();
    node->dim = dim;
    for (const Tensor& t : tensors) node->next_edges.push_back(gradient_edge(t)), node->sizes.push_back(t.shape()[dim]);
    out.set_history(node, 0);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  std::vector<Tensor> expanded;
  int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].shape() == tensors[0].shape(),
                "stack: expects each tensor to be equal size, but tensor " + std::to_string(i) + " has shape " +
                    tensors[i].shape().str() + " and tensor 0 has " + tensors[0].shape().str());
    expanded.push_back(unsqueeze(tensors[i], d));
  }
  return cat(expanded, d);
}

// ---- index_select / gather -------------------------------------------------------------------------
static void check_index_tensor(const char* op, const Tensor& index) {
  EMBER_CHECK(index.dtype() == DType::Int64,
              std::string(op) + ": the index must be an int64 tensor, got " + dtype_name(index.dtype()));
}

struct IndexSelectBackward : Node {
  Shape input_shape;
  int dim = 0;
  SavedTensor index;
  std::string name() const override { return "IndexSelectBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor grad_in = zeros(input_shape, g[0].dtype(), g[0].device());
    kernels::index_add(grad_in, dim, index.unpack(*this), g[0]);
    return {grad_in};
  }
  void release_saved_tensors() override { index.reset(); }
};

Tensor index_select(const Tensor& t, int64_t dim_in, const Tensor& index) {
  check_index_tensor("index_select", index);
  EMBER_CHECK(index.dim() <= 1, "index_select: the index must be 1-d, got shape " + index.shape().str());
  Tensor in = t.dim() == 0 ? t.as_strided(Shape{1}, Strides{1}, t.offset()) : t;
  int dim = wrap_dim(dim_in, in.dim(), "index_select");
  Shape shape = in.shape();
  shape[dim] = index.numel();
  Tensor out = empty(shape, t.dtype(), t.device());
  kernels::index_select(out, in, dim, index);
  if (any_requires_grad({&t})) {
    auto node = record<IndexSelectBackward>({&t}, {&out});
    node->input_shape = in.shape(), node->dim = dim, node->index = SavedTensor(index);
  }
  return out;
}

struct GatherBackward : Node {
  Shape input_shape;
  int dim = 0;
  SavedTensor index;
  std::string name() const override { return "GatherBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor grad_in = zeros(input_shape, g[0].dtype(), g[0].device());
    kernels::scatter_add(grad_in, dim, index.unpack(*this), g[0]);
    return {grad_in};
  }
  void release_saved_tensors() override { index.reset(); }
};

Tensor gather(const Tensor& t, int64_t dim_in, const Tensor& index) {
  check_index_tensor("gather", index);
  int dim = wrap_dim(dim_in, t.dim(), "gather");
  EMBER_CHECK(index.dim() == t.dim(), "gather: the index has shape " + index.shape().str() + " but the input has " +
                                          t.shape().str() + "; both need the same number of dims");
  for (int d = 0; d < t.dim(); ++d)
    EMBER_CHECK(d == dim || index.shape()[d] <= t.shape()[d], "gather: index shape " + index.shape().str() +
                                                                  " is larger than input shape " + t.shape().str() +
                                                                  " outside dim " + std::to_string(dim));
  Tensor out = empty(index.shape(), t.dtype(), t.device());
  kernels::gather(out, t, dim, index);
  if (any_requires_grad({&t})) {
    auto node = record<GatherBackward>({&t}, {&out});
    node->input_shape = t.shape(), node->dim = dim, node->index = SavedTensor(index);
  }
  return out;
}

}  // namespace ember
