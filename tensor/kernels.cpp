#include "tensor/kernels.h"

namespace ember {

namespace cpu {
void register_cpu_kernels();  // tensor/cpu/register.cpp
}
#ifdef EMBER_HAVE_CUDA
namespace cuda {
void register_cuda_kernels();  // cuda/register.cpp (a declaration only: tensor/ includes no CUDA)
}
#endif

static const DeviceKernels* g_device_kernels[kNumDeviceTypes] = {};

void register_device_kernels(DeviceType type, const DeviceKernels* kernels) {
  g_device_kernels[static_cast<int>(type)] = kernels;
}

// The built-in backends fill their rows on the first lookup (static initialisers in a static
// library could be dropped by the linker, so registration is an explicit call).
static void register_backends_once() {
  static const bool registered = [] {
    cpu::register_cpu_kernels();
#ifdef EMBER_HAVE_CUDA
    cuda::register_cuda_kernels();
#endif
    return true;
  }();
  (void)registered;
}

bool has_kernels(DeviceType type) {
  register_backends_once();
  return g_device_kernels[static_cast<int>(type)] != nullptr;
}

int cuda_device_count() { return has_kernels(DeviceType::CUDA) ? kernels_for(Device::cuda()).device_count() : 0; }
bool cuda_is_available() { return cuda_device_count() > 0; }

const DeviceKernels& kernels_for(Device device) {
  register_backends_once();
  const DeviceKernels* k = g_device_kernels[static_cast<int>(device.type)];
  EMBER_CHECK(k != nullptr, "no kernels are registered for device " + device.str() +
                                (device.is_cuda() ? " (this build of Ember has no CUDA backend)" : ""));
  return *k;
}

std::shared_ptr<Storage> allocate_storage(size_t nbytes, Device device) {
  const DeviceKernels& k = kernels_for(device);
  auto storage = std::make_shared<Storage>();
  storage->nbytes = nbytes;
  storage->device = device;
  if (device.is_cpu() && nbytes <= Storage::kInlineBytes) {
    storage->data = storage->inline_bytes;  // freed with the Storage; free_fn stays null
  } else {
    storage->data = k.allocate(nbytes, device.index);
    storage->free_fn = k.deallocate;
  }
  return storage;
}

namespace kernels {

void throw_device_mismatch(const char* op, const Tensor& a, const Tensor& b) {
  throw Error(std::string(op) + ": expected all tensors on one device, but found one on " + a.device().str() +
              " and one on " + b.device().str());
}

void copy(const Tensor& dst, const Tensor& src) {
  EMBER_CHECK(dst.shape() == src.shape(),
              "copy: destination shape " + dst.shape().str() + " differs from source shape " + src.shape().str());
  if (dst.device() == src.device()) return kernels_for(dst.device()).copy(dst, src);
  // Across devices the non-CPU backend owns the transfer.
  Device other = dst.device().is_cpu() ? src.device() : dst.device();
  kernels_for(other).copy(dst, src);
}

void fill(const Tensor& dst, double value) { kernels_for(dst.device()).fill(dst, value); }

void unary(UnaryOp op, const Tensor& out, const Tensor& in, double param0, double param1) {
  check_same_device("unary op", out, in);
  kernels_for(out.device()).unary(op, out, in, param0, param1);
}

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  check_same_device("binary op", a, b);
  check_same_device("binary op", out, a);
  kernels_for(out.device()).binary(op, out, a, b);
}

void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_same_device("where", condition, a);
  check_same_device("where", a, b);
  kernels_for(out.device()).where(out, condition, a, b);
}

void reduce(ReduceOp op, const Tensor& out, const Tensor& in) {
  check_same_device("reduce", out, in);
  kernels_for(out.device()).reduce(op, out, in);
}

void reduce_with_index(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim) {
  check_same_device("max/min", values, in);
  kernels_for(in.device()).reduce_with_index(op, values, indices, in, dim);
}

void softmax(const Tensor& out, const Tensor& in, int dim, bool log) {
  check_same_device("softmax", out, in);
  kernels_for(in.device()).softmax(out, in, dim, log);
}

void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log) {
  check_same_device("softmax backward", grad_out, y);
  kernels_for(y.device()).softmax_backward(grad_in, grad_out, y, dim, log);
}

void matmul(const Tensor& out, const Tensor& a, const Tensor& b) {
  check_same_device("matmul", a, b);
  kernels_for(a.device()).matmul(out, a, b);
}

void index_select(const Tensor& out, const Tensor& in, int dim, const Tensor& index) {
  check_same_device("index_select", in, index);
  kernels_for(in.device()).index_select(out, in, dim, index);
}

void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  check_same_device("index_add", out, index);
  kernels_for(out.device()).index_add(out, dim, index, src);
}

void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index) {
  check_same_device("gather", in, index);
  kernels_for(in.device()).gather(out, in, dim, index);
}

void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  check_same_device("scatter_add", out, index);
  kernels_for(out.device()).scatter_add(out, dim, index, src);
}

}  // namespace kernels
}  // namespace ember
