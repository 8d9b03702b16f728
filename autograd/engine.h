// Reverse-mode differentiation: backward(loss) fills .grad() of every leaf that requires grad.
#pragma once
#include "tensor/tensor.h"

namespace ember {

// Runs the graph behind `root` backwards. For a scalar root `grad` may be left undefined (it is
// then 1); otherwise it must have root's shape. With retain_graph=false the saved tensors are
// freed as each node finishes, so a second backward through the same graph is an error.
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false);

}  // namespace ember
