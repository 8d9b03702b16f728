// Losses (nn/losses.h): float64 gradchecks for every loss and reduction (non-contiguous inputs,
// ignore_index, the (C) and (N,C,d1..) layouts), the golden comparison with PyTorch
// (tests/data/golden_losses.safetensors from tests/golden/make_loss_fixtures.py), the errors, and
// numerical stability at logits of +-1000. Expected values come from PyTorch, from hand-computed
// numbers, or from independent loops in this file, never from the code under test.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "../test_util.h"
#include "autograd/gradcheck.h"
#include "nn/losses.h"

using namespace ember;
using namespace ember::test;
using nn::Reduction;

namespace {

constexpr Reduction kReductions[] = {Reduction::Mean, Reduction::Sum, Reduction::None};

Tensor int64s(const std::vector<int64_t>& values, const Shape& shape) { return from_vector(values, shape); }
Tensor int64s(const std::vector<int64_t>& values) { return int64s(values, Shape{static_cast<int64_t>(values.size())}); }

// Runs gradcheck on `f` and reports its message (the CHECK_GRADS of test_util.h, with a name).
void check_gradients(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                     const std::vector<Tensor>& inputs) {
  CAPTURE(what);
  GradcheckResult result = gradcheck(f, inputs);
  CHECK_MESSAGE(result.ok, result.message);
}

// The cross-entropy of one row by a direct loop in long double: log(sum exp(x)) - x[t].
double reference_cross_entropy(const std::vector<double>& row, int64_t t) {
  long double m = row[0];
  for (double v : row) m = std::max<long double>(m, v);
  long double sum = 0;
  for (double v : row) sum += std::exp(static_cast<long double>(v) - m);
  return static_cast<double>(m + std::log(sum) - row[t]);
}

}  // namespace

// ==== gradcheck (float64) ============================================================================

TEST_CASE("gradcheck: mse_loss for every reduction, w.r.t. input and target, contiguous or not") {
  manual_seed(11);
  for (Reduction r : kReductions) {
    auto f = [r](const std::vector<Tensor>& x) { return nn::mse_loss(x[0], x[1], r); };
    check_gradients(std::string("mse ") + nn::reduction_name(r), f, {leaf({3, 4}), leaf({3, 4})});
    check_gradients(std::string("mse transposed ") + nn::reduction_name(r), f, {strided_leaf({4, 3}), leaf({4, 3})});
    check_gradients(std::string("mse 0-d ") + nn::reduction_name(r), f, {leaf({}), leaf({})});
  }
  // only the input requires grad: the target's gradient is skipped
  Tensor target = randn({5}, DType::Float64);
  check_gradients("mse input only", [&](const std::vector<Tensor>& x) { return nn::mse_loss(x[0], target); },
                  {leaf({5})});
}

TEST_CASE("gradcheck: binary_cross_entropy_with_logits, with and without pos_weight") {
  manual_seed(12);
  Tensor pos_weight = from_vector(std::vector<double>{0.5, 2.0, 3.0}, Shape{3});
  for (Reduction r : kReductions) {
    const std::string rn = nn::reduction_name(r);
    auto f = [r](const std::vector<Tensor>& x) { return nn::binary_cross_entropy_with_logits(x[0], x[1], r); };
    check_gradients("bce " + rn, f, {leaf({4, 3}), leaf({4, 3}, 0.5)});
    check_gradients("bce transposed " + rn, f, {strided_leaf({4, 3}), strided_leaf({4, 3}, 0.5)});
    check_gradients("bce pos_weight " + rn,
                    [&, r](const std::vector<Tensor>& x) {
                      return nn::binary_cross_entropy_with_logits(x[0], x[1], r, pos_weight);
                    },
                    {strided_leaf({4, 3}), leaf({4, 3}, 0.5)});
  }
}

TEST_CASE("gradcheck: cross_entropy and nll_loss for every reduction, layout and ignore_index") {
  manual_seed(13);
  Tensor target = int64s({0, 4, 2, 2, 1, 3});
  Tensor with_ignored = int64s({0, -100, 2, -100, 1, 3});
  Tensor ignore_2 = int64s({2, 4, 2, 0, 1, 2});
  Tensor spatial = int64s({0, 3, 1, 2, 3, 0, 0, 1, 2, 2, 3, 1}, Shape{2, 2, 3});
  Tensor spatial_ignored = int64s({0, -100, 1, 2, 3, 0, 0, 1, -100, 2, 3, 1}, Shape{2, 2, 3});
  for (bool from_logits : {true, false}) {
    auto loss = [from_logits](const Tensor& x, const Tensor& t, Reduction r, int64_t ignore = -100) {
      return from_logits ? nn::cross_entropy(x, t, r, ignore) : nn::nll_loss(x, t, r, ignore);
    };
    for (Reduction r : kReductions) {
      const std::string name = std::string(from_logits ? "ce " : "nll ") + nn::reduction_name(r);
      check_gradients(name, [&](const std::vector<Tensor>& x) { return loss(x[0], target, r); }, {leaf({6, 5})});
      check_gradients(name + " transposed", [&](const std::vector<Tensor>& x) { return loss(x[0], target, r); },
                      {strided_leaf({6, 5})});
      check_gradients(name + " ignored", [&](const std::vector<Tensor>& x) { return loss(x[0], with_ignored, r); },
                      {strided_leaf({6, 5})});
      check_gradients(name + " ignore_index 2",
                      [&](const std::vector<Tensor>& x) { return loss(x[0], ignore_2, r, 2); }, {leaf({6, 5})});
      check_gradients(name + " (C) with a 0-d target",
                      [&](const std::vector<Tensor>& x) { return loss(x[0], scalar_tensor(3, DType::Int64), r); },
                      {leaf({5})});
      check_gradients(name + " (N,C,d1,d2)", [&](const std::vector<Tensor>& x) { return loss(x[0], spatial, r); },
                      {leaf({2, 4, 2, 3})});
      check_gradients(name + " (N,C,d1,d2) non-contiguous, ignored",
                      [&](const std::vector<Tensor>& x) { return loss(x[0], spatial_ignored, r); },
                      {permute(leaf({2, 3, 4, 2}), {0, 2, 3, 1}).detach().requires_grad_()});
    }
  }
}

// ==== golden comparison with PyTorch =================================================================

namespace {

using Inputs = std::vector<Tensor>;
using LossFn = std::function<Tensor(const Inputs&)>;

const SafetensorsFile& loss_fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_losses.safetensors");
  return file;
}

// One entry per case of make_loss_fixtures.py: the same call with Ember's API. Inputs are the
// case's in0, in1, ... (float inputs first, then targets and pos_weight).
const std::map<std::string, LossFn>& golden_losses() {
  using nn::binary_cross_entropy_with_logits, nn::cross_entropy, nn::mse_loss, nn::nll_loss;
  static const std::map<std::string, LossFn> losses = {
      {"mse_mean", [](const Inputs& x) { return mse_loss(x[0], x[1]); }},
      {"mse_sum", [](const Inputs& x) { return mse_loss(x[0], x[1], Reduction::Sum); }},
      {"mse_none", [](const Inputs& x) { return mse_loss(x[0], x[1], Reduction::None); }},
      {"mse_mean_f64", [](const Inputs& x) { return nn::MSELoss{}(x[0], x[1]); }},
      {"ce_mean", [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
      {"ce_sum", [](const Inputs& x) { return cross_entropy(x[0], x[1], Reduction::Sum); }},
      {"ce_none", [](const Inputs& x) { return cross_entropy(x[0], x[1], Reduction::None); }},
      {"ce_ignore_mean", [](const Inputs& x) { return nn::CrossEntropyLoss{}(x[0], x[1]); }},
      {"ce_ignore_none", [](const Inputs& x) { return cross_entropy(x[0], x[1], Reduction::None); }},
      {"ce_ignore_index_2",
       [](const Inputs& x) {
         return nn::CrossEntropyLoss{.reduction = Reduction::Mean, .ignore_index = 2}(x[0], x[1]);
       }},
      {"ce_one_sample", [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
      {"ce_spatial_mean", [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
      {"ce_spatial_none", [](const Inputs& x) { return cross_entropy(x[0], x[1], Reduction::None); }},
      {"ce_large_logits", [](const Inputs& x) { return cross_entropy(x[0], x[1], Reduction::None); }},
      {"ce_mean_f64", [](const Inputs& x) { return cross_entropy(x[0], x[1]); }},
      {"nll_mean", [](const Inputs& x) { return nll_loss(x[0], x[1]); }},
      {"nll_sum", [](const Inputs& x) { return nn::NLLLoss{.reduction = Reduction::Sum}(x[0], x[1]); }},
      {"nll_none", [](const Inputs& x) { return nll_loss(x[0], x[1], Reduction::None); }},
      {"nll_ignore_mean", [](const Inputs& x) { return nll_loss(x[0], x[1]); }},
      {"nll_spatial_mean", [](const Inputs& x) { return nll_loss(x[0], x[1]); }},
      {"bce_mean", [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1]); }},
      {"bce_sum", [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], Reduction::Sum); }},
      {"bce_none", [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], Reduction::None); }},
      {"bce_pos_weight", [](const Inputs& x) { return nn::BCEWithLogitsLoss{.pos_weight = x[2]}(x[0], x[1]); }},
      {"bce_large_logits",
       [](const Inputs& x) { return binary_cross_entropy_with_logits(x[0], x[1], Reduction::None); }},
      {"bce_mean_f64", [](const Inputs& x) { return nn::BCEWithLogitsLoss{}(x[0], x[1]); }},
  };
  return losses;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

TEST_CASE("golden: every loss case of the fixture file is known and vice versa") {
  std::set<std::string> in_file, known;
  for (const auto& name : split_commas(loss_fixtures().metadata.at("cases"))) in_file.insert(name);
  for (const auto& [name, fn] : golden_losses()) known.insert(name);
  CHECK(in_file == known);
  CHECK(in_file.size() == 26);
}

TEST_CASE("golden: losses and gradients match PyTorch") {
  const auto& tensors = loss_fixtures().tensors;
  for (const auto& [name, fn] : golden_losses()) {
    CAPTURE(name);
    Inputs inputs;
    for (int k = 0; tensors.count(name + "/in" + std::to_string(k)); ++k) {
      Tensor t = clone(tensors.at(name + "/in" + std::to_string(k)));
      if (tensors.count(name + "/grad" + std::to_string(k))) t.requires_grad_();
      inputs.push_back(t);
    }
    REQUIRE(!inputs.empty());
    const bool f64 = inputs[0].dtype() == DType::Float64;
    const double atol = f64 ? 1e-12 : 1e-5, rtol = f64 ? 1e-10 : 1e-5;
    Tensor out = fn(inputs);
    CHECK_CLOSE(out, tensors.at(name + "/out"), atol, rtol);
    backward(out, tensors.at(name + "/gout"));
    for (size_t k = 0; k < inputs.size(); ++k) {
      const std::string key = name + "/grad" + std::to_string(k);
      if (!tensors.count(key)) continue;
      CAPTURE(k);
      REQUIRE(inputs[k].grad().defined());
      CHECK_CLOSE(inputs[k].grad(), tensors.at(key), atol, rtol);
    }
  }
}

// ==== values against independent references ==========================================================

TEST_CASE("cross_entropy matches a direct loop; Mean divides by the samples that are not ignored") {
  manual_seed(21);
  Tensor logits = randn({7, 6}, DType::Float64) * 4.0;
  Tensor target = int64s({5, -100, 0, 3, -100, 1, 2});
  std::vector<double> x = to_vector<double>(logits);
  std::vector<int64_t> t = to_vector<int64_t>(target);
  double total = 0;
  int counted = 0;
  std::vector<double> per_sample(7, 0.0);
  for (int n = 0; n < 7; ++n) {
    if (t[n] == -100) continue;
    per_sample[n] = reference_cross_entropy(std::vector<double>(x.begin() + n * 6, x.begin() + n * 6 + 6), t[n]);
    total += per_sample[n];
    ++counted;
  }
  CHECK(counted == 5);
  CHECK(nn::cross_entropy(logits, target).item() == doctest::Approx(total / counted).epsilon(1e-12));
  CHECK(nn::cross_entropy(logits, target, Reduction::Sum).item() == doctest::Approx(total).epsilon(1e-12));
  CHECK_CLOSE(nn::cross_entropy(logits, target, Reduction::None), from_vector(per_sample, Shape{7}), 1e-12, 1e-12);
  // nll_loss of log_softmax is the same loss (an unfused path through other ops)
  CHECK(nn::nll_loss(log_softmax(logits, 1), target).item() == doctest::Approx(total / counted).epsilon(1e-12));
}

TEST_CASE("cross_entropy backward is g * (softmax - onehot), with zero rows for ignored samples") {
  Tensor logits = from_vector(std::vector<double>{1, 2, 3, 0, 0, 0}, Shape{2, 3}).requires_grad_();
  Tensor target = int64s({2, -100});
  Tensor loss = nn::cross_entropy(logits, target, Reduction::None);
  CHECK(loss.grad_fn()->name() == "CrossEntropyLossBackward0");
  backward(loss, from_vector(std::vector<double>{3.0, 5.0}, Shape{2}));
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  std::vector<double> expected = {3 * std::exp(1.0) / z, 3 * std::exp(2.0) / z, 3 * (std::exp(3.0) / z - 1), 0, 0, 0};
  CHECK_CLOSE(logits.grad(), from_vector(expected, Shape{2, 3}), 1e-14, 1e-12);
}

TEST_CASE("mse and bce values and gradients by hand; the grad_fn names follow PyTorch") {
  Tensor x = from_vector(std::vector<double>{1.0, -2.0, 0.5}, Shape{3}).requires_grad_();
  Tensor t = from_vector(std::vector<double>{0.0, 1.0, 0.5}, Shape{3}).requires_grad_();
  Tensor mse = nn::mse_loss(x, t);
  CHECK(mse.grad_fn()->name() == "MseLossBackward0");
  CHECK(mse.item() == doctest::Approx((1.0 + 9.0 + 0.0) / 3).epsilon(1e-15));
  backward(mse, scalar_tensor(2.0, DType::Float64));  // an upstream gradient other than 1
  CHECK_CLOSE(x.grad(), from_vector(std::vector<double>{4.0 / 3, -12.0 / 3, 0}, Shape{3}), 1e-15, 1e-14);
  CHECK_CLOSE(t.grad(), from_vector(std::vector<double>{-4.0 / 3, 12.0 / 3, 0}, Shape{3}), 1e-15, 1e-14);

  Tensor x2 = x.detach().requires_grad_();
  Tensor bce = nn::binary_cross_entropy_with_logits(x2, t.detach(), Reduction::Sum);
  CHECK(bce.grad_fn()->name() == "BinaryCrossEntropyWithLogitsBackward0");
  // -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), written out
  auto sigmoid_of = [](double v) { return 1 / (1 + std::exp(-v)); };
  double expected = 0;
  std::vector<double> xs = {1.0, -2.0, 0.5}, ts = {0.0, 1.0, 0.5}, grads;
  for (int i = 0; i < 3; ++i) {
    expected += -ts[i] * std::log(sigmoid_of(xs[i])) - (1 - ts[i]) * std::log(1 - sigmoid_of(xs[i]));
    grads.push_back(sigmoid_of(xs[i]) - ts[i]);
  }
  CHECK(bce.item() == doctest::Approx(expected).epsilon(1e-14));
  backward(bce);
  CHECK_CLOSE(x2.grad(), from_vector(grads, Shape{3}), 1e-15, 1e-13);
  Tensor nll = nn::nll_loss(reshape(x2.detach(), {1, 3}).requires_grad_(), int64s({1}));
  CHECK(nll.grad_fn()->name() == "NllLossBackward0");
  CHECK(nll.item() == 2.0);
}

TEST_CASE("mean over no samples: every target ignored gives NaN (as PyTorch) and zero gradients") {
  Tensor logits = randn({3, 4}, DType::Float64).requires_grad_();
  Tensor loss = nn::cross_entropy(logits, int64s({-100, -100, -100}));
  CHECK(std::isnan(loss.item()));
  backward(loss);
  CHECK(to_vector<double>(logits.grad()) == std::vector<double>(12, 0.0));
  Tensor empty_batch = zeros({0, 4}).requires_grad_();
  Tensor sum = nn::cross_entropy(empty_batch, zeros({0}, DType::Int64), Reduction::Sum);
  CHECK(sum.item() == 0.0);
  backward(sum);
  CHECK(empty_batch.grad().shape() == Shape{0, 4});
}

// ==== numerical stability ============================================================================

TEST_CASE("logits of +-1000 give finite, correct losses and gradients in float32") {
  Tensor logits = from_vector(std::vector<float>{1000, -1000, 0, -1000, -1000, 1000, 1000, 1000, -1000}, Shape{3, 3})
                      .requires_grad_();
  Tensor loss = nn::cross_entropy(logits, int64s({0, 1, 2}), Reduction::None);
  // row 0: target holds the max -> 0;  row 1: 1000 - (-1000) = 2000;  row 2: log(2 e^1000) + 1000
  std::vector<float> l = to_vector<float>(loss);
  CHECK(l[0] == 0.0f);
  CHECK(l[1] == 2000.0f);
  CHECK(l[2] == doctest::Approx(2000.0 + std::log(2.0)));
  backward(sum(loss));
  std::vector<float> expected_grad = {0, 0, 0, 0, -1, 1, 0.5f, 0.5f, -1};
  CHECK_CLOSE(logits.grad(), from_vector(expected_grad, Shape{3, 3}), 1e-6, 0);

  Tensor x = from_vector(std::vector<float>{1000, -1000, 1000, -1000}, Shape{4}).requires_grad_();
  Tensor t = from_vector(std::vector<float>{1, 0, 0, 1}, Shape{4});
  Tensor bce = nn::binary_cross_entropy_with_logits(x, t, Reduction::None);
  CHECK(to_vector<float>(bce) == std::vector<float>{0, 0, 1000, 1000});
  backward(sum(bce));
  CHECK(to_vector<float>(x.grad()) == std::vector<float>{0, 0, 1, -1});
  Tensor weighted =
      nn::binary_cross_entropy_with_logits(x.detach(), t, Reduction::None, from_vector(std::vector<float>{3.0f}));
  CHECK(to_vector<float>(weighted) == std::vector<float>{0, 0, 1000, 3000});
}

// ==== errors ==========================================================================================

TEST_CASE("bad targets name the value, the position and the valid range") {
  Tensor logits = randn({5, 5});
  check_throws(
      [&] {
        nn::cross_entropy(logits, int64s({0, 1, 2, 7, 9}));
      },
      {"cross_entropy: target 7 at position 3 is out of range for 5 classes (expected 0..4 or ignore_index "
       "-100)"});
  check_throws(
      [&] {
        nn::nll_loss(logits, int64s({0, -1, 2, 3, 4}), Reduction::Sum, 4);
      },
      {"nll_loss: target -1 at position 1 is out of range for 5 classes (expected 0..4 or ignore_index 4)"});
  check_throws([&] { nn::cross_entropy(randn({6}), scalar_tensor(6, DType::Int64)); },
               {"target 6 at position 0 is out of range for 6 classes"});
  check_throws(
      [&] {
        nn::cross_entropy(randn({2, 3, 2}), int64s({0, 1, 2, 5}, Shape{2, 2}));
      },
      {"target 5 at position [1, 1] is out of range for 3 classes"});
  // -100 is fine by default, but not once ignore_index is something else
  check_throws(
      [&] {
        nn::cross_entropy(logits, int64s({0, 1, 2, 3, -100}), Reduction::Mean, 0);
      },
      {"target -100 at position 4"});
}

TEST_CASE("shape and dtype mismatches name both shapes or dtypes") {
  check_throws(
      [] {
        nn::cross_entropy(randn({4, 5}), int64s({0, 1, 2}));
      },
      {"cross_entropy: target shape [3] does not fit logits shape [4, 5] (expected target shape [4])"});
  check_throws(
      [] {
        nn::cross_entropy(randn({4, 5}), zeros({4}));
      },
      {"cross_entropy: expected an int64 target of class indices, got float32"});
  check_throws(
      [] {
        nn::cross_entropy(zeros({4, 5}, DType::Int64), int64s({0, 1, 2, 3}));
      },
      {"cross_entropy: expected float logits, got int64"});
  check_throws([] { nn::nll_loss(scalar_tensor(1.0), scalar_tensor(0, DType::Int64)); },
               {"nll_loss: expected log_probs of shape (N,C), (C) or (N,C,d1,...), got []"});
  check_throws(
      [] {
        nn::mse_loss(randn({4, 1}), randn({4}));
      },
      {"mse_loss: target shape [4] must equal input shape [4, 1]"});
  check_throws(
      [] {
        nn::mse_loss(randn({4}), int64s({1, 2, 3, 4}));
      },
      {"mse_loss: expected float input and target of one dtype, got input float32 and target int64"});
  check_throws([] { nn::mse_loss(randn({4}), randn({4}, DType::Float64)); }, {"float32", "float64"});
  check_throws(
      [] {
        nn::binary_cross_entropy_with_logits(randn({3}), randn({3, 1}));
      },
      {"binary_cross_entropy_with_logits: target shape [3, 1] must equal input shape [3]"});
  check_throws(
      [] {
        nn::binary_cross_entropy_with_logits(randn({2, 3}), rand({2, 3}), Reduction::Mean, ones({2}));
      },
      {"pos_weight shape [2] does not broadcast to input shape [2, 3]"});
  Tensor trainable_weight = ones({3}).requires_grad_();
  check_throws(
      [&] {
        nn::binary_cross_entropy_with_logits(randn({2, 3}), rand({2, 3}), Reduction::Mean, trainable_weight);
      },
      {"pos_weight is not differentiated here"});
}

TEST_CASE("a target changed in place after the forward is caught by backward") {
  Tensor logits = randn({3, 4}).requires_grad_();
  Tensor target = int64s({0, 1, 2});
  Tensor loss = nn::cross_entropy(logits, target);
  fill_(target, 3.0);
  CHECK(error_of([&] { backward(loss); }).find("modified by an in-place") != std::string::npos);
}
