// The CUDA row of the kernel table (see tensor/kernels.h for what each kernel promises; the
// CPU row in tensor/cpu/ is the reference every one of these is tested against).
#pragma once
#include "tensor/kernels.h"

namespace ember::cuda {

// copy.cu: copies within a GPU, between GPUs and between host and GPU, with casts; fill
void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
// elementwise.cu
void unary(UnaryOp op, const Tensor& out, const Tensor& in, double param0, double param1);
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
// reduce.cu
void reduce(ReduceOp op, const Tensor& out, const Tensor& in);
void reduce_with_index(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim);
// softmax.cu
void softmax(const Tensor& out, const Tensor& in, int dim, bool log);
void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log);
// matmul.cu (hand SGEMM in gemm_hand.cu, cuBLAS in gemm_cublas.cu)
void matmul(const Tensor& out, const Tensor& a, const Tensor& b);
// indexing.cu
void index_select(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
// random.cu: the same Philox streams as tensor/cpu/random.cpp, element for element
void arange(const Tensor& out, double start, double step);
void uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
void normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double stddev);
void randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high);
// loss.cu: mse / bce-with-logits pointwise, cross_entropy and nll_loss with their backward
void pointwise_loss(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& pos_weight);
void pointwise_loss_backward(LossOp op, const Tensor& grad_input, const Tensor& grad_target, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& pos_weight);
int64_t cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index);
int64_t nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index);
void cross_entropy_backward(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                            const Tensor& target, int64_t ignore_index);
void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       int64_t ignore_index);
// optim.cu: fused optimiser steps, one launch per list of params (formulas in tensor/kernels.h)
void sgd_step(const DeviceKernels::SgdStepArgs& args);
void adam_step(const DeviceKernels::AdamStepArgs& args);

// A contiguous copy of `t` on its GPU, with dtype `dtype` (t itself when it already is one).
Tensor contiguous_as(const Tensor& t, DType dtype);

// batch norm and pooling
// The table entries (batch_norm_cudnn.cu, pooling_cudnn.cu) run cuDNN when dnn_backend() is Cudnn
// and the entry can be served with the CPU's semantics, and Ember's kernels otherwise.
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x);
void batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias);
void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_y,
                         const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                         bool batch_statistics);
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in, const DeviceKernels::Pool2dArgs& args);
void avg_pool2d(const Tensor& out, const Tensor& in, const DeviceKernels::Pool2dArgs& args);
void avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const DeviceKernels::Pool2dArgs& args);
void adaptive_max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in);
void adaptive_avg_pool2d(const Tensor& out, const Tensor& in);
void adaptive_avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out);
void max_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices);
// Ember's own kernels, the same contracts (batch_norm.cu, pooling.cu; the emulator runs these)
void batch_norm_stats_ember(const Tensor& mean, const Tensor& var, const Tensor& x);
void batch_norm_forward_ember(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                              const Tensor& weight, const Tensor& bias);
void batch_norm_backward_ember(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                               const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                               const Tensor& weight, bool batch_statistics);
void max_pool2d_ember(const Tensor& out, const Tensor& indices, const Tensor& in,
                      const DeviceKernels::Pool2dArgs& args);
void avg_pool2d_ember(const Tensor& out, const Tensor& in, const DeviceKernels::Pool2dArgs& args);
void avg_pool2d_backward_ember(const Tensor& grad_in, const Tensor& grad_out, const DeviceKernels::Pool2dArgs& args);
void adaptive_max_pool2d_ember(const Tensor& out, const Tensor& indices, const Tensor& in);
void adaptive_avg_pool2d_ember(const Tensor& out, const Tensor& in);
void adaptive_avg_pool2d_backward_ember(const Tensor& grad_in, const Tensor& grad_out);
void max_pool2d_backward_ember(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices);

// convolution
// The table entries (conv.cu) run cuDNN (conv_cudnn.cu) when dnn_backend() is Cudnn, and Ember's
// kernels otherwise: the implicit-GEMM or im2col + hand-GEMM forward (conv_algorithm()), im2col /
// col2im + hand GEMM backward.
void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
            const DeviceKernels::Conv2dGeometry& geometry);
void conv2d_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                     const DeviceKernels::Conv2dGeometry& geometry);

}  // namespace ember::cuda
