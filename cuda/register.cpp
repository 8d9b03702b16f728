// Fills the CUDA row of the kernel table when the program starts.
//
// tensor/kernels.cpp calls register_cuda_kernels() before the first lookup (in a build with CUDA).
// Registering asks nothing of the driver: a program without a GPU starts normally, and only putting
// a tensor on a GPU reports that none is there.
#include "cuda/allocator.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

static const DeviceKernels kCudaKernels = {
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

void register_cuda_kernels() { register_device_kernels(DeviceType::CUDA, &kCudaKernels); }

}  // namespace ember::cuda
