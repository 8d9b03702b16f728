// Matrix products.
#pragma once
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace ember {

// torch.matmul semantics: 1-d operands are promoted to a row/column and squeezed back; batch
// dims broadcast: (B,1,M,K) @ (C,K,N) -> (B,C,M,N).
Tensor matmul(const Tensor& a, const Tensor& b);
// Batched product of 3-d tensors: (B,M,K) @ (B,K,N) -> (B,M,N); a batch size of 1 broadcasts.
Tensor bmm(const Tensor& a, const Tensor& b);
// Einstein summation over one or two operands, e.g. einsum("cb,abij->acij", {W, features}) (the
// CAM of exercise 1). Each letter is a dim; letters missing from the output are summed over.
// Not supported: repeated letters within one operand (diagonals) and "...".
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

}  // namespace ember
