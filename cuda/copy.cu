// Copies (within a GPU with any strides and any dtype cast, between host and GPU, between GPUs),
// fill, and pinned host memory.
//
// A host<->GPU transfer moves one contiguous block with cudaMemcpyAsync; any layout or dtype change
// happens on the side that is cheap for it: on the host before an upload, on the GPU before a
// download, so the bytes crossing PCIe are exactly the dense result.
#include "cuda/allocator.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "cuda/elementwise.cuh"

namespace ember::cuda {

template <typename Out, typename In>
struct CastOp {
  __device__ Out operator()(In x) const { return static_cast<Out>(x); }
};

// dst = src on one GPU: both any strides, any dtypes.
static void copy_on_device(const Tensor& dst, const Tensor& src) {
  visit_dtype(dst.dtype(), [&]<typename Out>() {
    visit_dtype(src.dtype(), [&]<typename In>() { launch_elementwise<Out, In>(dst, CastOp<Out, In>{}, {src}); });
  });
}

Tensor contiguous_as(const Tensor& t, DType dtype) {
  if (t.is_contiguous() && t.dtype() == dtype) return t;
  Tensor c = empty(t.shape(), dtype, t.device());
  copy_on_device(c, t);
  return c;
}

static bool contiguous_with(const Tensor& t, DType dtype) { return t.is_contiguous() && t.dtype() == dtype; }

static size_t nbytes_of(const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype()); }

// host -> GPU
static void upload(const Tensor& dst, const Tensor& src) {
  Tensor host = src;
  if (!contiguous_with(src, dst.dtype())) {  // lay out (and cast) on the host first
    host = empty(src.shape(), dst.dtype(), Device::cpu());
    kernels_for(Device::cpu()).copy(host, src);
  }
  Tensor target = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
  cudaStream_t s = prepare(dst);
  EMBER_CUDA_CHECK(cudaMemcpyAsync(target.raw_data(), host.raw_data(), nbytes_of(host), cudaMemcpyHostToDevice, s));
  if (!target.is_same(dst)) copy_on_device(dst, target);
  // From pageable memory the driver has staged the bytes before returning; from a pinned source
  // the caller's own tensor is read asynchronously (as PyTorch's non_blocking=True), and a pinned
  // temporary made here must be waited for before it is freed.
  if (!host.storage()->pinned || !host.is_same(src)) EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
}

// GPU -> host: always waits, so the host can read the result when copy returns.
static void download(const Tensor& dst, const Tensor& src) {
  Tensor device_side = contiguous_as(src, dst.dtype());  // lay out (and cast) on the GPU first
  Tensor target = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), Device::cpu());
  cudaStream_t s = prepare(src);
  EMBER_CUDA_CHECK(
      cudaMemcpyAsync(target.raw_data(), device_side.raw_data(), nbytes_of(target), cudaMemcpyDeviceToHost, s));
  EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
  if (!target.is_same(dst)) kernels_for(Device::cpu()).copy(dst, target);
}

// GPU -> another GPU: a dense block crosses with cudaMemcpyPeerAsync.
static void peer_copy(const Tensor& dst, const Tensor& src) {
  Tensor dense_src = contiguous_as(src, dst.dtype());
  Tensor target = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
  synchronize(src.device().index);  // the source's stream must have produced dense_src
  cudaStream_t s = prepare(dst);
  EMBER_CUDA_CHECK(cudaMemcpyPeerAsync(target.raw_data(), dst.device().index, dense_src.raw_data(), src.device().index,
                                       nbytes_of(target), s));
  if (!target.is_same(dst)) copy_on_device(dst, target);
  EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
}

void copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  if (dst.device() == src.device()) return copy_on_device(dst, src);
  if (src.device().is_cpu()) return upload(dst, src);
  if (dst.device().is_cpu()) return download(dst, src);
  peer_copy(dst, src);
}

template <typename T>
struct FillOp {
  T value;
  __device__ T operator()() const { return value; }
};

void fill(const Tensor& dst, double value) {
  visit_dtype(dst.dtype(), [&]<typename T>() { launch_elementwise<T>(dst, FillOp<T>{static_cast<T>(value)}, {}); });
}

// ---- pinned host memory ---------------------------------------------------------------------------
static void free_pinned(void* data, size_t) { cudaFreeHost(data); }

Tensor pin_memory(const Tensor& t) {
  EMBER_CHECK(t.device().is_cpu(), "pin_memory: expected a cpu tensor, got one on " + t.device().str());
  EMBER_CHECK(device_count() > 0, "pin_memory: page-locked memory needs a CUDA GPU: " + unavailable_reason());
  auto storage = std::make_shared<Storage>();
  storage->nbytes = nbytes_of(t);
  storage->device = Device::cpu();
  EMBER_CUDA_CHECK(cudaHostAlloc(&storage->data, storage->nbytes > 0 ? storage->nbytes : 1, cudaHostAllocDefault));
  storage->free_fn = free_pinned;
  storage->pinned = true;
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->shape = t.shape();
  impl->strides = contiguous_strides(t.shape());
  impl->dtype = t.dtype();
  Tensor pinned(impl);
  kernels_for(Device::cpu()).copy(pinned, t);
  return pinned;
}

}  // namespace ember::cuda
