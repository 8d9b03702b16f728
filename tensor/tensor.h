// Tensor: a view (shape, strides, offset, dtype) onto shared Storage, plus autograd's fields.
//
// A Tensor is a cheap handle (one shared_ptr) to a TensorImpl; copying a Tensor copies the handle,
// as in PyTorch. The math lives elsewhere: raw kernels in tensor/kernels.h, differentiable ops in
// autograd/ops.h. This file only knows how to describe and view memory.
#pragma once
#include <memory>
#include <string>

#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace ember {

class Node;  // autograd/node.h: a step of the backward graph
class TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }

  // ---- metadata --------------------------------------------------------------------------------
  const Shape& shape() const;
  const Strides& strides() const;
  int64_t offset() const;  // in elements, into storage
  int dim() const;
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  std::string str() const;  // PyTorch's printed form: tensor([...], ...)

  // ---- memory ----------------------------------------------------------------------------------
  const std::shared_ptr<Storage>& storage() const;
  void* raw_data() const;  // address of element [0,...,0]
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>(), "data<T>()");
    return static_cast<T*>(raw_data());
  }
  double item() const;  // the single element of a 1-element CPU tensor, as double
  template <typename T>
  T item() const {
    return static_cast<T>(item());
  }

  // A view with the given geometry over the same storage (no autograd; see autograd/views.h).
  Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;
  // Same storage, no autograd history, requires_grad false.
  Tensor detach() const;
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- autograd fields (the engine is in autograd/) --------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool requires_grad = true);
  Tensor grad() const;  // accumulated gradient of a leaf, undefined until backward
  void set_grad(const Tensor& grad) const;
  const std::shared_ptr<Node>& grad_fn() const;  // null for leaves
  bool is_leaf() const;
  uint32_t output_nr() const;  // which output of grad_fn this tensor is
  void set_history(std::shared_ptr<Node> grad_fn, uint32_t output_nr) const;
  bool is_view() const;  // shares storage with a tensor it was made from
  uint64_t version() const;
  void bump_version() const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_dtype(DType expected, const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

class TensorImpl {
 public:
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;
  bool is_view = false;

  // autograd
  bool requires_grad = false;
  uint32_t output_nr = 0;
  std::shared_ptr<Node> grad_fn;
  std::shared_ptr<Node> grad_accumulator;  // the AccumulateGrad node of a leaf, shared by all uses
  Tensor grad;
};

// The hot accessors are defined here, inline: a tiny op calls them dozens of times.
inline const Shape& Tensor::shape() const { return impl_->shape; }
inline const Strides& Tensor::strides() const { return impl_->strides; }
inline int64_t Tensor::offset() const { return impl_->offset; }
inline int Tensor::dim() const { return impl_->shape.size(); }
inline int64_t Tensor::numel() const { return impl_->shape.numel(); }
inline DType Tensor::dtype() const { return impl_->dtype; }
inline Device Tensor::device() const { return impl_->storage->device; }
inline const std::shared_ptr<Storage>& Tensor::storage() const { return impl_->storage; }
inline bool Tensor::requires_grad() const { return impl_->requires_grad; }
inline const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }
inline bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }
inline uint64_t Tensor::version() const { return impl_->storage->version; }
inline void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data) + impl_->offset * static_cast<int64_t>(dtype_size(impl_->dtype));
}
inline bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = impl_->shape.size() - 1; i >= 0; --i) {
    if (impl_->shape[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (impl_->strides[i] != expected)
      return impl_->shape.numel() == 0;  // an empty tensor is contiguous, as in PyTorch
    expected *= impl_->shape[i];
  }
  return true;
}

// A new, uninitialised, contiguous tensor. Every creation function starts here.
Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());

// A stride-0 view of `t` broadcast to `shape` (no copy, no autograd); the error names both shapes.
Tensor expand_view(const Tensor& t, const Shape& shape);

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace ember
