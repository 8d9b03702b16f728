// The CUDA backend's public face: what a program may ask of the GPU beyond tensor ops.
//
// Plain C++ (no CUDA headers), so tests, benches and apps can include it; it exists only in a build
// with EMBER_HAVE_CUDA (check `#ifdef EMBER_HAVE_CUDA`). Tensor ops themselves need none of this:
// ember::to(t, Device::cuda()) moves a tensor and every op then runs on the GPU.
#pragma once
#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace ember::cuda {

// ---- devices -------------------------------------------------------------------------------------
int device_count();                      // 0 when there is no driver or no GPU (never throws)
std::string unavailable_reason();        // why device_count() is 0, e.g. "CUDA driver version is insufficient..."
std::string device_name(int index);      // "NVIDIA H100 80GB HBM3"
void synchronize(int device_index = 0);  // wait for all work queued on that device's stream

// ---- the caching allocator (cuda/allocator.cpp) ---------------------------------------------------
struct AllocatorStats {
  int64_t bytes_in_use = 0;       // handed out to live tensors (rounded to the size class)
  int64_t peak_bytes_in_use = 0;  // high-water mark since the last reset_peak_stats()
  int64_t bytes_cached = 0;       // freed by tensors, kept for reuse
  int64_t cuda_malloc_calls = 0;  // how often the allocator had to ask the driver
  int64_t cuda_free_calls = 0;
  int64_t cache_hits = 0;  // allocations served from the cache
};
AllocatorStats allocator_stats(int device_index = 0);
void reset_peak_stats(int device_index = 0);
void empty_cache();  // give every cached block back to the driver

// Tests turn this on: every block handed out is first filled with 0xFF bytes (NaN for floats, -1
// for integers, an invalid bool), so an element a kernel forgot to write cannot pass as correct.
void set_poison_allocations(bool on);

// ---- GEMM backend (cuda/matmul.cu) ----------------------------------------------------------------
// Hand: Ember's own tiled SGEMM; Cublas: NVIDIA's library, kept to measure the hand kernel against.
// The initial choice comes from EMBER_CUDA_GEMM=hand|cublas (default hand).
enum class GemmBackend { Hand, Cublas };
void set_gemm_backend(GemmBackend backend);
GemmBackend gemm_backend();
GemmBackend parse_gemm_backend(const std::string& text);  // error names the text and the choices
const char* gemm_backend_name(GemmBackend backend);

// ---- convolution / batch-norm / pooling backend (cuda/dnn_backend.cpp) -----------------------------
// Ember: Ember's own kernels (conv.cu, ...); Cudnn: NVIDIA's cuDNN, the yardstick and alternative.
// The initial choice comes from EMBER_DNN=ember|cudnn (default ember). Selecting Cudnn in a build
// without cuDNN (cudnn_available() false) is an error that says so and names EMBER_DNN.
enum class DnnBackend { Ember, Cudnn };
void set_dnn_backend(DnnBackend backend);
DnnBackend dnn_backend();
bool cudnn_available();
DnnBackend parse_dnn_backend(const std::string& text);  // error names the text and the choices
const char* dnn_backend_name(DnnBackend backend);

// Ember's own convolution forward (cuda/conv.cu): ImplicitGemm (the default) gathers the input
// into the GEMM's shared-memory tiles on the fly; Im2colGemm writes the cols buffer and calls the
// hand GEMM. The initial choice comes from EMBER_CUDA_CONV_ALGO=implicit|im2col.
enum class ConvAlgorithm { ImplicitGemm, Im2colGemm };
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();
ConvAlgorithm parse_conv_algorithm(const std::string& text);  // error names the text and the choices
const char* conv_algorithm_name(ConvAlgorithm algorithm);

// ---- host memory ----------------------------------------------------------------------------------
// A CPU copy of `t` in page-locked (pinned) memory: copies from it to a GPU are asynchronous, so a
// data loader can fill the next batch while the GPU works on this one.
Tensor pin_memory(const Tensor& t);

}  // namespace ember::cuda
