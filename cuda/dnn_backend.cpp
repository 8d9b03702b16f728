// The convolution / batch-norm / pooling backend switch (declared in cuda/cuda_api.h) and the cuDNN
// handles (cuda/dnn_backend.h).
#include "cuda/dnn_backend.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/context.h"
#include "tensor/error.h"

namespace ember::cuda {

// ---- the switch ------------------------------------------------------------------------------------
bool cudnn_available() {
#ifdef EMBER_HAVE_CUDNN
  return true;
#else
  return false;
#endif
}

static bool try_parse_dnn_backend(const std::string& text, DnnBackend& backend) {
  if (text == "ember") return backend = DnnBackend::Ember, true;
  if (text == "cudnn") return backend = DnnBackend::Cudnn, true;
  return false;
}

DnnBackend parse_dnn_backend(const std::string& text) {
  DnnBackend backend;
  EMBER_CHECK(try_parse_dnn_backend(text, backend),
              "unknown DNN backend '" + text + "': the choices are 'ember' and 'cudnn'");
  return backend;
}

const char* dnn_backend_name(DnnBackend backend) {
  switch (backend) {
  case DnnBackend::Ember: return "ember";
  case DnnBackend::Cudnn: return "cudnn";
  }
  return "?";
}

static void check_selectable(DnnBackend backend) {
  EMBER_CHECK(backend != DnnBackend::Cudnn || cudnn_available(),
              "the cuDNN backend was selected (EMBER_DNN=cudnn or set_dnn_backend), but this build of Ember has no "
              "cuDNN (CMake printed 'Ember: cuDNN not found'); use EMBER_DNN=ember");
}

static DnnBackend backend_from_environment() {
  const char* text = std::getenv("EMBER_DNN");
  if (!text || !*text) return DnnBackend::Ember;
  DnnBackend backend;
  EMBER_CHECK(try_parse_dnn_backend(text, backend),
              std::string("EMBER_DNN must be 'ember' or 'cudnn', got '") + text + "'");
  check_selectable(backend);
  return backend;
}

// Read from the environment on first use (a bad value throws then, and again on the next use).
static std::atomic<DnnBackend>& current_backend() {
  static std::atomic<DnnBackend> backend{backend_from_environment()};
  return backend;
}

void set_dnn_backend(DnnBackend backend) {
  check_selectable(backend);
  current_backend() = backend;
}

DnnBackend dnn_backend() { return current_backend(); }

// ---- cuDNN handles -----------------------------------------------------------------------------------
#ifdef EMBER_HAVE_CUDNN
void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  throw Error(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " + cudnnGetErrorString(status));
}

cudnnDataType_t cudnn_data_type(DType dtype) {
  if (dtype == DType::Float32) return CUDNN_DATA_FLOAT;
  if (dtype == DType::Float64) return CUDNN_DATA_DOUBLE;
  throw Error(std::string("cuDNN backend: expected float32 or float64 tensors, got ") + dtype_name(dtype));
}

CudnnTensorDescriptor::CudnnTensorDescriptor() { EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&descriptor_)); }

CudnnTensorDescriptor::CudnnTensorDescriptor(const Tensor& t) : CudnnTensorDescriptor() {
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(descriptor_, CUDNN_TENSOR_NCHW, cudnn_data_type(t.dtype()),
                                               static_cast<int>(t.size(0)), static_cast<int>(t.size(1)),
                                               static_cast<int>(t.size(2)), static_cast<int>(t.size(3))));
}

// One handle per (thread, device). cuDNN is thread-safe only as long as no two host threads use
// one handle at the same time, so each thread gets its own, bound to the same stream of that device
// (the order of the work stays the program's order, as the allocator requires). A thread that ends
// returns its handles to a pool that later threads take from; handles are never destroyed (tensors
// and handles may outlive static destructors, as the device table in context.cpp does).
namespace {

struct HandlePool {
  std::mutex mutex;
  std::vector<std::vector<cudnnHandle_t>> free_by_device;
};
HandlePool& handle_pool() {
  static auto* pool = new HandlePool;  // never destroyed: threads may end after static destructors
  return *pool;
}

struct ThreadHandles {
  std::vector<cudnnHandle_t> by_device;
  ~ThreadHandles() {
    HandlePool& pool = handle_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (size_t device = 0; device < by_device.size(); ++device) {
      if (!by_device[device]) continue;
      if (pool.free_by_device.size() <= device) pool.free_by_device.resize(device + 1);
      pool.free_by_device[device].push_back(by_device[device]);
    }
  }
};

cudnnHandle_t new_or_pooled_handle(int device) {
  HandlePool& pool = handle_pool();
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    if (pool.free_by_device.size() > static_cast<size_t>(device) && !pool.free_by_device[device].empty()) {
      cudnnHandle_t handle = pool.free_by_device[device].back();
      pool.free_by_device[device].pop_back();
      return handle;
    }
  }
  cudnnHandle_t handle = nullptr;
  EMBER_CUDNN_CHECK(cudnnCreate(&handle));  // on the current device
  EMBER_CUDNN_CHECK(cudnnSetStream(handle, stream(device)));
  return handle;
}

}  // namespace

cudnnHandle_t cudnn_handle() {
  thread_local ThreadHandles handles;
  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  if (handles.by_device.size() <= static_cast<size_t>(device)) handles.by_device.resize(device + 1, nullptr);
  if (!handles.by_device[device]) handles.by_device[device] = new_or_pooled_handle(device);
  return handles.by_device[device];
}
#endif

}  // namespace ember::cuda
