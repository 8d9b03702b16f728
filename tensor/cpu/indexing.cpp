// CPU indexing kernels. Views the tensors as (outer, size along dim, inner) blocks:
//   index_select: out[o, i, n] = in[o, index[i], n]
//   index_add:    out[o, index[i], n] += src[o, i, n]        (the backward of index_select)
//   gather:       out[..., i, ...] = in[..., index[..., i, ...], ...]   (index has out's shape)
//   scatter_add:  out[..., index[..., i, ...], ...] += src[..., i, ...] (the backward of gather)
#include <cstring>

#include "tensor/cpu/cpu_kernels.h"

namespace ember::cpu {

static void check_index(const char* op, int64_t value, int64_t size, int dim) {
  EMBER_CHECK(value >= 0 && value < size, std::string(op) + ": index " + std::to_string(value) +
                                              " is out of bounds for dim " + std::to_string(dim) + " with size " +
                                              std::to_string(size));
}

static void outer_inner(const Shape& shape, int dim, int64_t& outer, int64_t& inner) {
  outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  for (int d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
}

void index_select(const Tensor& out, const Tensor& in_view, int dim, const Tensor& index_view) {
  Tensor in = contiguous_cpu(in_view), index = contiguous_cpu(index_view);
  Tensor result = out.is_contiguous() ? out : empty(out.shape(), out.dtype());
  int64_t outer, inner, size = in.shape()[dim], count = index.numel();
  outer_inner(in.shape(), dim, outer, inner);
  const int64_t* idx = index.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) check_index("index_select", idx[i], size, dim);
  const size_t block = inner * dtype_size(in.dtype());
  const char* src = static_cast<const char*>(in.raw_data());
  char* dst = static_cast<char*>(result.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(dst + (o * count + i) * block, src + (o * size + idx[i]) * block, block);
  if (!result.is_same(out)) copy(out, result);
}

void index_add(const Tensor& out, int dim, const Tensor& index_view, const Tensor& src_view) {
  EMBER_CHECK(out.is_contiguous(), "index_add: the destination must be contiguous");
  Tensor src = contiguous_cpu(src_view), index = contiguous_cpu(index_view);
  int64_t outer, inner, size = out.shape()[dim], count = index.numel();
  outer_inner(out.shape(), dim, outer, inner);
  const int64_t* idx = index.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) check_index("index_add", idx[i], size, dim);
  visit_dtype(out.dtype(), [&]<typename T>() {
    const T* s = static_cast<const T*>(src.raw_data());
    T* d = static_cast<T*>(out.raw_data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < count; ++i)
        for (int64_t n = 0; n < inner; ++n) d[(o * size + idx[i]) * inner + n] += s[(o * count + i) * inner + n];
  });
}

// Walks every element of `index` (contiguous) and calls f(position in index, offset into `other`
// with dim replaced by the index value), where `other` is described by its strides.
template <typename F>
static void for_each_indexed(const char* op, const Tensor& index, int dim, int64_t dim_size,
                             const Strides& other_strides, F f) {
  const int64_t* idx = index.data<int64_t>();
  const Shape& shape = index.shape();
  const int nd = shape.size();
  int64_t counter[kMaxDims] = {};
  for (int64_t i = 0, n = index.numel(); i < n; ++i) {
    int64_t offset = 0;
    for (int d = 0; d < nd; ++d)
      if (d != dim) offset += counter[d] * other_strides[d];
    check_index(op, idx[i], dim_size, dim);
    f(i, offset + idx[i] * (nd ? other_strides[dim] : 0));
    for (int d = nd - 1; d >= 0; --d) {
      if (++counter[d] < shape[d]) break;
      counter[d] = 0;
    }
  }
}

void gather(const Tensor& out, const Tensor& in, int dim, const Tensor& index_view) {
  Tensor index = contiguous_cpu(index_view);
  Tensor result = out.is_contiguous() ? out : empty(out.shape(), out.dtype());
  visit_dtype(in.dtype(), [&]<typename T>() {
    const T* s = static_cast<const T*>(in.raw_data());
    T* d = static_cast<T*>(result.raw_data());
    for_each_indexed("gather", index, dim, in.dim() ? in.shape()[dim] : 1, in.strides(),
                     [&](int64_t i, int64_t source_offset) { d[i] = s[source_offset]; });
  });
  if (!result.is_same(out)) copy(out, result);
}

void scatter_add(const Tensor& out, int dim, const Tensor& index_view, const Tensor& src_view) {
  Tensor index = contiguous_cpu(index_view), src = contiguous_cpu(src_view);
  visit_dtype(out.dtype(), [&]<typename T>() {
    const T* s = static_cast<const T*>(src.raw_data());
    T* d = static_cast<T*>(out.raw_data());
    for_each_indexed("scatter_add", index, dim, out.dim() ? out.shape()[dim] : 1, out.strides(),
                     [&](int64_t i, int64_t dest_offset) { d[dest_offset] += s[i]; });
  });
}

}  // namespace ember::cpu
