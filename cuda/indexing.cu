// CUDA indexing kernels: index_select, index_add, gather, scatter_add; the GPU twin of
// tensor/cpu/indexing.cpp. `index` is int64; `dim` is the indexed dim.
//
//   index_select: out[o, i, n] = in[o, index[i], n]       in (outer, size, inner), index (count)
//                                                          -> out (outer, count, inner)
//   index_add:    out[o, index[i], n] += src[o, i, n]     src (outer, count, inner) -> out (outer, size, inner)
//                 (the backward of index_select)
//   gather:       out[p] = in[p with coordinate dim replaced by index[p]]     out and index: same shape
//   scatter_add:  out[p with coordinate dim replaced by index[p]] += src[p]   src and index: same shape
//                 (the backward of gather)
//
// One thread per output element (index_select, gather) or per source element (index_add,
// scatter_add), in grid-stride loops. The two "add" kernels use atomicAdd because an index may
// repeat: float and double have native atomics (double since sm_60), int64 adds through the
// unsigned 64-bit atomicAdd (two's complement makes it the same sum), uint8 through a
// compare-and-swap loop on the aligned 32-bit word holding the byte, and bool (where the CPU's
// `d += s` is a logical or) by storing `true` when the source is true, which needs no atomic.
// index_select and gather only move bits, so they are instantiated per element size (1, 4, 8
// bytes), not per dtype.
//
// Repeated indices: the atomic adds land in an unspecified order, so a float sum over repeated
// indices may differ from the CPU's (which adds in index order) in the last bits, and between
// runs. Integer and bool results are exact.
//
// Index checks, with the CPU's message ("gather: index 7 is out of bounds for dim 1 with size 5"):
// a kernel that meets a bad index skips it and records its position in a one-element device flag
// with atomicMin, so the smallest bad position wins and the error names the first bad index in
// index order, as the CPU's does. After the kernel the host reads the flag (8 bytes) and, if set,
// the bad value, and throws. Reading the flag waits for the stream: the price of a synchronous
// error (PyTorch instead kills the CUDA context with a device-side assert).
//  * index_select, index_add: the index (count values) is small next to the data, so a separate
//    check pass runs first, exactly like the CPU: on a bad index nothing is written.
//  * gather, scatter_add: the index is as large as the data, so the main kernel checks as it goes
//    (no second read of the index). On a bad index scatter_add has added every good element,
//    where the CPU has added those before the bad one; gather's output is unspecified either way.
#include <cstdint>
#include <string>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"

namespace ember::cuda {

// ---- index checks ------------------------------------------------------------------------------------
namespace {

constexpr unsigned long long kNoBadIndex = ~0ull;  // the flag's value while every index is good

// Is index value `value` (found at `position` in the index) within [0, size)? If not, record it.
__device__ __forceinline__ bool index_in_range(int64_t value, int64_t size, int64_t position,
                                               unsigned long long* first_bad) {
  if (value >= 0 && value < size) return true;
  atomicMin(first_bad, static_cast<unsigned long long>(position));
  return false;
}

// The host side: a one-element int64 flag on the device that kernels pass to index_in_range.
class BadIndexFlag {
 public:
  BadIndexFlag(const Tensor& like, cudaStream_t s) : flag_(empty(Shape{1}, DType::Int64, like.device())) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(flag_.raw_data(), 0xFF, sizeof(unsigned long long), s));  // kNoBadIndex
  }
  unsigned long long* device_pointer() const { return static_cast<unsigned long long*>(flag_.raw_data()); }

  // Waits for the stream; throws the CPU's error when a kernel recorded a bad index.
  void throw_if_set(const char* op, const Tensor& index, int64_t size, int dim, cudaStream_t s) const {
    unsigned long long position = kNoBadIndex;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(&position, flag_.raw_data(), sizeof(position), cudaMemcpyDeviceToHost, s));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
    if (position == kNoBadIndex) return;
    int64_t value = 0;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(&value, static_cast<const int64_t*>(index.raw_data()) + position, sizeof(value),
                                     cudaMemcpyDeviceToHost, s));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(s));
    throw Error(std::string(op) + ": index " + std::to_string(value) + " is out of bounds for dim " +
                std::to_string(dim) + " with size " + std::to_string(size));
  }

 private:
  Tensor flag_;
};

// The check pass of index_select and index_add: every index[i] in [0, size).
__global__ void check_indices_kernel(const int64_t* __restrict__ index, int64_t count, int64_t size,
                                     unsigned long long* first_bad) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    index_in_range(index[i], size, i, first_bad);
}

void check_indices(const char* op, const Tensor& index, int64_t size, int dim) {
  const int64_t count = index.numel();
  if (count == 0) return;
  cudaStream_t s = prepare(index);
  BadIndexFlag flag(index, s);
  check_indices_kernel<<<blocks_for(count, index.device().index), kThreadsPerBlock, 0, s>>>(
      static_cast<const int64_t*>(index.raw_data()), count, size, flag.device_pointer());
  EMBER_CUDA_KERNEL_CHECK("check_indices_kernel");
  flag.throw_if_set(op, index, size, dim, s);
}

// ---- shared helpers ---------------------------------------------------------------------------------
// A contiguous int64 copy of the index (the index itself when it already is one).
Tensor contiguous_index(const char* op, const Tensor& index) {
  EMBER_CHECK(index.dtype() == DType::Int64,
              std::string(op) + ": the index must be an int64 tensor, got " + dtype_name(index.dtype()));
  return contiguous_as(index, DType::Int64);
}

void check_dim(const char* op, const Tensor& t, int dim) {
  EMBER_CHECK(dim >= 0 && dim < t.dim(),
              std::string(op) + ": dim " + std::to_string(dim) + " is out of range for shape " + t.shape().str());
}

// The sizes before and after `dim`: the tensor seen as (outer, shape[dim], inner).
void outer_inner(const Shape& shape, int dim, int64_t& outer, int64_t& inner) {
  outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  for (int d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
}

// index_select and gather copy bits: one instantiation per element size instead of per dtype.
template <typename Fn>
void visit_element_size(DType dtype, Fn&& fn) {
  switch (dtype_size(dtype)) {
  case 1: return fn.template operator()<uint8_t>();
  case 4: return fn.template operator()<uint32_t>();
  default: return fn.template operator()<uint64_t>();  // 8: float64, int64
  }
}

// out[offset] += value, safe when other threads add to the same element.
__device__ __forceinline__ void atomic_add(float* address, float value) { atomicAdd(address, value); }
__device__ __forceinline__ void atomic_add(double* address, double value) { atomicAdd(address, value); }
__device__ __forceinline__ void atomic_add(int64_t* address, int64_t value) {
  atomicAdd(reinterpret_cast<unsigned long long*>(address), static_cast<unsigned long long>(value));
}
// A byte has no atomicAdd: swap in the whole aligned 32-bit word with the byte's new value, and try
// again when another thread changed the word in between. (Allocations are 512-byte multiples, so
// the word never leaves the allocation; the other three bytes are written back unchanged.)
__device__ __forceinline__ void atomic_add(uint8_t* address, uint8_t value) {
  const uintptr_t byte_address = reinterpret_cast<uintptr_t>(address);
  unsigned int* word = reinterpret_cast<unsigned int*>(byte_address & ~uintptr_t{3});
  const unsigned int shift = static_cast<unsigned int>(byte_address & 3) * 8;  // little-endian
  unsigned int old = *word, assumed;
  do {
    assumed = old;
    const unsigned int sum = ((assumed >> shift) + value) & 0xFFu;  // wraps, as uint8 does on the CPU
    old = atomicCAS(word, assumed, (assumed & ~(0xFFu << shift)) | (sum << shift));
  } while (old != assumed);
}
// bool: d += s is d || s; every writer writes the same `true`, and a byte store leaves its
// neighbours alone, so no atomic is needed.
__device__ __forceinline__ void atomic_add(bool* address, bool value) {
  if (value) *address = true;
}

}  // namespace

// ---- index_select -----------------------------------------------------------------------------------
namespace {

// out (outer, count, inner) contiguous, in (outer, size, inner) contiguous; indices already checked.
template <typename T>
__global__ void index_select_kernel(T* __restrict__ out, const T* __restrict__ in, const int64_t* __restrict__ index,
                                    int64_t total, int64_t count, int64_t size, int64_t inner) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < total; j += stride) {
    const int64_t row = j / inner, n = j - row * inner;  // row = o * count + i
    const int64_t o = row / count, i = row - o * count;
    out[j] = in[(o * size + index[i]) * inner + n];
  }
}

}  // namespace

void index_select(const Tensor& out, const Tensor& in_view, int dim, const Tensor& index_view) {
  check_dim("index_select", in_view, dim);
  Tensor index = contiguous_index("index_select", index_view);
  int64_t outer, inner, size = in_view.shape()[dim], count = index.numel();
  outer_inner(in_view.shape(), dim, outer, inner);
  const int64_t total = outer * count * inner;
  EMBER_CHECK(out.numel() == total, "index_select: the output has shape " + out.shape().str() + ", expected " +
                                        std::to_string(total) + " elements for input " + in_view.shape().str() +
                                        " and " + std::to_string(count) + " indices along dim " + std::to_string(dim));
  check_indices("index_select", index, size, dim);  // before any work, as on the CPU
  if (total == 0) return;
  Tensor in = contiguous_as(in_view, out.dtype());
  Tensor result = out.is_contiguous() ? out : empty(out.shape(), out.dtype(), out.device());
  cudaStream_t s = prepare(out);
  visit_element_size(out.dtype(), [&]<typename T>() {
    index_select_kernel<T><<<blocks_for(total, out.device().index), kThreadsPerBlock, 0, s>>>(
        static_cast<T*>(result.raw_data()), static_cast<const T*>(in.raw_data()),
        static_cast<const int64_t*>(index.raw_data()), total, count, size, inner);
    EMBER_CUDA_KERNEL_CHECK("index_select_kernel");
  });
  if (!result.is_same(out)) copy(out, result);
}

// ---- index_add --------------------------------------------------------------------------------------
namespace {

// out (outer, size, inner) contiguous += src (outer, count, inner) contiguous; indices already checked.
template <typename T>
__global__ void index_add_kernel(T* out, const T* __restrict__ src, const int64_t* __restrict__ index, int64_t total,
                                 int64_t count, int64_t size, int64_t inner) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < total; j += stride) {
    const int64_t row = j / inner, n = j - row * inner;  // row = o * count + i
    const int64_t o = row / count, i = row - o * count;
    atomic_add(out + (o * size + index[i]) * inner + n, src[j]);
  }
}

}  // namespace

void index_add(const Tensor& out, int dim, const Tensor& index_view, const Tensor& src_view) {
  EMBER_CHECK(out.is_contiguous(), "index_add: the destination must be contiguous");
  check_dim("index_add", out, dim);
  Tensor index = contiguous_index("index_add", index_view);
  int64_t outer, inner, size = out.shape()[dim], count = index.numel();
  outer_inner(out.shape(), dim, outer, inner);
  const int64_t total = outer * count * inner;
  EMBER_CHECK(src_view.numel() == total, "index_add: the source has shape " + src_view.shape().str() + ", expected " +
                                             std::to_string(total) + " elements for destination " + out.shape().str() +
                                             " and " + std::to_string(count) + " indices along dim " +
                                             std::to_string(dim));
  check_indices("index_add", index, size, dim);  // before any work, as on the CPU
  if (total == 0) return;
  Tensor src = contiguous_as(src_view, out.dtype());
  cudaStream_t s = prepare(out);
  visit_dtype(out.dtype(), [&]<typename T>() {
    index_add_kernel<T><<<blocks_for(total, out.device().index), kThreadsPerBlock, 0, s>>>(
        static_cast<T*>(out.raw_data()), static_cast<const T*>(src.raw_data()),
        static_cast<const int64_t*>(index.raw_data()), total, count, size, inner);
    EMBER_CUDA_KERNEL_CHECK("index_add_kernel");
  });
}

// ---- gather / scatter_add ---------------------------------------------------------------------------
namespace {

// Turns a position in the (contiguous) index into an element offset into another tensor with as
// many dims: the position's coordinates over the index's shape, with coordinate `dim` replaced by
// the index value, times the other tensor's strides. A 0-dim index (ndim 0) gives offset 0.
struct IndexedOffset {
  int ndim = 0, dim = 0;
  int64_t index_sizes[kMaxDims];
  int64_t other_strides[kMaxDims];

  __device__ int64_t operator()(int64_t position, int64_t value) const {
    int64_t offset = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t coordinate = position % index_sizes[d];
      position /= index_sizes[d];
      offset += (d == dim ? value : coordinate) * other_strides[d];
    }
    return offset;
  }
};

IndexedOffset make_indexed_offset(const char* op, const Tensor& index, int dim, const Tensor& other) {
  EMBER_CHECK(index.dim() == other.dim(), std::string(op) + ": the index has shape " + index.shape().str() +
                                              " but the other tensor has " + other.shape().str() +
                                              "; both need the same number of dims");
  EMBER_CHECK(dim >= 0 && dim < (other.dim() > 0 ? other.dim() : 1),
              std::string(op) + ": dim " + std::to_string(dim) + " is out of range for shape " + other.shape().str());
  for (int d = 0; d < index.dim(); ++d)
    EMBER_CHECK(d == dim || index.shape()[d] <= other.shape()[d],
                std::string(op) + ": index shape " + index.shape().str() + " is larger than shape " +
                    other.shape().str() + " outside dim " + std::to_string(dim));
  IndexedOffset f;
  f.ndim = index.dim();
  f.dim = dim;
  for (int d = 0; d < f.ndim; ++d) f.index_sizes[d] = index.shape()[d], f.other_strides[d] = other.strides()[d];
  return f;
}

// out[p] = in[offset(p, index[p])]: out contiguous with index's shape, in any strides.
template <typename T>
__global__ void gather_kernel(T* __restrict__ out, const T* __restrict__ in, const int64_t* __restrict__ index,
                              int64_t n, int64_t dim_size, IndexedOffset in_offset, unsigned long long* first_bad) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n; p += stride) {
    const int64_t value = index[p];
    if (index_in_range(value, dim_size, p, first_bad)) out[p] = in[in_offset(p, value)];
  }
}

}  // namespace

void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index_view) {
  Tensor index = contiguous_index("gather", index_view);
  const int64_t n = index.numel();
  EMBER_CHECK(out.numel() == n,
              "gather: the output has shape " + out.shape().str() + ", expected the index's " + index.shape().str());
  EMBER_CHECK(in.dtype() == out.dtype(), std::string("gather: the output holds ") + dtype_name(out.dtype()) +
                                             " but the input holds " + dtype_name(in.dtype()));
  IndexedOffset in_offset = make_indexed_offset("gather", index, dim, in);
  if (n == 0) return;
  const int64_t dim_size = in.dim() ? in.shape()[dim] : 1;
  Tensor result = out.is_contiguous() ? out : empty(out.shape(), out.dtype(), out.device());
  cudaStream_t s = prepare(out);
  BadIndexFlag flag(out, s);
  visit_element_size(out.dtype(), [&]<typename T>() {
    gather_kernel<T><<<blocks_for(n, out.device().index), kThreadsPerBlock, 0, s>>>(
        static_cast<T*>(result.raw_data()), static_cast<const T*>(in.raw_data()),
        static_cast<const int64_t*>(index.raw_data()), n, dim_size, in_offset, flag.device_pointer());
    EMBER_CUDA_KERNEL_CHECK("gather_kernel");
  });
  flag.throw_if_set("gather", index, dim_size, dim, s);
  if (!result.is_same(out)) copy(out, result);
}

namespace {

// out[offset(p, index[p])] += src[p]: out any strides, src contiguous (read at index positions).
template <typename T>
__global__ void scatter_add_kernel(T* out, const T* __restrict__ src, const int64_t* __restrict__ index, int64_t n,
                                   int64_t dim_size, IndexedOffset out_offset, unsigned long long* first_bad) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < n; p += stride) {
    const int64_t value = index[p];
    if (index_in_range(value, dim_size, p, first_bad)) atomic_add(out + out_offset(p, value), src[p]);
  }
}

}  // namespace

void scatter_add(const Tensor& out, int dim, const Tensor& index_view, const Tensor& src_view) {
  Tensor index = contiguous_index("scatter_add", index_view);
  const int64_t n = index.numel();
  EMBER_CHECK(src_view.numel() >= n, "scatter_add: the source has shape " + src_view.shape().str() +
                                         ", smaller than the index's " + index.shape().str());
  IndexedOffset out_offset = make_indexed_offset("scatter_add", index, dim, out);
  if (n == 0) return;
  const int64_t dim_size = out.dim() ? out.shape()[dim] : 1;
  Tensor src = contiguous_as(src_view, out.dtype());
  cudaStream_t s = prepare(out);
  BadIndexFlag flag(out, s);
  visit_dtype(out.dtype(), [&]<typename T>() {
    scatter_add_kernel<T><<<blocks_for(n, out.device().index), kThreadsPerBlock, 0, s>>>(
        static_cast<T*>(out.raw_data()), static_cast<const T*>(src.raw_data()),
        static_cast<const int64_t*>(index.raw_data()), n, dim_size, out_offset, flag.device_pointer());
    EMBER_CUDA_KERNEL_CHECK("scatter_add_kernel");
  });
  flag.throw_if_set("scatter_add", index, dim_size, dim, s);
}

}  // namespace ember::cuda
