// Every loss of nn/losses.h on the GPU against the CPU kernels: the loss, and the gradient of
// every float input for one random upstream gradient, in float32 and float64, for each reduction,
// with contiguous, transposed, strided and broadcast inputs, ignored targets, the (C) and
// (N,C,d1..) layouts, wide rows (C > 32, so a warp loops) and many rows (several blocks). Bad
// targets must raise the CPU's error on the GPU too.
#include <doctest/doctest.h>

#include "cuda_test_util.h"
#include "nn/losses.h"

using namespace ember;
using namespace ember::test;
using nn::Reduction;

namespace {

using Inputs = std::vector<Tensor>;

struct LossCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(const Inputs&)> loss;
  double atol = 1e-5, rtol = 1e-4;
};

constexpr Layout C = Layout::Contiguous, T = Layout::Transposed, S = Layout::Strided, B = Layout::Broadcast;
constexpr Reduction kReductions[] = {Reduction::Mean, Reduction::Sum, Reduction::None};

// Class targets in 0..classes-1 with every `ignore_every`-th one set to ignore_index (0: none).
Tensor class_targets(const Shape& shape, int64_t classes, uint64_t seed, int ignore_every = 0,
                     int64_t ignore_index = -100) {
  Generator g{seed, 0};
  std::vector<int64_t> values = to_vector<int64_t>(randint(0, classes, shape, DType::Int64, Device::cpu(), &g));
  for (size_t i = 0; ignore_every > 0 && i < values.size(); i += ignore_every) values[i] = ignore_index;
  return from_vector(values, shape);
}

std::vector<LossCase> all_cases() {
  std::vector<LossCase> cases;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const std::string d = dtype == DType::Float32 ? "f32" : "f64";
    for (Reduction r : kReductions) {
      const std::string rn = std::string("/") + nn::reduction_name(r) + "/" + d;
      // mse and bce: both operands differentiable, in several layouts
      for (Layout layout : {C, T, S, B}) {
        const std::string ln = "/layout" + std::to_string(static_cast<int>(layout));
        cases.push_back({"mse" + rn + ln, {{{37, 65}, dtype, layout}, {{37, 65}, dtype}}, [r](const Inputs& x) {
                           return nn::mse_loss(x[0], x[1], r);
                         }});
        cases.push_back({"bce" + rn + ln,
                         {{{37, 65}, dtype, layout}, {{37, 65}, dtype, C, InputSpec::Positive}},
                         [r](const Inputs& x) { return nn::binary_cross_entropy_with_logits(x[0], x[1], r); }});
      }
      cases.push_back({"bce_pos_weight" + rn,
                       {{{33, 7}, dtype, T}, {{33, 7}, dtype, C, InputSpec::Positive}},
                       [r](const Inputs& x) {
                         Tensor p = to(from_vector(std::vector<double>{0.5, 1, 2, 3, 0.25, 1.5, 4}, Shape{7}),
                                       x[0].device(), x[0].dtype());
                         return nn::binary_cross_entropy_with_logits(x[0], x[1], r, p);
                       }});
      // cross entropy and nll: (N,C) in several layouts and widths, ignored rows, other shapes
      struct Rows {
        const char* name;
        Shape shape;
        Layout layout;
        int ignore_every;
      };
      for (const Rows& rows : {Rows{"small", {8, 5}, C, 0}, Rows{"wide", {19, 100}, T, 3},
                               Rows{"many", {1000, 10}, S, 7}, Rows{"huge_class", {3, 2500}, C, 0}}) {
        Tensor target = class_targets(Shape{rows.shape[0]}, rows.shape[1], rows.shape[0], rows.ignore_every);
        cases.push_back(
            {std::string("ce/") + rows.name + rn, {{rows.shape, dtype, rows.layout}}, [r, target](const Inputs& x) {
               return nn::cross_entropy(x[0], to(target, x[0].device()), r);
             }});
        cases.push_back({std::string("nll/") + rows.name + rn,
                         {{rows.shape, dtype, rows.layout}},
                         [r, target](const Inputs& x) { return nn::nll_loss(x[0], to(target, x[0].device()), r); }});
      }
      Tensor spatial = class_targets(Shape{2, 3, 4}, 6, 99, 5);
      cases.push_back({"ce/spatial" + rn, {{{2, 6, 3, 4}, dtype}}, [r, spatial](const Inputs& x) {
                         return nn::cross_entropy(x[0], to(spatial, x[0].device()), r);
                       }});
      cases.push_back({"nll/spatial" + rn, {{{2, 6, 3, 4}, dtype}}, [r, spatial](const Inputs& x) {
                         return nn::nll_loss(x[0], to(spatial, x[0].device()), r);
                       }});
      Tensor custom = class_targets(Shape{40}, 4, 7);  // ignore_index 1: a class that does occur
      cases.push_back({"ce/ignore_index_1" + rn, {{{40, 4}, dtype}}, [r, custom](const Inputs& x) {
                         return nn::cross_entropy(x[0], to(custom, x[0].device()), r, 1);
                       }});
      cases.push_back({"ce/one_sample" + rn, {{{9}, dtype}}, [r](const Inputs& x) {
                         return nn::cross_entropy(x[0], to(scalar_tensor(3, DType::Int64), x[0].device()), r);
                       }});
    }
  }
  // logits of +-1000: finite on both devices
  cases.push_back({"ce/large_logits", {{{6, 3}, DType::Float32}}, [](const Inputs& x) {
                     Tensor target = to(from_vector(std::vector<int64_t>{0, 1, 2, 0, 1, 2}, Shape{6}), x[0].device());
                     return nn::cross_entropy(x[0] * 1000.0, target, Reduction::None);
                   }});
  cases.push_back({"bce/large_logits",
                   {{{6, 3}, DType::Float32}, {{6, 3}, DType::Float32, C, InputSpec::Positive}},
                   [](const Inputs& x) {
                     return nn::binary_cross_entropy_with_logits(x[0] * 1000.0, x[1] * 0.4, Reduction::None);
                   }});
  return cases;
}

void check_case(const LossCase& c, Device device, uint64_t seed) {
  CAPTURE(c.name);
  InputPair in = make_inputs(c.inputs, device, seed);
  Tensor expected = c.loss(in.cpu);
  Tensor actual = c.loss(in.device);
  REQUIRE(actual.device() == device);
  CHECK(actual.dtype() == expected.dtype());
  CHECK_CLOSE(to_cpu(actual), expected, c.atol, c.rtol);
  REQUIRE(expected.requires_grad());
  Generator g{seed ^ 0x5eed, 0};
  Tensor upstream = normal(expected.shape(), 0, 1, expected.dtype(), Device::cpu(), &g);
  backward(expected, upstream);
  backward(actual, to(upstream, device));
  for (size_t k = 0; k < in.cpu.size(); ++k) {
    CAPTURE(k);
    REQUIRE(in.cpu[k].grad().defined());
    REQUIRE(in.device[k].grad().defined());
    CHECK(in.device[k].grad().device() == device);
    CHECK_CLOSE(to_cpu(in.device[k].grad()), in.cpu[k].grad(), c.atol, c.rtol);
  }
}

}  // namespace

TEST_CASE("every loss gives the CPU's result on the GPU, forward and backward") {
  const Device gpu = test_device();
  std::vector<LossCase> cases = all_cases();
  CHECK(cases.size() > 100);
  uint64_t seed = 1000;
  for (const LossCase& c : cases) check_case(c, gpu, seed++);
}

TEST_CASE("every loss raises the CPU's error for a bad target on the GPU") {
  const Device gpu = test_device();
  Tensor logits = to(randn({4, 5}), gpu);
  Tensor target = to(from_vector(std::vector<int64_t>{0, 4, 7, -3}, Shape{4}), gpu);
  const std::string expected =
      "target 7 at position 2 is out of range for 5 classes (expected 0..4 or ignore_index -100)";
  check_throws([&] { nn::cross_entropy(logits, target); }, {"cross_entropy: " + expected});
  check_throws([&] { nn::nll_loss(logits, target, Reduction::None); }, {"nll_loss: " + expected});
  Tensor negative = to(from_vector(std::vector<int64_t>{0, -1, -100, 1}, Shape{4}), gpu);
  check_throws([&] { nn::cross_entropy(logits, negative); }, {"target -1 at position 1"});
  // the device is usable afterwards: a good call works
  Tensor good = to(from_vector(std::vector<int64_t>{0, 4, -100, 1}, Shape{4}), gpu);
  CHECK_CLOSE(to_cpu(nn::cross_entropy(logits, good)), nn::cross_entropy(to_cpu(logits), to_cpu(good)), 1e-5, 1e-5);
}
