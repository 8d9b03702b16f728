// The backward graph.
//
// Every differentiable op that sees an input requiring grad creates one Node: the op's backward
// function. Its `next_edges` point at the nodes that produced its inputs (or, for a leaf, at the
// leaf's AccumulateGrad sink), so following edges from the loss walks the computation backwards.
//
//   x (leaf) --\                      loss.grad_fn = SumBackward
//               MulBackward -- SumBackward          next_edges -> MulBackward
//   w (leaf) --/                      MulBackward.next_edges -> AccumulateGrad(x), AccumulateGrad(w)
//
// A Node receives one gradient per output (dL/d output) and returns one per input edge
// (dL/d input), or an undefined Tensor where an input needs none.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace ember {

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
  uint32_t input_nr = 0;       // which of node's outputs the gradient belongs to
};

// The edges of a node. Nearly every op has one or two inputs, so up to two edges live inside the
// node itself; more (cat of many tensors) spill into a vector. Saves one allocation per recorded op.
class EdgeList {
 public:
  size_t size() const { return spilled_.empty() ? count_ : spilled_.size(); }
  bool empty() const { return size() == 0; }
  Edge* begin() { return spilled_.empty() ? inline_ : spilled_.data(); }
  Edge* end() { return begin() + size(); }
  const Edge* begin() const { return spilled_.empty() ? inline_ : spilled_.data(); }
  const Edge* end() const { return begin() + size(); }
  Edge& operator[](size_t i) { return begin()[i]; }
  const Edge& operator[](size_t i) const { return begin()[i]; }
  void push_back(Edge edge) {
    if (spilled_.empty() && count_ < kInline) {
      inline_[count_++] = std::move(edge);
      return;
    }
    if (spilled_.empty()) {  // move the inline edges out first
      for (size_t i = 0; i < count_; ++i) spilled_.push_back(std::move(inline_[i]));
      count_ = 0;
    }
    spilled_.push_back(std::move(edge));
  }
  void clear() {
    for (size_t i = 0; i < count_; ++i) inline_[i] = Edge();
    count_ = 0;
    spilled_.clear();
  }

 private:
  static constexpr size_t kInline = 2;
  Edge inline_[kInline];
  size_t count_ = 0;
  std::vector<Edge> spilled_;
};

class Node {
 public:
  virtual ~Node();                       // iterative: see node.cpp
  virtual std::string name() const = 0;  // "MulBackward0", as PyTorch prints it
  // grad_outputs[i] = dL/d(output i); returns dL/d(input j) for each next_edges[j].
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  // Drops saved tensors once backward has used them (unless retain_graph).
  virtual void release_saved_tensors() {}

  bool needs_input_grad(size_t i) const { return i < next_edges.size() && next_edges[i].node != nullptr; }

  EdgeList next_edges;
  uint32_t num_outputs = 1;
  bool saved_tensors_released = false;

  // Scratch space of the backward engine (engine.cpp), meaningful only inside one backward()
  // call: which call last visited this node, how many of its incoming edges have still to deliver
  // a gradient, and the gradients delivered so far (one slot per output). Keeping them here rather
  // than in hash maps keyed by node saves two lookups and allocations per node and call.
  uint64_t backward_call = 0;
  int pending_edges = 0;
  std::vector<Tensor> grad_buffer;
};

// The sink of a leaf that requires grad: adds the incoming gradient into leaf.grad.
// The leaf owns its sink (TensorImpl::grad_accumulator) and the sink only points back weakly, so
// there is no cycle and the sink is made once per leaf, not once per op. A gradient that arrives
// after the user dropped the leaf has nowhere to go and is discarded.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(const Tensor& leaf) : leaf(leaf.impl_ptr()) {}
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  std::weak_ptr<TensorImpl> leaf;
};

// A tensor kept for backward, with the storage version it had when saved. If an in-place op
// changes it before backward, unpack() reports that instead of returning wrong gradients.
// The tensor is stored detached so that saving an op's own output makes no reference cycle.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t)
      : tensor_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.version() : 0) {}
  Tensor unpack(const Node& owner) const;
  void reset() { tensor_ = Tensor(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

// ---- helpers every differentiable op uses --------------------------------------------------------

// True when grad mode is on and any input requires grad: only then is a Node recorded.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

// The edge through which a gradient for `t` should flow (its grad_fn, its AccumulateGrad, or none).
Edge gradient_edge(const Tensor& t);

// Creates the node, wires its edges to `inputs`, and makes `outputs` its outputs:
//   auto node = record<MulBackward>({&a, &b}, {&out});  node->a = SavedTensor(a); ...
template <typename NodeT>
std::shared_ptr<NodeT> record(std::initializer_list<const Tensor*> inputs,
                              std::initializer_list<const Tensor*> outputs) {
  auto node = std::make_shared<NodeT>();
  for (const Tensor* t : inputs) node->next_edges.push_back(gradient_edge(*t));
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  uint32_t i = 0;
  for (const Tensor* out : outputs) out->set_history(node, i++);
  return node;
}

}  // namespace ember
