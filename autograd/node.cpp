#include "autograd/node.h"

#include "autograd/grad_mode.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"
#include "tensor/print.h"

namespace ember {

static const bool g_grad_fn_printing_installed = [] {
  grad_fn_name_hook = [](const Node& node) { return node.name(); };
  return true;
}();

// Destroying a node releases its edges, which may destroy the next node, and so on: a chain of
// 100 000 ops would recurse 100 000 deep and overflow the stack. So the first node to die takes
// over the edges of every node it is the last owner of, and releases them in a loop.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> to_release;  // stays empty (no allocation) unless a chain follows
  auto release_edges = [&](EdgeList& edges) {
    for (Edge& edge : edges) {
      if (!edge.node) continue;
      // Ours is the last reference to a node that has edges of its own: destroying it here
      // would recurse, so it goes on the list. Anything else is released right away.
      if (edge.node.use_count() == 1 && !edge.node->next_edges.empty())
        to_release.push_back(std::move(edge.node));
      else
        edge.node.reset();
    }
    edges.clear();
  };
  release_edges(next_edges);
  while (!to_release.empty()) {
    std::shared_ptr<Node> node = std::move(to_release.back());
    to_release.pop_back();
    release_edges(node->next_edges);
  }  // each `node` dies here with no edges left, so its destructor does not recurse
}

// leaf.grad += grad. The first gradient is copied, so leaf.grad never aliases a tensor that the
// backward pass also handed to another input (add's backward returns one tensor twice).
std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  std::shared_ptr<TensorImpl> impl = leaf.lock();
  if (!impl) return {};  // the leaf is gone: nobody can read this gradient
  Tensor target(impl);
  const Tensor& g = grads[0];
  EMBER_CHECK(g.shape() == target.shape(),
              "backward: the gradient for a leaf of shape " + target.shape().str() + " has shape " + g.shape().str());
  Tensor current = target.grad();
  if (!current.defined()) {
    Tensor fresh = empty(target.shape(), target.dtype(), target.device());
    kernels::copy(fresh, g);
    target.set_grad(fresh);
  } else {
    Tensor g_cast = g;
    if (g.dtype() != current.dtype()) {
      g_cast = empty(g.shape(), current.dtype(), g.device());
      kernels::copy(g_cast, g);
    }
    kernels::binary(BinaryOp::Add, current, current, g_cast);
    current.bump_version();
  }
  return {};
}

Tensor SavedTensor::unpack(const Node& owner) const {
  EMBER_CHECK(!owner.saved_tensors_released,
              "backward: trying to backward through the graph a second time (" + owner.name() +
                  " has already freed its saved tensors). Pass retain_graph=true to the first backward() "
                  "if you need to call it twice.");
  if (tensor_.defined() && tensor_.version() != version_) {
    std::string dtype = is_floating(tensor_.dtype()) ? (tensor_.dtype() == DType::Float32 ? "Float" : "Double")
                                                     : dtype_name(tensor_.dtype());
    throw Error(
        "backward: one of the tensors needed for gradient computation has been modified by an in-place "
        "operation: [" +
        dtype + " " + tensor_.shape().str() + "], an input or output of " + owner.name() + ", is at version " +
        std::to_string(tensor_.version()) + "; expected version " + std::to_string(version_) +
        " instead. Use an out-of-place op or clone() it before changing it.");
  }
  return tensor_;
}

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.output_nr()};
  // A leaf: reuse its AccumulateGrad node so every use of the leaf meets in one place.
  std::shared_ptr<Node>& sink = t.impl()->grad_accumulator;
  if (!sink) sink = std::make_shared<AccumulateGrad>(t);
  return {sink, 0};
}

}  // namespace ember
