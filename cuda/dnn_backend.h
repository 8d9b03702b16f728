// cuDNN as the run-time alternative to Ember's own convolution, batch-norm and pooling kernels.
//
// The switch itself (DnnBackend, set_dnn_backend, dnn_backend, cudnn_available) is declared in
// cuda/cuda_api.h, so that programs can flip it without CUDA headers; this header adds what the
// CUDA kernels need to call cuDNN: the per-device handle and the status check.
//
// A kernel entry (conv2d, batch_norm_forward, max_pool2d, ...) dispatches like this:
//
//   if (dnn_backend() == DnnBackend::Cudnn) {
//   #ifdef EMBER_HAVE_CUDNN
//     return conv2d_cudnn(...);          // EMBER_CUDNN_CHECK(cudnnConvolutionForward(cudnn_handle(), ...))
//   #endif
//   }
//   ... Ember's own kernels ...
//
// dnn_backend() never answers Cudnn in a build without cuDNN: selecting it (EMBER_DNN=cudnn or
// set_dnn_backend) is an error there, so the #ifdef above only keeps such a build compiling.
#pragma once
#include "cuda/cuda_api.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

#ifdef EMBER_HAVE_CUDNN
#include <cudnn.h>
#endif

namespace ember::cuda {

#ifdef EMBER_HAVE_CUDNN
// This thread's cuDNN handle of the current device (the one prepare(t) made current), created on
// first use and bound to Ember's stream of that device (cudnnSetStream), so cuDNN's work is ordered
// with Ember's kernels and the caching allocator's reuse stays safe. One per thread: cuDNN forbids
// two host threads using one handle at the same time.
cudnnHandle_t cudnn_handle();

// float32 -> CUDNN_DATA_FLOAT, float64 -> CUDNN_DATA_DOUBLE; any other dtype is an error naming it.
cudnnDataType_t cudnn_data_type(DType dtype);

[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line);

// A scoped cudnnTensorDescriptor_t (destroyed with the object). Made from a tensor, it describes
// that contiguous (N, C, H, W) tensor; made empty, the caller sets it.
class CudnnTensorDescriptor {
 public:
  CudnnTensorDescriptor();
  explicit CudnnTensorDescriptor(const Tensor& nchw);
  ~CudnnTensorDescriptor() { cudnnDestroyTensorDescriptor(descriptor_); }
  CudnnTensorDescriptor(const CudnnTensorDescriptor&) = delete;
  CudnnTensorDescriptor& operator=(const CudnnTensorDescriptor&) = delete;
  operator cudnnTensorDescriptor_t() const { return descriptor_; }

 private:
  cudnnTensorDescriptor_t descriptor_ = nullptr;
};
#endif

}  // namespace ember::cuda

#ifdef EMBER_HAVE_CUDNN
// EMBER_CUDNN_CHECK(cudnnConvolutionForward(...)): throws a std::runtime_error (an ember::Error)
// naming the file, the line, the call and cudnnGetErrorString's message, e.g.
//   cuda/conv_cudnn.cu:120: cudnnConvolutionForward(...) failed: CUDNN_STATUS_BAD_PARAM
#define EMBER_CUDNN_CHECK(call)                                                         \
  do {                                                                                  \
    cudnnStatus_t ember_cudnn_status_ = (call);                                         \
    if (ember_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                    \
      ::ember::cuda::throw_cudnn_error(ember_cudnn_status_, #call, __FILE__, __LINE__); \
  } while (0)
#endif
