// The backward engine's behaviour: accumulation, reuse, retain_graph, the errors it explains,
// grad mode, detach, in-place ops and the version counter.
#include <doctest/doctest.h>

#include <functional>
#include <thread>

#include "../test_util.h"

using namespace ember;
using namespace ember::test;

static Tensor vec(std::vector<float> values) { return from_vector(values); }

#define CHECK_ERROR_CONTAINS(statement, fragment) \
  CHECK_MESSAGE(error_of([&] { statement; }).find(fragment) != std::string::npos, error_of([&] { statement; }))

TEST_CASE("d/dx of x*x + x is 2x + 1, and a reused input sums its gradients") {
  Tensor x = vec({1, 2, -3}).requires_grad_();
  Tensor y = sum(x * x + x);
  backward(y);
  CHECK_CLOSE(x.grad(), vec({3, 5, -5}));
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  Tensor x = vec({1, 2}).requires_grad_();
  backward(sum(x * 3.0));
  backward(sum(x * 3.0));
  CHECK_CLOSE(x.grad(), vec({6, 6}));
  Tensor g = x.grad();
  zero_(g);
  backward(sum(x * x));
  CHECK_CLOSE(x.grad(), vec({2, 4}));
}

TEST_CASE("a shared intermediate (diamond graph) gets the sum of both paths") {
  Tensor x = vec({2}).requires_grad_();
  Tensor h = exp(x);                // used twice below
  Tensor y = sum(h * 2.0 + h * h);  // dy/dx = (2 + 2h) h
  backward(y);
  double hv = std::exp(2.0);
  CHECK(x.grad().item() == doctest::Approx((2 + 2 * hv) * hv).epsilon(1e-5));
}

TEST_CASE("backward with an explicit gradient for a non-scalar output") {
  Tensor x = vec({1, 2, 3}).requires_grad_();
  Tensor y = x * 2.0;
  backward(y, vec({1, 0, -1}));
  CHECK_CLOSE(x.grad(), vec({2, 0, -2}));
}

TEST_CASE("errors that explain themselves") {
  Tensor x = vec({1, 2, 3}).requires_grad_();
  CHECK_ERROR_CONTAINS(backward(x * 2.0), "only for scalar outputs");
  CHECK_ERROR_CONTAINS(backward(vec({1}) * 2.0), "does not require grad");
  CHECK_ERROR_CONTAINS(backward(x * 2.0, vec({1, 2})), "gradient has shape [2]");

  Tensor loss = sum(x * x);
  backward(loss);
  CHECK_ERROR_CONTAINS(backward(loss), "backward through the graph a second time");

  Tensor loss2 = sum(x * x);
  backward(loss2, Tensor(), /*retain_graph=*/true);
  backward(loss2);                          // allowed: the first call kept the saved tensors
  CHECK_CLOSE(x.grad(), vec({6, 12, 18}));  // 2x from `loss`, then 2x twice from `loss2`
}

TEST_CASE("an in-place change to a saved tensor is reported at backward") {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor c = vec({3, 4});
  Tensor y = sum(x * c);  // mul saves c for d/dx
  mul_(c, 2.0);           // ... and c changes afterwards
  CHECK_ERROR_CONTAINS(backward(y), "modified by an in-place operation");
  CHECK_ERROR_CONTAINS(backward(y), "is at version 1; expected version 0");
}

TEST_CASE("in-place ops: versions, leaves, and history") {
  Tensor w = vec({1, 2}).requires_grad_();
  CHECK_ERROR_CONTAINS(add_(w, 1.0), "leaf tensor that requires grad");
  {
    NoGradGuard no_grad;  // how an optimiser updates weights
    uint64_t before = w.version();
    add_(w, 1.0);
    CHECK(w.version() == before + 1);
  }
  CHECK_CLOSE(w, vec({2, 3}));
  CHECK(w.is_leaf());

  Tensor h = w * 3.0;  // a non-leaf: in-place is recorded, history moves to the new node
  add_(h, vec({1, 1}));
  CHECK(h.grad_fn()->name() == "AddBackward0");
  backward(sum(h * h));  // h = 3w + 1, d/dw sum(h^2) = 6h
  CHECK_CLOSE(w.grad(), vec({42, 60}));
}

TEST_CASE("NoGradGuard and detach stop the graph") {
  Tensor x = vec({1, 2}).requires_grad_();
  {
    NoGradGuard no_grad;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(GradMode::is_enabled());
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == x.storage());  // shares memory
  Tensor y = x * d;                   // d/dx (x * const) = const
  backward(sum(y));
  CHECK_CLOSE(x.grad(), vec({1, 2}));
}

TEST_CASE("NoGradGuard is per thread") {
  NoGradGuard no_grad;
  bool other_thread_enabled = false;
  std::thread([&] { other_thread_enabled = GradMode::is_enabled(); }).join();
  CHECK(other_thread_enabled);
  CHECK_FALSE(GradMode::is_enabled());
}

TEST_CASE("a very deep graph runs without recursion") {
  Tensor x = vec({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0;  // 100k nodes in a chain
  backward(sum(y));
  CHECK(x.grad().item() == doctest::Approx(1.0));
  y = Tensor();  // destroying the chain must not recurse either
  Tensor z = x;
  for (int i = 0; i < 1000000; ++i) z = z + 1.0;  // a million nodes, never run backward: freed at scope end
  CHECK(z.item() == doctest::Approx(1000001.0));
}

TEST_CASE("requires_grad_ rules") {
  Tensor i = from_vector(std::vector<int64_t>{1, 2});
  CHECK_ERROR_CONTAINS(i.requires_grad_(), "only float32/float64 tensors can require gradients");
  Tensor x = vec({1}).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_FALSE(y.is_leaf());
  CHECK_ERROR_CONTAINS(y.requires_grad_(false), "use detach() instead");
}

TEST_CASE("ops across dtypes and devices") {
  Tensor a = vec({1, 2});
  Tensor b = from_vector(std::vector<int64_t>{3, 4});
  Tensor c = a + b;  // int64 promotes to float32
  CHECK(c.dtype() == DType::Float32);
  CHECK_CLOSE(c, vec({4, 6}));
  Tensor d = div(b, from_vector(std::vector<int64_t>{2, 8}));  // integer division gives float
  CHECK(d.dtype() == DType::Float32);
  CHECK_CLOSE(d, vec({1.5, 0.5}));
  CHECK_ERROR_CONTAINS(add(vec({1, 2, 3}), vec({1, 2})), "cannot be broadcast together");
#ifndef EMBER_HAVE_CUDA
  CHECK_ERROR_CONTAINS(empty({2}, DType::Float32, Device::cuda()), "cuda:0 is not available: this build");
#else
  if (!cuda_is_available()) CHECK_ERROR_CONTAINS(empty({2}, DType::Float32, Device::cuda()), "cuda:0 is not available");
  CHECK_ERROR_CONTAINS(empty({2}, DType::Float32, Device::cuda(99)), "cuda:99");
#endif
}

TEST_CASE("printing names the grad_fn like PyTorch") {
  Tensor x = vec({1, 2}).requires_grad_();
  CHECK((x * x).str() == "tensor([1., 4.], grad_fn=<MulBackward0>)");
  CHECK(sum(x).str() == "tensor(3., grad_fn=<SumBackward0>)");
}

TEST_CASE("a cast passes the gradient back in the input's dtype") {
  Tensor x = from_vector(std::vector<double>{0.5, 0.25}).requires_grad_();
  Tensor y = to_dtype(x, DType::Float32);
  CHECK(y.dtype() == DType::Float32);
  backward(sum(y * 3.0));
  CHECK(x.grad().dtype() == DType::Float64);
  CHECK_CLOSE(x.grad(), from_vector(std::vector<double>{3, 3}));
}

// A node that passes its gradient through unchanged, and one that blocks it (returns none): with
// them, a node can be left without any gradient while the nodes after it still expect one.
namespace {
struct PassNode : Node {
  std::string name() const override { return "PassBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {g[0]}; }
};
struct BlockNode : Node {
  std::string name() const override { return "BlockBackward"; }
  std::vector<Tensor> apply(std::vector<Tensor>&&) override { return {Tensor()}; }
};
template <typename NodeT>
Tensor through(const Tensor& x) {
  Tensor out = clone(x.detach());
  record<NodeT>({&x}, {&out});
  return out;
}
}  // namespace

TEST_CASE("a node that no gradient reaches still lets the nodes after it run") {
  // x -> Pass -> Block -> (sum)      and      x * 2 -> (sum)
  // Block sends nothing back, so Pass gets no gradient at all; x's sink must still run with the
  // gradient of the x * 2 path once Pass counts as done.
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor blocked = through<BlockNode>(through<PassNode>(x));
  backward(sum(blocked + x * 2.0));
  REQUIRE(x.grad().defined());
  CHECK_CLOSE(x.grad(), vec({2, 2}));
}
