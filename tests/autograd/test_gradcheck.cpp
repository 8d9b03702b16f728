// Float64 central-difference gradchecks for every differentiable op, on random shapes with
// broadcasting and on non-contiguous (transposed) leaves.
#include "autograd/gradcheck.h"

#include "../test_util.h"

using namespace ember;
using namespace ember::test;
using Inputs = std::vector<Tensor>;

TEST_CASE("gradcheck: binary ops with broadcasting and non-contiguous inputs") {
  manual_seed(1);
  CHECK_GRADS([](const Inputs& x) { return add(x[0], x[1]); }, leaf({3, 4}), leaf({4}));
  CHECK_GRADS([](const Inputs& x) { return sub(x[0], x[1]); }, leaf({2, 3, 1}), strided_leaf({3, 4}));
  CHECK_GRADS([](const Inputs& x) { return mul(x[0], x[1]); }, strided_leaf({3, 4}), leaf({3, 1}));
  CHECK_GRADS([](const Inputs& x) { return div(x[0], x[1]); }, leaf({2, 3}), leaf({2, 3}, 4));
  CHECK_GRADS([](const Inputs& x) { return pow(x[0], x[1]); }, leaf({2, 3}, 4), leaf({3}));
  CHECK_GRADS([](const Inputs& x) { return (2.0 - x[0]) * 3.0 / x[1] + 1.0; }, leaf({4}), leaf({1}, 3));
}

TEST_CASE("gradcheck: unary ops") {
  manual_seed(2);
  auto check_unary = [](Tensor (*op)(const Tensor&), Tensor x) {
    CHECK_GRADS([op](const Inputs& v) { return op(v[0]); }, x);
  };
  check_unary(neg, strided_leaf({3, 4}));
  check_unary(exp, strided_leaf({3, 4}));
  check_unary(log, leaf({3, 4}, 5));
  check_unary(sqrt, leaf({3, 4}, 5));
  check_unary(square, strided_leaf({2, 5}));
  check_unary(sigmoid, strided_leaf({3, 4}));
  check_unary(tanh, leaf({3, 4}));
  // abs, relu and clamp have kinks: keep the points away from them
  check_unary(abs, from_vector(std::vector<double>{-2, -0.5, 0.7, 3}).requires_grad_());
  check_unary(relu, from_vector(std::vector<double>{-2, -0.5, 0.7, 3, 0.01, -0.01}).requires_grad_());
  CHECK_GRADS([](const Inputs& v) { return clamp(v[0], -0.5, 0.5); },
              from_vector(std::vector<double>{-2, -0.4, 0.3, 0.45, 3, 0.7}).requires_grad_());
  CHECK_GRADS([](const Inputs& v) { return pow(v[0], 2.5); }, leaf({3, 2}, 4));
  CHECK_GRADS([](const Inputs& v) { return pow(v[0], -1.0); }, leaf({3, 2}, 4));
}

TEST_CASE("gradcheck: where routes gradients to the chosen side") {
  manual_seed(3);
  CHECK_GRADS([](const Inputs& v) { return where(gt(v[0], scalar_tensor(0.0, DType::Float64)), v[0], v[1]); },
              leaf({3, 4}), leaf({4}));
}

TEST_CASE("gradcheck: reductions") {
  manual_seed(4);
  CHECK_GRADS([](const Inputs& v) { return sum(v[0]); }, strided_leaf({3, 4}));
  CHECK_GRADS([](const Inputs& v) { return sum(v[0], {0, 2}); }, leaf({2, 3, 4}));
  CHECK_GRADS([](const Inputs& v) { return sum(v[0], {-1}, true); }, strided_leaf({2, 3, 4}));
  CHECK_GRADS([](const Inputs& v) { return mean(v[0], {1}); }, strided_leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return mean(v[0]); }, leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return amax(v[0], {1}); }, leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return amin(v[0], {0, 1}, true); }, strided_leaf({4, 3}));
  CHECK_GRADS([](const Inputs& v) { return max(v[0]); }, leaf({2, 3}));
  CHECK_GRADS([](const Inputs& v) { return max(v[0], 1).first; }, strided_leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return min(v[0], 0, true).first; }, leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return var(v[0], {1}); }, strided_leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return var(v[0], {0, 1}, 0); }, leaf({3, 5}));
  CHECK_GRADS([](const Inputs& v) { return stddev(v[0], {0}, 0, true); }, leaf({4, 3}));
  CHECK_GRADS([](const Inputs& v) { return logsumexp(v[0], {1}); }, strided_leaf({3, 6}));
  CHECK_GRADS([](const Inputs& v) { return softmax(v[0], 1); }, strided_leaf({3, 6}));
  CHECK_GRADS([](const Inputs& v) { return softmax(v[0], 0); }, leaf({3, 6}));
  CHECK_GRADS([](const Inputs& v) { return log_softmax(v[0], -1); }, leaf({2, 3, 6}));
  CHECK_GRADS([](const Inputs& v) { return log_softmax(v[0], 1); }, strided_leaf({2, 4, 3}));
}

TEST_CASE("gradcheck: matmul in all its shapes, bmm and einsum") {
  manual_seed(5);
  auto mm = [](const Inputs& v) { return matmul(v[0], v[1]); };
  CHECK_GRADS(mm, leaf({3, 4}), leaf({4, 5}));
  CHECK_GRADS(mm, strided_leaf({3, 4}), strided_leaf({4, 5}));
  CHECK_GRADS(mm, leaf({2, 3, 4}), leaf({4, 5}));
  CHECK_GRADS(mm, leaf({2, 1, 3, 4}), strided_leaf({3, 4, 2}));
  CHECK_GRADS(mm, leaf({4}), leaf({4, 5}));
  CHECK_GRADS(mm, leaf({3, 4}), leaf({4}));
  CHECK_GRADS(mm, leaf({4}), leaf({4}));
  CHECK_GRADS([](const Inputs& v) { return bmm(v[0], v[1]); }, leaf({1, 3, 4}), leaf({2, 4, 2}));
  CHECK_GRADS([](const Inputs& v) { return einsum("cb,abij->acij", v); }, leaf({2, 3}), leaf({2, 3, 4, 4}));
  CHECK_GRADS([](const Inputs& v) { return einsum("ij,jk->ik", v); }, strided_leaf({3, 4}), leaf({4, 2}));
  CHECK_GRADS([](const Inputs& v) { return einsum("bij,bjk->bik", v); }, leaf({2, 3, 4}), leaf({2, 4, 2}));
  CHECK_GRADS([](const Inputs& v) { return einsum("ijk->ki", v); }, leaf({2, 3, 4}));
  CHECK_GRADS([](const Inputs& v) { return einsum("i,j->ij", v); }, leaf({3}), leaf({4}));
}

TEST_CASE("gradcheck: views and copies") {
  manual_seed(6);
  CHECK_GRADS([](const Inputs& v) { return reshape(v[0], {4, -1}); }, strided_leaf({2, 3, 4}));
  CHECK_GRADS([](const Inputs& v) { return flatten(v[0], 1); }, leaf({2, 3, 4}));
  CHECK_GRADS([](const Inputs& v) { return permute(v[0], {2, 0, 1}) * 2.0; }, leaf({2, 3, 4}));
  CHECK_GRADS([](const Inputs& v) { return transpose(v[0], 0, 1) * 2.0; }, strided_leaf({3, 4}));
  CHECK_GRADS([](const Inputs& v) { return slice(v[0], 1, 1, 6, 2) * 3.0; }, leaf({3, 7}));
  CHECK_GRADS([](const Inputs& v) { return slice(v[0], 0, -2, 100) * 3.0; }, strided_leaf({4, 3}));
  CHECK_GRADS([](const Inputs& v) { return select(v[0], 1, -1) * 3.0; }, leaf({3, 4}));
  CHECK_GRADS([](const Inputs& v) { return expand(v[0], {2, 3, 4}) * 2.0; }, leaf({3, 1}));
  CHECK_GRADS([](const Inputs& v) { return unsqueeze(squeeze(v[0]), 0) * 2.0; }, leaf({3, 1, 4}));
  CHECK_GRADS([](const Inputs& v) { return contiguous(v[0]) * 2.0; }, strided_leaf({3, 4}));
  CHECK_GRADS([](const Inputs& v) { return clone(v[0]) * 2.0; }, leaf({3, 4}));
  CHECK_GRADS([](const Inputs& v) { return cat({v[0], v[1] * 2.0}, 1); }, leaf({2, 3}), strided_leaf({2, 4}));
  CHECK_GRADS([](const Inputs& v) { return stack({v[0], v[1]}, 2); }, leaf({2, 3}), strided_leaf({2, 3}));
  // more than two inputs: the node's edge list outgrows its inline slots
  CHECK_GRADS(
      [](const Inputs& v) {
        return cat({v[0], v[1], v[2] * 2.0, v[0]}, 0);
      },
      leaf({1, 3}), leaf({2, 3}), strided_leaf({3, 3}));
  Tensor index = from_vector(std::vector<int64_t>{4, 0, 4, 2});
  CHECK_GRADS([index](const Inputs& v) { return index_select(v[0], 0, index); }, leaf({5, 3}));
  Tensor gather_index = from_vector(std::vector<int64_t>{0, 4, 4, 1, 2, 2, 3, 0}, {2, 4});
  CHECK_GRADS([gather_index](const Inputs& v) { return gather(v[0], 1, gather_index); }, strided_leaf({2, 5}));
}

TEST_CASE("gradcheck: a small network, end to end") {
  manual_seed(7);
  CHECK_GRADS([](const Inputs& v) { return mean(log_softmax(matmul(relu(matmul(v[0], v[1])), v[2]), 1)); },
              leaf({4, 3}), leaf({3, 5}), leaf({5, 2}));
}

TEST_CASE("gradcheck itself catches a wrong backward formula") {
  // A function whose graph computes x*x but whose gradient we deliberately break by detaching
  // one factor: the analytical gradient is then x instead of 2x.
  Tensor x = from_vector(std::vector<double>{1.5, -2.0}).requires_grad_();
  auto result = gradcheck([](const Inputs& v) { return mul(v[0], v[0].detach()); }, {x});
  CHECK_FALSE(result.ok);
  CHECK(result.message.find("input 0") != std::string::npos);
}
