// Printing tensors the way PyTorch does: tensor([[1., 2.],
//                                                [3., 4.]], dtype=torch.float64)
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace ember {

std::string format_tensor(const Tensor& t);

// autograd/ installs this so printing can name a tensor's grad_fn (tensor/ cannot see Node).
extern std::string (*grad_fn_name_hook)(const Node& node);

}  // namespace ember
