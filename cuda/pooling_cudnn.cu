// Pooling through cuDNN, and the seven pooling table entries, which run cuDNN when dnn_backend() is
// Cudnn and the entry can be served with the CPU's exact semantics, and Ember's kernels
// (cuda/pooling.cu) otherwise. The windows and divisors are in tensor/kernels.h and cuda/pooling.cu.
//
//   avg_pool2d, avg_pool2d_backward    cuDNN: CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING divides
//                                      every window by kh * kw, which is the CPU's divisor here (no
//                                      ceil_mode, so every window lies inside the padded image).
//   adaptive_avg_pool2d (+ backward)   cuDNN when the bins are even (H % OH == 0 and W % OW == 0,
//                                      e.g. global pooling): then bin oh is exactly the window
//                                      kernel = stride = H / OH, padding 0. Uneven bins (of two sizes,
//                                      overlapping) are no fixed window: Ember's kernels.
//   max_pool2d, adaptive_max_pool2d,   Ember's kernels under both backends. The table's max pooling
//   max_pool2d_backward                returns the argmax `indices`, which cuDNN does not produce, and
//                                      its backward takes those indices, while cuDNN's backward
//                                      re-finds the maximum from x and y (which this entry does not
//                                      get) with its own rule for ties. Ember's pair keeps the CPU's
//                                      first-maximum and NaN rules on both backends.
// Sizes over 2^31 - 1 (cuDNN's descriptors are int) also run Ember's kernels.
#include <climits>
#include <initializer_list>
#include <string>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_kernels.h"
#include "cuda/dnn_backend.h"

namespace ember::cuda {

using Pool2dArgs = DeviceKernels::Pool2dArgs;

namespace {

#ifdef EMBER_HAVE_CUDNN
// Can cuDNN's int descriptors describe these (N,C,H,W) float tensors and this window?
bool cudnn_takes(std::initializer_list<const Tensor*> tensors, const Pool2dArgs& a) {
  for (const Tensor* t : tensors) {
    if (t->dim() != 4 || (t->dtype() != DType::Float32 && t->dtype() != DType::Float64) || t->numel() == 0 ||
        t->numel() > INT_MAX)
      return false;
  }
  for (int64_t v : {a.kernel_h, a.kernel_w, a.stride_h, a.stride_w, a.pad_h, a.pad_w})
    if (v > INT_MAX) return false;
  return true;
}

// Adaptive bins of an input (H, W) for an output (OH, OW) that are all one fixed window, as Pool2dArgs.
bool even_bins(const Tensor& in, const Tensor& out, Pool2dArgs& a) {
  const int64_t H = in.size(2), W = in.size(3), OH = out.size(2), OW = out.size(3);
  if (OH == 0 || OW == 0 || H % OH != 0 || W % OW != 0) return false;
  a = {H / OH, W / OW, H / OH, W / OW, 0, 0};
  return true;
}

// Average pooling with the divisor kh * kw (padding counts as zeros).
class AveragePoolDescriptor {
 public:
  explicit AveragePoolDescriptor(const Pool2dArgs& a) {
    EMBER_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&descriptor_));
    EMBER_CUDNN_CHECK(cudnnSetPooling2dDescriptor(
        descriptor_, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, CUDNN_PROPAGATE_NAN, static_cast<int>(a.kernel_h),
        static_cast<int>(a.kernel_w), static_cast<int>(a.pad_h), static_cast<int>(a.pad_w),
        static_cast<int>(a.stride_h), static_cast<int>(a.stride_w)));
  }
  ~AveragePoolDescriptor() { cudnnDestroyPoolingDescriptor(descriptor_); }
  AveragePoolDescriptor(const AveragePoolDescriptor&) = delete;
  AveragePoolDescriptor& operator=(const AveragePoolDescriptor&) = delete;
  operator cudnnPoolingDescriptor_t() const { return descriptor_; }

 private:
  cudnnPoolingDescriptor_t descriptor_ = nullptr;
};

// out (N,C,OH,OW) = average pooling of in (N,C,H,W).
void avg_pool2d_cudnn(const Tensor& out, const Tensor& in_any, const Pool2dArgs& a) {
  const Tensor in = contiguous_as(in_any, in_any.dtype());
  prepare(in);
  const CudnnTensorDescriptor x(in), y(out);
  const AveragePoolDescriptor pool(a);
  int n = 0, c = 0, h = 0, w = 0;
  EMBER_CUDNN_CHECK(cudnnGetPooling2dForwardOutputDim(pool, x, &n, &c, &h, &w));
  EMBER_CHECK(h == out.size(2) && w == out.size(3), "avg_pool2d (cuDNN): cuDNN's output " + std::to_string(h) + "x" +
                                                        std::to_string(w) + " differs from the expected " +
                                                        out.shape().str());
  visit_floating("avg_pool2d", in.dtype(), [&]<typename T>() {
    const T one = 1, zero = 0;
    EMBER_CUDNN_CHECK(cudnnPoolingForward(cudnn_handle(), pool, &one, x, in.raw_data(), &zero, y, out.raw_data()));
  });
}

// grad_in (N,C,H,W) from grad_out (N,C,OH,OW). Average pooling's gradient needs neither the forward
// input nor its output, but cuDNN's call asks for both: grad_out stands in for y (same shape) and
// grad_in for x (same shape; cuDNN only writes it as dx).
void avg_pool2d_backward_cudnn(const Tensor& grad_in, const Tensor& grad_out_any, const Pool2dArgs& a) {
  const Tensor grad_out = contiguous_as(grad_out_any, grad_out_any.dtype());
  prepare(grad_out);
  const CudnnTensorDescriptor x(grad_in), y(grad_out);
  const AveragePoolDescriptor pool(a);
  visit_floating("avg_pool2d backward", grad_out.dtype(), [&]<typename T>() {
    const T one = 1, zero = 0;
    EMBER_CUDNN_CHECK(cudnnPoolingBackward(cudnn_handle(), pool, &one, y, grad_out.raw_data(), y, grad_out.raw_data(),
                                           x, grad_in.raw_data(), &zero, x, grad_in.raw_data()));
  });
}
// The operands as Ember's kernels demand them (cuDNN gets only what they would accept).
bool well_formed(const Tensor& out, const Tensor& in) {
  return out.dim() == 4 && in.dim() == 4 && out.size(0) == in.size(0) && out.size(1) == in.size(1) &&
         out.is_contiguous() && out.dtype() == in.dtype();
}

// cuDNN is asked for and can describe the operands.
bool use_cudnn(std::initializer_list<const Tensor*> tensors, const Pool2dArgs& a) {
  return dnn_backend() == DnnBackend::Cudnn && cudnn_takes(tensors, a);
}
#endif  // EMBER_HAVE_CUDNN

}  // namespace

// ---- the table entries ---------------------------------------------------------------------------------
void avg_pool2d(const Tensor& out, const Tensor& in, const Pool2dArgs& args) {
#ifdef EMBER_HAVE_CUDNN
  if (well_formed(out, in) && use_cudnn({&out, &in}, args)) return avg_pool2d_cudnn(out, in, args);
#endif
  avg_pool2d_ember(out, in, args);
}

void avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Pool2dArgs& args) {
#ifdef EMBER_HAVE_CUDNN
  if (well_formed(grad_in, grad_out) && use_cudnn({&grad_in, &grad_out}, args))
    return avg_pool2d_backward_cudnn(grad_in, grad_out, args);
#endif
  avg_pool2d_backward_ember(grad_in, grad_out, args);
}

void adaptive_avg_pool2d(const Tensor& out, const Tensor& in) {
#ifdef EMBER_HAVE_CUDNN
  Pool2dArgs window;
  if (well_formed(out, in) && even_bins(in, out, window) && use_cudnn({&out, &in}, window))
    return avg_pool2d_cudnn(out, in, window);
#endif
  adaptive_avg_pool2d_ember(out, in);
}

void adaptive_avg_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out) {
#ifdef EMBER_HAVE_CUDNN
  Pool2dArgs window;
  if (well_formed(grad_in, grad_out) && even_bins(grad_in, grad_out, window) &&
      use_cudnn({&grad_in, &grad_out}, window))
    return avg_pool2d_backward_cudnn(grad_in, grad_out, window);
#endif
  adaptive_avg_pool2d_backward_ember(grad_in, grad_out);
}

// Max pooling: Ember's kernels under both backends (see the top of this file).
void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in, const Pool2dArgs& args) {
  max_pool2d_ember(out, indices, in, args);
}
void adaptive_max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& in) {
  adaptive_max_pool2d_ember(out, indices, in);
}
void max_pool2d_backward(const Tensor& grad_in, const Tensor& grad_out, const Tensor& indices) {
  max_pool2d_backward_ember(grad_in, grad_out, indices);
}

}  // namespace ember::cuda
