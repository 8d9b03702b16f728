// Differentiable reductions. `dims` lists the dims to reduce (negative counts from the end);
// keepdim keeps them as size 1. The versions without dims reduce over everything.
#pragma once
#include <utility>

#include "tensor/tensor.h"

namespace ember {

Tensor sum(const Tensor& t);
Tensor sum(const Tensor& t, const Dims& dims, bool keepdim = false);
Tensor mean(const Tensor& t);
Tensor mean(const Tensor& t, const Dims& dims, bool keepdim = false);

Tensor amax(const Tensor& t, const Dims& dims, bool keepdim = false);  // gradient split evenly among ties
Tensor amin(const Tensor& t, const Dims& dims, bool keepdim = false);
Tensor max(const Tensor& t);  // over all elements
Tensor min(const Tensor& t);
// Along one dim: (values, indices); the gradient flows to the first maximal element.
std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& t);  // index into the flattened tensor
Tensor argmax(const Tensor& t, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& t, int64_t dim, bool keepdim = false);

// stddev is torch.std (named so to stay clear of namespace std).
// var = sum((x - mean)^2) / (N - correction): correction 1 is unbiased (PyTorch's default), 0 biased.
Tensor var(const Tensor& t, const Dims& dims, int64_t correction = 1, bool keepdim = false);
Tensor var(const Tensor& t);  // over all elements, unbiased
Tensor stddev(const Tensor& t, const Dims& dims, int64_t correction = 1, bool keepdim = false);
Tensor stddev(const Tensor& t);

// log(sum(exp(x))), computed as m + log(sum(exp(x - m))) with m = max(x) so it cannot overflow.
Tensor logsumexp(const Tensor& t, const Dims& dims, bool keepdim = false);
Tensor softmax(const Tensor& t, int64_t dim);
Tensor log_softmax(const Tensor& t, int64_t dim);

// Sums `grad` down to `shape`, undoing a broadcast from `shape` to grad's shape.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace ember
