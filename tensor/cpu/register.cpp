// Fills the CPU row of the kernel table at program start-up.
#include "tensor/cpu/allocator.h"
#include "tensor/cpu/cpu_kernels.h"

namespace ember::cpu {

static int device_count() { return 1; }

static const DeviceKernels kCpuKernels = {
    .device_count = device_count,
    .allocate = allocate,
    .deallocate = deallocate,
    .copy = copy,
    .fill = fill,
    .unary = unary,
    .binary = binary,
    .where = where,
    .reduce = reduce,
    .reduce_with_index = reduce_with_index,
    .softmax = softmax,
    .softmax_backward = softmax_backward,
    .matmul = matmul,
    .index_select = index_select,
    .index_add = index_add,
    .gather = gather,
    .scatter_add = scatter_add,
    .arange = arange,
    .uniform = uniform,
    .normal = normal,
    .randint = randint,
    .pointwise_loss = pointwise_loss,
    .pointwise_loss_backward = pointwise_loss_backward,
    .cross_entropy = cross_entropy,
    .nll_loss = nll_loss,
    .cross_entropy_backward = cross_entropy_backward,
    .nll_loss_backward = nll_loss_backward,
    .sgd_step = sgd_step,
    .adam_step = adam_step,
    .conv2d = conv2d,
    .conv2d_backward = conv2d_backward,
    .batch_norm_stats = batch_norm_stats,
    .batch_norm_forward = batch_norm_forward,
    .batch_norm_backward = batch_norm_backward,
    .max_pool2d = max_pool2d,
    .avg_pool2d = avg_pool2d,
    .avg_pool2d_backward = avg_pool2d_backward,
    .adaptive_max_pool2d = adaptive_max_pool2d,
    .adaptive_avg_pool2d = adaptive_avg_pool2d,
    .adaptive_avg_pool2d_backward = adaptive_avg_pool2d_backward,
    .max_pool2d_backward = max_pool2d_backward,
};

// Called from kernels_for() before the first lookup (a static initialiser in a static library
// could be dropped by the linker, so registration is explicit).
void register_cpu_kernels() { register_device_kernels(DeviceType::CPU, &kCpuKernels); }

}  // namespace ember::cpu
