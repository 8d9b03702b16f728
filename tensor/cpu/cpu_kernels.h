// The CPU row of the kernel table (see tensor/kernels.h for what each kernel promises).
#pragma once
#include "tensor/kernels.h"

namespace ember::cpu {

void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
void unary(UnaryOp op, const Tensor& out, const Tensor& in, double param0, double param1);
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);
void where(const Tensor& out, const Tensor& condition, const Tensor& a, const Tensor& b);
void reduce(ReduceOp op, const Tensor& out, const Tensor& in);
void reduce_with_index(ReduceOp op, const Tensor& values, const Tensor& indices, const Tensor& in, int dim);
void softmax(const Tensor& out, const Tensor& in, int dim, bool log);
void softmax_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& y, int dim, bool log);
void matmul(const Tensor& out, const Tensor& a, const Tensor& b);
void index_select(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index);
void scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src);
void arange(const Tensor& out, double start, double step);
void uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
void normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double stddev);
void randint(const Tensor& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high);
// loss.cpp: mse / bce-with-logits pointwise, cross_entropy and nll_loss with their backward
void pointwise_loss(LossOp op, const Tensor& out, const Tensor& input, const Tensor& target, const Tensor& pos_weight);
void pointwise_loss_backward(LossOp op, const Tensor& grad_input, const Tensor& grad_target, const Tensor& grad_out,
                             const Tensor& input, const Tensor& target, const Tensor& pos_weight);
int64_t cross_entropy(const Tensor& loss, const Tensor& logits, const Tensor& target, int64_t ignore_index);
int64_t nll_loss(const Tensor& loss, const Tensor& log_probs, const Tensor& target, int64_t ignore_index);
void cross_entropy_backward(const Tensor& grad_logits, const Tensor& grad_loss, const Tensor& logits,
                            const Tensor& target, int64_t ignore_index);
void nll_loss_backward(const Tensor& grad_log_probs, const Tensor& grad_loss, const Tensor& target,
                       int64_t ignore_index);
// optim.cpp: fused optimiser steps over a list of params (formulas in tensor/kernels.h)
void sgd_step(const DeviceKernels::SgdStepArgs& args);
void adam_step(const DeviceKernels::AdamStepArgs& args);

// A contiguous copy of `t` (or `t` itself when it already is contiguous).
Tensor contiguous_cpu(const Tensor& t);
// The view of `t` with dim `dim` moved to the end.
Tensor move_dim_last(const Tensor& t, int dim);

}  // namespace ember::cpu
