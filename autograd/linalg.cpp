// matmul is built from views and one primitive, bmm:
//   out = a @ b               (B,M,N) = (B,M,K) @ (B,K,N)
//   da  = g @ b^T             (B,M,K) = (B,M,N) @ (B,N,K)
//   db  = a^T @ g             (B,K,N) = (B,K,M) @ (B,M,N)
// The transposes are views: the GEMM reads them in place. einsum rewrites its equation as
// permutes, reshapes, sums and one bmm, so its gradient comes from theirs.
#include "autograd/linalg.h"

#include <algorithm>
#include <map>

#include "autograd/node.h"
#include "autograd/reductions.h"
#include "autograd/views.h"
#include "tensor/kernels.h"

namespace ember {

struct BmmBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "BmmBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor av = a.unpack(*this), bv = b.unpack(*this), ga, gb;
    if (needs_input_grad(0)) ga = sum_to(bmm(g[0], mT(bv)), av.shape());  // a batch of 1 sums over the batch
    if (needs_input_grad(1)) gb = sum_to(bmm(mT(av), g[0]), bv.shape());
    return {ga, gb};
  }
  void release_saved_tensors() override { a.reset(), b.reset(); }
};

Tensor bmm(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3,
              "bmm: expected two 3-d tensors, got shapes " + a.shape().str() + " and " + b.shape().str());
  kernels::check_same_device("bmm", a, b);
  EMBER_CHECK(a.dtype() == b.dtype() && is_floating(a.dtype()),
              std::string("bmm: expected two float tensors of one dtype, got ") + dtype_name(a.dtype()) + " and " +
                  dtype_name(b.dtype()));
  const int64_t batch_a = a.shape()[0], batch_b = b.shape()[0];
  EMBER_CHECK(a.shape()[2] == b.shape()[1], "matmul: shapes " + a.shape().str() + " and " + b.shape().str() +
                                                " cannot be multiplied (" + std::to_string(a.shape()[2]) +
                                                " != " + std::to_string(b.shape()[1]) + ")");
  EMBER_CHECK(batch_a == batch_b || batch_a == 1 || batch_b == 1,
              "bmm: batch sizes " + std::to_string(batch_a) + " and " + std::to_string(batch_b) + " do not match");
  Tensor out = empty(Shape{std::max(batch_a, batch_b), a.shape()[1], b.shape()[2]}, a.dtype(), a.device());
  kernels::matmul(out, a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = record<BmmBackward>({&a, &b}, {&out});
    node->a = SavedTensor(a), node->b = SavedTensor(b);
  }
  return out;
}

// (batch..., rows, cols) -> (B, rows, cols): batch dims of size 1 everywhere become a batch of 1
// (broadcast by bmm); otherwise the operand is expanded to the common batch shape.
static Tensor as_batched(const Tensor& t, const Shape& batch) {
  Shape own_batch(std::vector<int64_t>(t.shape().begin(), t.shape().end() - 2));
  const int64_t rows = t.shape()[t.dim() - 2], cols = t.shape()[t.dim() - 1];
  if (own_batch.numel() == 1) return reshape(t, Shape{1, rows, cols});
  Shape full = batch;
  full.push_back(rows), full.push_back(cols);
  return reshape(expand(t, full), Shape{batch.numel(), rows, cols});
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), "matmul: an operand is undefined");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1,
              "matmul: both arguments need at least 1 dim, got shapes " + a.shape().str() + " and " + b.shape().str());
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;  // (K) -> (1,K)
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;  // (K) -> (K,1)
  EMBER_CHECK(a2.shape().back() == b2.shape()[b2.dim() - 2],
              "matmul: shapes " + a.shape().str() + " and " + b.shape().str() + " cannot be multiplied (" +
                  std::to_string(a2.shape().back()) + " != " + std::to_string(b2.shape()[b2.dim() - 2]) + ")");
  Shape batch_a(std::vector<int64_t>(a2.shape().begin(), a2.shape().end() - 2));
  Shape batch_b(std::vector<int64_t>(b2.shape().begin(), b2.shape().end() - 2));
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Tensor out3 = bmm(as_batched(a2, batch), as_batched(b2, batch));  // (B, M, N)
  Shape out_shape = batch;
  if (a.dim() > 1) out_shape.push_back(a2.shape()[a2.dim() - 2]);
  if (b.dim() > 1) out_shape.push_back(b2.shape().back());
  return reshape(out3, out_shape);
}

// ---- einsum -----------------------------------------------------------------------------------------
namespace {

struct Equation {
  std::vector<std::string> inputs;
  std::string output;
};

Equation parse_einsum(const std::string& equation, size_t operand_count) {
  Equation eq;
  std::string text;
  for (char c : equation)
    if (c != ' ') text += c;
  size_t arrow = text.find("->");
  std::string lhs = arrow == std::string::npos ? text : text.substr(0, arrow);
  size_t start = 0;
  for (size_t comma; (comma = lhs.find(',', start)) != std::string::npos; start = comma + 1)
    eq.inputs.push_back(lhs.substr(start, comma - start));
  eq.inputs.push_back(lhs.substr(start));
  EMBER_CHECK(eq.inputs.size() == operand_count, "einsum: '" + equation + "' names " +
                                                     std::to_string(eq.inputs.size()) + " operands but " +
                                                     std::to_string(operand_count) + " were given");
  EMBER_CHECK(operand_count == 1 || operand_count == 2, "einsum: only one or two operands are supported");
  std::map<char, int> count;
  for (const auto& in : eq.inputs) {
    for (char c : in) {
      EMBER_CHECK(std::isalpha(static_cast<unsigned char>(c)),
                  std::string("einsum: '") + c + "' in '" + equation + "' is not a letter (\"...\" is not supported)");
      EMBER_CHECK(std::count(in.begin(), in.end(), c) == 1,
                  std::string("einsum: '") + c + "' repeats within operand '" + in + "' (diagonals are not supported)");
      ++count[c];
    }
  }
  if (arrow != std::string::npos) {
    eq.output = text.substr(arrow + 2);
    for (char c : eq.output)
      EMBER_CHECK(count.count(c), std::string("einsum: output letter '") + c + "' does not appear in any input");
  } else {  // implicit output: letters that appear once, in alphabetical order
    for (auto [c, n] : count)
      if (n == 1) eq.output += c;
  }
  return eq;
}

// Permutes `t` (labelled by `labels`) into the order `order` (a subset that must cover labels).
Tensor permute_to(const Tensor& t, const std::string& labels, const std::string& order) {
  Dims dims;
  for (char c : order) dims.push_back(static_cast<int64_t>(labels.find(c)));
  return permute(t, dims);
}

// Sums away the letters of `labels` that are not in `keep`.
Tensor sum_letters_not_in(const Tensor& t, std::string& labels, const std::string& keep) {
  Dims dims;
  std::string kept;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (keep.find(labels[i]) == std::string::npos)
      dims.push_back(static_cast<int64_t>(i));
    else
      kept += labels[i];
  }
  labels = kept;
  return dims.empty() ? t : sum(t, dims);
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  Equation eq = parse_einsum(equation, operands.size());
  std::map<char, int64_t> sizes;
  for (size_t k = 0; k < operands.size(); ++k) {
    EMBER_CHECK(static_cast<int>(eq.inputs[k].size()) == operands[k].dim(),
                "einsum: operand " + std::to_string(k) + " has shape " + operands[k].shape().str() + " but '" +
                    eq.inputs[k] + "' names " + std::to_string(eq.inputs[k].size()) + " dims");
    for (size_t i = 0; i < eq.inputs[k].size(); ++i) {
      char c = eq.inputs[k][i];
      int64_t s = operands[k].shape()[static_cast<int>(i)];
      EMBER_CHECK(!sizes.count(c) || sizes[c] == s, std::string("einsum: letter '") + c + "' has size " +
                                                        std::to_string(sizes[c]) + " and " + std::to_string(s));
      sizes[c] = s;
    }
  }
  if (operands.size() == 1) {
    std::string labels = eq.inputs[0];
    Tensor t = sum_letters_not_in(operands[0], labels, eq.output);
    return permute_to(t, labels, eq.output);
  }
  // Two operands. First sum away letters that only one operand has and the output does not need.
  std::string la = eq.inputs[0], lb = eq.inputs[1];
  Tensor a = sum_letters_not_in(operands[0], la, lb + eq.output);
  Tensor b = sum_letters_not_in(operands[1], lb, la + eq.output);
  // Classify: batch (in a, b and the output), contracted (a and b only), left (a only), right (b only).
  std::string batch, contracted, left, right;
  for (char c : la) {
    bool in_b = lb.find(c) != std::string::npos, in_out = eq.output.find(c) != std::string::npos;
    (in_b ? (in_out ? batch : contracted) : left) += c;
  }
  for (char c : lb)
    if (la.find(c) == std::string::npos) right += c;
  auto product = [&](const std::string& letters) {
    int64_t n = 1;
    for (char c : letters) n *= sizes[c];
    return n;
  };
  const int64_t B = product(batch), L = product(left), C = product(contracted), R = product(right);
  // (batch, left, contracted) @ (batch, contracted, right) -> (batch, left, right)
  Tensor a3 = reshape(permute_to(a, la, batch + left + contracted), Shape{B, L, C});
  Tensor b3 = reshape(permute_to(b, lb, batch + contracted + right), Shape{B, C, R});
  Tensor out3 = bmm(a3, b3);
  std::string labels = batch + left + right;
  Shape shape;
  for (char c : labels) shape.push_back(sizes[c]);
  return permute_to(reshape(out3, shape), labels, eq.output);
}

}  // namespace ember
