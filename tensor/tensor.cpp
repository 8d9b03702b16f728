#include "tensor/tensor.h"

#include <ostream>

#include "tensor/kernels.h"
#include "tensor/print.h"

namespace ember {

int64_t Tensor::size(int64_t d) const { return impl_->shape[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return impl_->strides[wrap_dim(d, dim(), "stride")]; }

void Tensor::check_dtype(DType expected, const char* what) const {
  EMBER_CHECK(defined(), std::string(what) + ": the tensor is undefined");
  EMBER_CHECK(dtype() == expected, std::string(what) + ": the tensor holds " + dtype_name(dtype()) + ", but " +
                                       dtype_name(expected) + " was asked for");
}

double Tensor::item() const {
  EMBER_CHECK(defined(), "item(): the tensor is undefined");
  EMBER_CHECK(numel() == 1, "item(): a tensor with " + std::to_string(numel()) + " elements (shape " + shape().str() +
                                ") cannot be converted to a number; expected exactly 1");
  if (!device().is_cpu()) {  // as in PyTorch, item() waits for the device and copies the one value back
    Tensor host = empty(Shape{}, dtype(), Device::cpu());
    kernels::copy(host, as_strided(Shape{}, Strides{}, offset()));
    return host.item();
  }
  return visit_dtype(dtype(), [&]<typename T>() { return static_cast<double>(*static_cast<T*>(raw_data())); });
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = impl_->dtype;
  impl->is_view = true;
  return Tensor(std::move(impl));
}

Tensor Tensor::detach() const {
  Tensor out = as_strided(shape(), strides(), offset());
  out.impl_->is_view = impl_->is_view;
  return out;
}

Tensor& Tensor::requires_grad_(bool requires_grad) {
  EMBER_CHECK(!requires_grad || is_floating(dtype()),
              std::string("requires_grad_(): only float32/float64 tensors can require gradients, this one is ") +
                  dtype_name(dtype()));
  EMBER_CHECK(is_leaf() || requires_grad,
              "requires_grad_(false): this tensor is the result of an op (grad_fn is set); use detach() instead");
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const { return impl_->grad; }
void Tensor::set_grad(const Tensor& grad) const { impl_->grad = grad; }
uint32_t Tensor::output_nr() const { return impl_->output_nr; }
bool Tensor::is_view() const { return impl_->is_view; }
void Tensor::bump_version() const { ++impl_->storage->version; }

void Tensor::set_history(std::shared_ptr<Node> grad_fn, uint32_t output_nr) const {
  impl_->grad_fn = std::move(grad_fn);
  impl_->output_nr = output_nr;
  impl_->requires_grad = true;
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) EMBER_CHECK(s >= 0, "empty(): negative size in shape " + shape.str());
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = allocate_storage(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor expand_view(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const int n = shape.size(), offset = n - t.dim();
  EMBER_CHECK(offset >= 0, "expand: cannot expand shape " + t.shape().str() + " to fewer dims " + shape.str());
  Strides strides = Dims::filled(n, 0);
  for (int i = 0; i < t.dim(); ++i) {
    int64_t from = t.shape()[i], to = shape[offset + i];
    EMBER_CHECK(from == to || from == 1, "expand: shape " + t.shape().str() + " cannot be expanded to " + shape.str() +
                                             " (dim " + std::to_string(i) + " has size " + std::to_string(from) +
                                             ", expected " + std::to_string(to) + " or 1)");
    strides[offset + i] = from == 1 && to != 1 ? 0 : t.strides()[i];
  }
  return t.as_strided(shape, strides, t.offset());
}

std::string Tensor::str() const { return format_tensor(*this); }

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace ember
