// Batch normalisation through cuDNN, and the three table entries (batch_norm_stats, _forward,
// _backward), which run cuDNN when dnn_backend() is Cudnn and Ember's kernels (cuda/batch_norm.cu)
// otherwise. The formulas are in tensor/kernels.h and cuda/batch_norm.cu.
//
// cuDNN's batch norm (spatial mode: x (N, C, *) viewed as the NCHW tensor (N, C, S, 1), one mean and
// variance per channel) computes statistics and normalisation in one call, while the table splits
// them. Each entry is therefore mapped onto the cuDNN calls that give exactly its result:
//   stats     cudnnBatchNormalizationForwardTraining with exponentialAverageFactor 1: its "running"
//             mean is then this batch's mean and its "running" variance this batch's unbiased variance
//             (cuDNN applies Bessel's correction there), which cudnnScaleTensor turns into the biased
//             one: var = var_unbiased (M - 1) / M. The running buffers start at 0 (with factor 1 cuDNN
//             still reads them: 0 * old, and 0 * NaN would be NaN). The normalised y it also writes
//             goes to a scratch buffer.
//   forward   cudnnBatchNormalizationForwardInference with estimatedMean = mean and a variance rebuilt
//             from invstd, var' = 1 / invstd^2 - eps_min, eps_min = CUDNN_BN_MIN_EPSILON (0 since
//             cuDNN 8), so that cuDNN's 1 / sqrt(var' + eps_min) is invstd up to rounding.
//   backward  cudnnBatchNormalizationBackward with savedMean = mean and savedInvVariance = invstd: the
//             training formula (batch statistics). Eval mode (running statistics, grad_x = gamma invstd g)
//             has no cuDNN backward (cuDNN always differentiates through the batch statistics), so it
//             runs Ember's kernels under both backends.
// Ember's kernels also take what cuDNN's int descriptors cannot describe (a size over 2^31 - 1) and a
// channel of a single value (no unbiased variance to undo).
#include <algorithm>
#include <climits>
#include <initializer_list>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_kernels.h"
#include "cuda/dnn_backend.h"

namespace ember::cuda {

#ifdef EMBER_HAVE_CUDNN
namespace {

// x (N, C, *) as cuDNN's (N, C, S, 1), and the (1, C, 1, 1) descriptor of the per-channel tensors.
struct BatchNormDescriptors {
  CudnnTensorDescriptor x, channel;
  int64_t M = 0;  // values per channel, N * S
  explicit BatchNormDescriptors(const Tensor& x_tensor) {
    int64_t S = 1;
    for (int d = 2; d < x_tensor.dim(); ++d) S *= x_tensor.size(d);
    M = x_tensor.size(0) * S;
    EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, cudnn_data_type(x_tensor.dtype()),
                                                 static_cast<int>(x_tensor.size(0)), static_cast<int>(x_tensor.size(1)),
                                                 static_cast<int>(S), 1));
    EMBER_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(channel, x, CUDNN_BATCHNORM_SPATIAL));
  }
};

// Can cuDNN describe x (N, C, *) and the (C) vectors given? Otherwise Ember's kernels run (and raise
// the errors about bad operands).
bool cudnn_takes(const Tensor& x, std::initializer_list<const Tensor*> vectors) {
  if (x.dim() < 2 || (x.dtype() != DType::Float32 && x.dtype() != DType::Float64) || x.numel() == 0 ||
      x.numel() > INT_MAX || x.size(0) > INT_MAX || x.size(1) > INT_MAX)
    return false;
  for (const Tensor* t : vectors)
    if (t->defined() && (t->numel() != x.size(1) || t->dtype() != x.dtype() || !t->is_contiguous())) return false;
  return true;
}

// A (C) tensor of `value`, for an undefined weight (1) or bias (0).
Tensor filled_channels(const Tensor& x, double value) {
  Tensor t = empty(Shape{x.size(1)}, x.dtype(), x.device());
  fill(t, value);
  return t;
}

// var'[c] = 1 / invstd[c]^2 - eps_min (at least 0): the variance cuDNN turns back into invstd.
template <typename T>
__global__ void variance_from_invstd_kernel(const T* __restrict__ invstd, int64_t channels, T eps_min,
                                            T* __restrict__ var) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < channels; c += step) {
    const T v = T(1) / (invstd[c] * invstd[c]) - eps_min;
    var[c] = v > T(0) ? v : T(0);
  }
}

void batch_norm_stats_cudnn(const Tensor& mean, const Tensor& var, const Tensor& x_in) {
  const Tensor x = contiguous_as(x_in, x_in.dtype());
  cudaStream_t s = prepare(x);
  const BatchNormDescriptors d(x);
  const Tensor scratch_y = empty(x.shape(), x.dtype(), x.device());
  const Tensor ones = filled_channels(x, 1), zeros = filled_channels(x, 0);
  const size_t vector_bytes = static_cast<size_t>(x.size(1)) * dtype_size(x.dtype());
  EMBER_CUDA_CHECK(cudaMemsetAsync(mean.raw_data(), 0, vector_bytes, s));
  EMBER_CUDA_CHECK(cudaMemsetAsync(var.raw_data(), 0, vector_bytes, s));
  visit_floating("batch_norm_stats", x.dtype(), [&]<typename T>() {
    const T one = 1, zero = 0, unbias = static_cast<T>(static_cast<double>(d.M - 1) / static_cast<double>(d.M));
    EMBER_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
        cudnn_handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x, x.raw_data(), d.x, scratch_y.raw_data(), d.channel,
        ones.raw_data(), zeros.raw_data(), /*exponentialAverageFactor=*/1.0, mean.raw_data(), var.raw_data(),
        /*epsilon (affects only the scratch y)=*/1e-5, nullptr, nullptr));
    EMBER_CUDNN_CHECK(cudnnScaleTensor(cudnn_handle(), d.channel, var.raw_data(), &unbias));
  });
}

void batch_norm_forward_cudnn(const Tensor& y, const Tensor& x_in, const Tensor& mean, const Tensor& invstd,
                              const Tensor& weight, const Tensor& bias) {
  const Tensor x = contiguous_as(x_in, x_in.dtype());
  cudaStream_t s = prepare(x);
  const BatchNormDescriptors d(x);
  const Tensor scale = weight.defined() ? weight : filled_channels(x, 1);
  const Tensor shift = bias.defined() ? bias : filled_channels(x, 0);
  const Tensor variance = empty(Shape{x.size(1)}, x.dtype(), x.device());
  visit_floating("batch_norm_forward", x.dtype(), [&]<typename T>() {
    variance_from_invstd_kernel<T><<<blocks_for(x.size(1), x.device().index), kThreadsPerBlock, 0, s>>>(
        static_cast<const T*>(invstd.raw_data()), x.size(1), static_cast<T>(CUDNN_BN_MIN_EPSILON),
        static_cast<T*>(variance.raw_data()));
    EMBER_CUDA_KERNEL_CHECK("variance_from_invstd_kernel");
    const T one = 1, zero = 0;
    EMBER_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
        cudnn_handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x, x.raw_data(), d.x, y.raw_data(), d.channel,
        scale.raw_data(), shift.raw_data(), mean.raw_data(), variance.raw_data(), CUDNN_BN_MIN_EPSILON));
  });
}

// Batch statistics only. An undefined output gets a scratch buffer (cuDNN writes all three).
void batch_norm_backward_cudnn(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias,
                               const Tensor& grad_y_in, const Tensor& x_in, const Tensor& mean, const Tensor& invstd,
                               const Tensor& weight) {
  const Tensor x = contiguous_as(x_in, x_in.dtype()), grad_y = contiguous_as(grad_y_in, x_in.dtype());
  prepare(x);
  const BatchNormDescriptors d(x);
  const Tensor gamma = weight.defined() ? weight : filled_channels(x, 1);
  const Tensor dx = grad_x.defined() ? grad_x : empty(x.shape(), x.dtype(), x.device());
  const Tensor dgamma = grad_weight.defined() ? grad_weight : empty(Shape{x.size(1)}, x.dtype(), x.device());
  const Tensor dbeta = grad_bias.defined() ? grad_bias : empty(Shape{x.size(1)}, x.dtype(), x.device());
  visit_floating("batch_norm_backward", x.dtype(), [&]<typename T>() {
    const T one = 1, zero = 0;
    EMBER_CUDNN_CHECK(cudnnBatchNormalizationBackward(cudnn_handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero,
                                                      d.x, x.raw_data(), d.x, grad_y.raw_data(), d.x, dx.raw_data(),
                                                      d.channel, gamma.raw_data(), dgamma.raw_data(), dbeta.raw_data(),
                                                      CUDNN_BN_MIN_EPSILON, mean.raw_data(), invstd.raw_data()));
  });
}

}  // namespace
#endif  // EMBER_HAVE_CUDNN

// ---- the table entries ---------------------------------------------------------------------------------
void batch_norm_stats(const Tensor& mean, const Tensor& var, const Tensor& x) {
  if (dnn_backend() == DnnBackend::Cudnn) {
#ifdef EMBER_HAVE_CUDNN
    if (cudnn_takes(x, {&mean, &var}) && x.numel() / x.size(1) > 1) return batch_norm_stats_cudnn(mean, var, x);
#endif
  }
  batch_norm_stats_ember(mean, var, x);
}

void batch_norm_forward(const Tensor& y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                        const Tensor& weight, const Tensor& bias) {
  if (dnn_backend() == DnnBackend::Cudnn) {
#ifdef EMBER_HAVE_CUDNN
    if (cudnn_takes(x, {&mean, &invstd, &weight, &bias}) && y.is_contiguous() && y.shape() == x.shape() &&
        y.dtype() == x.dtype())
      return batch_norm_forward_cudnn(y, x, mean, invstd, weight, bias);
#endif
  }
  batch_norm_forward_ember(y, x, mean, invstd, weight, bias);
}

void batch_norm_backward(const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias, const Tensor& grad_y,
                         const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                         bool batch_statistics) {
  if (dnn_backend() == DnnBackend::Cudnn && batch_statistics) {
#ifdef EMBER_HAVE_CUDNN
    const bool grad_x_fits =
        !grad_x.defined() || (grad_x.is_contiguous() && grad_x.shape() == x.shape() && grad_x.dtype() == x.dtype());
    if (cudnn_takes(x, {&mean, &invstd, &weight, &grad_weight, &grad_bias}) && grad_x_fits &&
        grad_y.shape() == x.shape() && grad_y.dtype() == x.dtype())
      return batch_norm_backward_cudnn(grad_x, grad_weight, grad_bias, grad_y, x, mean, invstd, weight);
#endif
  }
  batch_norm_backward_ember(grad_x, grad_weight, grad_bias, grad_y, x, mean, invstd, weight, batch_statistics);
}

}  // namespace ember::cuda
