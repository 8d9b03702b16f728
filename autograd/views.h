// Shape ops. Most return views that share the input's storage (no copy), as in PyTorch:
// reshape (when the strides allow), permute, transpose, slice, select, expand, squeeze, unsqueeze.
// contiguous, clone, cat, stack, index_select and gather make new tensors.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace ember {

Tensor reshape(const Tensor& t, const Shape& shape);  // one entry may be -1 (inferred)
Tensor view(const Tensor& t, const Shape& shape);     // like reshape, but an error if a copy would be needed
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor permute(const Tensor& t, const Dims& dims);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor mT(const Tensor& t);  // transpose of the last two dims
// Python's t[..., start:end:step, ...] along `dim` (negative and out-of-range bounds are clipped).
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& t, int64_t dim, int64_t index);  // removes `dim`
Tensor expand(const Tensor& t, const Shape& shape);          // -1 keeps a size
Tensor broadcast_to(const Tensor& t, const Shape& shape);
Tensor squeeze(const Tensor& t);  // all size-1 dims
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor contiguous(const Tensor& t);  // t itself when already contiguous
Tensor clone(const Tensor& t);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index);  // index: 1-d int64
Tensor gather(const Tensor& t, int64_t dim, const Tensor& index);        // out[i][j] = t[i][index[i][j]] (dim 1)

// The strides that view `shape` over memory laid out as (old_shape, old_strides), if any
// (PyTorch's computeStride): reshape is a view exactly when this succeeds.
bool view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape, Strides& out);

}  // namespace ember
