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
  // For CUDA the words match those of a CUDA build on a machine without a GPU ("cuda:0 is not
  // available: ..."), so a user (and a test) sees one message for "no GPU here" either way.
  if (k == nullptr && device.is_cuda())
    throw Error(device.str() +
                " is not available: this build of Ember has no CUDA backend (nvcc was not found "
                "when it was configured)");
  EMBER_CHECK(k != nullptr, "no kernels are registered for device " + device.str());
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

void throw_missing_kernel(const char* name, Device device) {
  throw Error(std::string(name) + ": this build of Ember has no " + name + " kernel for " + device.str());
}

// ---- losses --------------------------------------------------------------------------------------
void pointwise_loss(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& pos_weight) {
  check_same_device("pointwise loss", out, input);
  check_same_device("pointwise loss", input, target);
  if (pos_weight.defined()) check_same_device("pointwise loss", input, pos_weight);
  const DeviceKernels& k = kernels_for(out.device());
  if (!k.pointwise_loss) throw_missing_kernel("pointwise_loss", out.device());
  k.pointwise_loss(op, out, input, target, pos_weight);
}

void pointwise_loss_backward(LossOp op, const Tensor& grad_input, const Tensor& grad_target, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& pos_weight) {
  check_same_device("pointwise loss backward", grad_out, input);
  check_same_device("pointwise loss backward", input, target);
  if (grad_input.defined()) check_same_device("pointwise loss backward", grad_input, input);
  if (grad_target.defined()) check_same_device("pointwise loss backward", grad_target, input);
  if (pos_weight.defined()) check_same_device("pointwise loss backward", input, pos_weight);
  const DeviceKernels& k = kernels_for(input.device());
  if (!k.pointwise_loss_backward) throw_missing_kernel("pointwise_loss_backward", input.device());
  k.pointwise_loss_backward(op, grad_input, grad_target, grad_out, input, target, pos_weight);
}

int64_t cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  check_same_device("cross_entropy", loss, logits);
  check_same_device("cross_entropy", logits, target);
  const DeviceKernels& k = kernels_for(logits.device());
  if (!k.cross_entropy) throw_missing_kernel("cross_entropy", logits.device());
  return k.cross_entropy(loss, logits, target, ignore_index);
}

int64_t nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index) {
  check_same_device("nll_loss", loss, log_probs);
  check_same_device("nll_loss", log_probs, target);
  const DeviceKernels& k = kernels_for(log_probs.device());
  if (!k.nll_loss) throw_missing_kernel("nll_loss", log_probs.device());
  return k.nll_loss(loss, log_probs, target, ignore_index);
}

void cross_entropy_backward(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                            const Tensor& target, int64_t ignore_index) {
  check_same_device("cross_entropy backward", grad_logits, logits);
  check_same_device("cross_entropy backward", grad_loss, logits);
  check_same_device("cross_entropy backward", target, logits);
  const DeviceKernels& k = kernels_for(logits.device());
  if (!k.cross_entropy_backward) throw_missing_kernel("cross_entropy_backward", logits.device());
  k.cross_entropy_backward(grad_logits, grad_loss, logits, target, ignore_index);
}

void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       int64_t ignore_index) {
  check_same_device("nll_loss backward", grad_log_probs, grad_loss);
  check_same_device("nll_loss backward", grad_log_probs, target);
  const DeviceKernels& k = kernels_for(target.device());
  if (!k.nll_loss_backward) throw_missing_kernel("nll_loss_backward", target.device());
  k.nll_loss_backward(grad_log_probs, grad_loss, target, ignore_index);
}

// ---- optimiser steps -----------------------------------------------------------------------------
// Entry i of a step list, in the role `role` ("grad", "exp_avg", ...): it must match params[i] in
// device, shape and dtype and be contiguous. The checks run on every step, so the messages are
// built only when one fails.
static void check_step_tensor(const char* op, const char* role, int64_t i, const Tensor& t, const Tensor& param) {
  if (t.defined() && t.device() == param.device() && t.dtype() == param.dtype() && t.shape() == param.shape() &&
      t.is_contiguous())
    return;
  const std::string which = std::string(op) + ": " + role + " " + std::to_string(i);
  EMBER_CHECK(t.defined(), which + " is undefined");
  if (t.device() != param.device())
    throw Error(which + " is on " + t.device().str() + " but its param is on " + param.device().str() +
                ": expected all tensors on one device");
  EMBER_CHECK(t.dtype() == param.dtype(),
              which + " has dtype " + dtype_name(t.dtype()) + " but its param has " + dtype_name(param.dtype()));
  EMBER_CHECK(t.shape() == param.shape(),
              which + " has shape " + t.shape().str() + " but its param has shape " + param.shape().str());
  throw Error(which + " is not contiguous (strides " + t.strides().str() + ")");
}

// The params of one list: defined, float, contiguous, all on the device of params[0] (their
// shapes and dtypes may differ: one launch handles float32 and float64 params together).
static void check_step_params(const char* op, int64_t count, const Tensor* const* params) {
  for (int64_t i = 0; i < count; ++i) {
    const Tensor& p = *params[i];
    if (p.defined() && p.device() == params[0]->device() && is_floating(p.dtype()) && p.is_contiguous()) continue;
    const std::string which = std::string(op) + ": param " + std::to_string(i);
    EMBER_CHECK(p.defined(), which + " is undefined");
    if (p.device() != params[0]->device())
      throw Error(which + " is on " + p.device().str() + " but param 0 is on " + params[0]->device().str() +
                  ": expected all tensors of one step on one device");
    EMBER_CHECK(is_floating(p.dtype()),
                which + " has dtype " + dtype_name(p.dtype()) + "; expected float32 or float64");
    throw Error(which + " is not contiguous (strides " + p.strides().str() + ")");
  }
}

void sgd_step(const SgdStepArgs& args) {
  if (args.count == 0) return;
  check_step_params("sgd_step", args.count, args.params);
  for (int64_t i = 0; i < args.count; ++i) {
    check_step_tensor("sgd_step", "grad", i, *args.grads[i], *args.params[i]);
    if (args.momentum != 0)
      check_step_tensor("sgd_step", "momentum_buffer", i, *args.momentum_buffers[i], *args.params[i]);
  }
  const Device device = args.params[0]->device();
  const DeviceKernels& k = kernels_for(device);
  if (!k.sgd_step) throw_missing_kernel("sgd_step", device);
  k.sgd_step(args);
}

void adam_step(const AdamStepArgs& args) {
  if (args.count == 0) return;
  check_step_params("adam_step", args.count, args.params);
  for (int64_t i = 0; i < args.count; ++i) {
    check_step_tensor("adam_step", "grad", i, *args.grads[i], *args.params[i]);
    check_step_tensor("adam_step", "exp_avg", i, *args.exp_avgs[i], *args.params[i]);
    check_step_tensor("adam_step", "exp_avg_sq", i, *args.exp_avg_sqs[i], *args.params[i]);
  }
  const Device device = args.params[0]->device();
  const DeviceKernels& k = kernels_for(device);
  if (!k.adam_step) throw_missing_kernel("adam_step", device);
  k.adam_step(args);
}

// ---- convolution ---------------------------------------------------------------------------------
void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
            const Conv2dGeometry& geometry) {
  check_same_device("conv2d", input, weight);
  check_same_device("conv2d", input, out);
  if (bias.defined()) check_same_device("conv2d", input, bias);
  const DeviceKernels& k = kernels_for(input.device());
  if (!k.conv2d) throw_missing_kernel("conv2d", input.device());
  k.conv2d(out, input, weight, bias, geometry);
}

void conv2d_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                     const Conv2dGeometry& geometry) {
  check_same_device("conv2d_backward", grad_out, input);
  check_same_device("conv2d_backward", grad_out, weight);
  const DeviceKernels& k = kernels_for(input.device());
  if (!k.conv2d_backward) throw_missing_kernel("conv2d_backward", input.device());
  k.conv2d_backward(grad_input, grad_weight, grad_bias, grad_out, input, weight, geometry);
}

// ---- batch normalisation -------------------------------------------------------------------------
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x) {
  check_same_device("batch_norm", x, mean);
  const DeviceKernels& k = kernels_for(x.device());
  if (!k.batch_norm_stats) throw_missing_kernel("batch_norm_stats", x.device());
  k.batch_norm_stats(mean, var, x);
}

void batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias) {
  check_same_device("batch_norm", x, mean);
  if (weight.defined()) check_same_device("batch_norm", x, weight);
  const DeviceKernels& k = kernels_for(x.device());
  if (!k.batch_norm_forward) throw_missing_kernel("batch_norm_forward", x.device());
  k.batch_norm_forward(y, x, mean, invstd, weight, bias);
}

void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_y,
                         const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                         bool batch_statistics) {
  check_same_device("batch_norm_backward", grad_y, x);
  const DeviceKernels& k = kernels_for(x.device());
  if (!k.batch_norm_backward) throw_missing_kernel("batch_norm_backward", x.device());
  k.batch_norm_backward(grad_x, grad_weight, grad_bias, grad_y, x, mean, invstd, weight, batch_statistics);
}

// ---- pooling -------------------------------------------------------------------------------------
// Each wrapper checks that its tensors share one device and that the device's backend has the entry.
#define EMBER_POOL_KERNEL(entry, device)        \
  const DeviceKernels& k = kernels_for(device); \
  if (!k.entry) throw_missing_kernel(#entry, device)

void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in, const Pool2dArgs& args) {
  check_same_device("max_pool2d", out, in);
  check_same_device("max_pool2d", indices, in);
  EMBER_POOL_KERNEL(max_pool2d, in.device());
  k.max_pool2d(out, indices, in, args);
}

void avg_pool2d(const Tensor& out, const Tensor& in, const Pool2dArgs& args) {
  check_same_device("avg_pool2d", out, in);
  EMBER_POOL_KERNEL(avg_pool2d, in.device());
  k.avg_pool2d(out, in, args);
}

void avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Pool2dArgs& args) {
  check_same_device("avg_pool2d backward", grad_in, grad_out);
  EMBER_POOL_KERNEL(avg_pool2d_backward, grad_out.device());
  k.avg_pool2d_backward(grad_in, grad_out, args);
}

void adaptive_max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in) {
  check_same_device("adaptive_max_pool2d", out, in);
  check_same_device("adaptive_max_pool2d", indices, in);
  EMBER_POOL_KERNEL(adaptive_max_pool2d, in.device());
  k.adaptive_max_pool2d(out, indices, in);
}

void adaptive_avg_pool2d(const Tensor& out, const Tensor& in) {
  check_same_device("adaptive_avg_pool2d", out, in);
  EMBER_POOL_KERNEL(adaptive_avg_pool2d, in.device());
  k.adaptive_avg_pool2d(out, in);
}

void adaptive_avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out) {
  check_same_device("adaptive_avg_pool2d backward", grad_in, grad_out);
  EMBER_POOL_KERNEL(adaptive_avg_pool2d_backward, grad_out.device());
  k.adaptive_avg_pool2d_backward(grad_in, grad_out);
}

void max_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices) {
  check_same_device("max_pool2d backward", grad_in, grad_out);
  check_same_device("max_pool2d backward", indices, grad_out);
  EMBER_POOL_KERNEL(max_pool2d_backward, grad_out.device());
  k.max_pool2d_backward(grad_in, grad_out, indices);
}
#undef EMBER_POOL_KERNEL

}  // namespace kernels
}  // namespace ember
