// The backward engine, in three steps (the iterative version of micrograd's recursive one, so a
// graph thousands of nodes deep does not overflow the stack):
//
//  1. Walk the graph from the root once, counting for each node how many edges point at it.
//  2. Start with the root's node holding the root gradient. A node runs only when every edge
//     into it has delivered its gradient (its count reached 0), so gradients reaching a node
//     along several paths are summed before it runs: that is a topological order.
//  3. Each node's outputs are added into the input buffers of the nodes its edges point to.
#include "autograd/engine.h"

#include <atomic>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember {

// buffer[slot] += g (the first gradient is taken as is; the sum makes a new tensor, never
// writing into one that another node may also hold).
static void accumulate(std::vector<Tensor>& buffer, uint32_t slot, const Tensor& g) {
  if (!buffer[slot].defined()) {
    buffer[slot] = g;
    return;
  }
  const Tensor& a = buffer[slot];
  EMBER_CHECK(a.shape() == g.shape(),
              "backward: two gradients for the same tensor have shapes " + a.shape().str() + " and " + g.shape().str());
  Tensor sum = empty(a.shape(), a.dtype(), a.device());
  kernels::binary(BinaryOp::Add, sum, a, g);
  buffer[slot] = sum;
}

static bool has_any_gradient(const std::vector<Tensor>& buffer) {
  for (const Tensor& g : buffer)
    if (g.defined()) return true;
  return false;
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  EMBER_CHECK(root.defined(), "backward: the tensor is undefined");
  EMBER_CHECK(root.requires_grad(),
              "backward: the tensor does not require grad and has no grad_fn (did you forget "
              "requires_grad_() on an input, or compute it under NoGradGuard?)");
  Tensor root_grad = grad;
  if (!root_grad.defined()) {
    EMBER_CHECK(root.numel() == 1,
                "backward: grad can be implicitly created only for scalar outputs; this tensor "
                "has shape " +
                    root.shape().str() + ", so pass a gradient of that shape");
    root_grad = ones(root.shape(), root.dtype(), root.device());
  }
  EMBER_CHECK(root_grad.shape() == root.shape(), "backward: the gradient has shape " + root_grad.shape().str() +
                                                     " but the tensor has shape " + root.shape().str());
  EMBER_CHECK(root_grad.device() == root.device(), "backward: the gradient is on " + root_grad.device().str() +
                                                       " but the tensor is on " + root.device().str());
  EMBER_CHECK(root_grad.dtype() == root.dtype(), std::string("backward: the gradient is ") +
                                                     dtype_name(root_grad.dtype()) + " but the tensor is " +
                                                     dtype_name(root.dtype()));
  Edge root_edge = gradient_edge(root);

  // Each call gets a number; a node whose backward_call differs has not been seen by this call.
  static std::atomic<uint64_t> calls{0};
  const uint64_t call = ++calls;
  Node* root_node = root_edge.node.get();

  // 1. dependencies: number of incoming edges per node
  std::vector<Node*> stack = {root_node};
  root_node->backward_call = call;
  root_node->pending_edges = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    node->grad_buffer.assign(node->num_outputs, Tensor());
    for (const Edge& edge : node->next_edges) {
      Node* next = edge.node.get();
      if (!next) continue;
      if (next->backward_call != call) {  // first visit
        next->backward_call = call;
        next->pending_edges = 0;
        stack.push_back(next);
      }
      ++next->pending_edges;
    }
  }

  // 2-3. run nodes whose inputs are complete
  NoGradGuard no_grad;  // backward formulas are not themselves recorded (no double backward)
  root_node->grad_buffer[root_edge.input_nr] = root_grad;
  std::vector<Node*> ready = {root_node};
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    // A node that no gradient reached (every path into it carried none) does not run, but still
    // counts as done for the nodes after it, which may have gradients from elsewhere.
    std::vector<Tensor> grad_inputs;
    if (has_any_gradient(node->grad_buffer)) grad_inputs = node->apply(std::move(node->grad_buffer));
    node->grad_buffer = std::vector<Tensor>();
    if (!retain_graph) {
      node->release_saved_tensors();
      node->saved_tensors_released = true;
    }
    for (size_t j = 0; j < node->next_edges.size(); ++j) {
      const Edge& edge = node->next_edges[j];
      Node* next = edge.node.get();
      if (!next) continue;
      if (j < grad_inputs.size() && grad_inputs[j].defined())
        accumulate(next->grad_buffer, edge.input_nr, grad_inputs[j]);
      if (--next->pending_edges == 0) ready.push_back(next);  // every edge into it has delivered
    }
  }
}

}  // namespace ember
