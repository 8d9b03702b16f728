// Optimisers and schedules (nn/optimizer.h, nn/sgd.h, nn/adam.h, nn/schedule.h).
//
// Golden trajectories: tests/golden/make_optim_fixtures.py ran torch.optim (SGD, Adam, AdamW) and a
// plain-Python transcription of fastai's Adam and one-cycle schedule for 10 steps with fixed grads,
// and stored every step's params. Here the same grads go into Ember's optimisers, so the
// comparison is of the optimiser alone. Then the errors, zero_grad, clear_state and skipping.
#include <doctest/doctest.h>

#include <functional>
#include <map>

#include "../test_util.h"
#include "nn/adam.h"
#include "nn/schedule.h"
#include "nn/sgd.h"
#include "tensor/io/safetensors.h"
#include "tensor/kernels.h"

namespace {

using namespace ember;
using namespace ember::test;

const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_optim.safetensors");
  return file;
}

Tensor fixture(const std::string& key) {
  auto it = fixtures().tensors.find(key);
  INFO("fixture key: ", key);
  REQUIRE(it != fixtures().tensors.end());
  return it->second;
}

// ---- golden trajectories -------------------------------------------------------------------------

const std::vector<std::string> kParamNames = {"p0", "p1", "p2"};  // p0, p1: group 0; p2: group 1

struct GoldenCase {
  std::string name;
  std::map<std::string, Tensor> params;  // fresh leaves holding the fixture's initial values

  explicit GoldenCase(std::string case_name) : name(std::move(case_name)) {
    for (const std::string& p : kParamNames) params[p] = clone(fixture(name + "/init/" + p)).detach().requires_grad_();
  }

  // Group 0 = {p0, p1} with the optimiser's defaults, group 1 = {p2} with `group1`'s overrides.
  std::vector<nn::ParamGroupOptions> groups(nn::ParamGroupOptions group1 = {}) const {
    group1.params = {params.at("p2")};
    return {{.params = {params.at("p0"), params.at("p1")}}, group1};
  }

  // Feeds each step's grads (none where the fixture says so), steps, and compares every param with
  // PyTorch's after every step. before_step(k) runs first (a schedule sets the hyper-parameters).
  void run(nn::Optimizer& optimizer, double atol, double rtol,
           const std::function<void(int64_t)>& before_step = nullptr) {
    const int64_t steps = std::stoll(fixtures().metadata.at("steps"));
    for (int64_t k = 0; k < steps; ++k) {
      if (before_step) before_step(k);
      for (const std::string& p : kParamNames) {
        const bool has_grad = to_vector<uint8_t>(fixture(name + "/has_grad/" + p))[k] != 0;
        params[p].set_grad(has_grad ? clone(select(fixture(name + "/grad/" + p), 0, k)) : Tensor());
      }
      optimizer.step();
      for (const std::string& p : kParamNames) {
        INFO(name, ": step ", k, ", param ", p);
        CHECK_CLOSE(params[p], select(fixture(name + "/traj/" + p), 0, k), atol, rtol);
      }
    }
  }
};

constexpr double kAtol64 = 1e-12, kRtol64 = 1e-10;  // float64: only rounding differs
constexpr double kAtol32 = 1e-6, kRtol32 = 1e-5;

TEST_CASE("SGD: 10 steps match torch.optim.SGD, two param groups") {
  SUBCASE("plain") {
    GoldenCase c("sgd_plain");
    nn::SGD opt(c.groups({.lr = 0.03}), {.lr = 0.1});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("momentum") {
    GoldenCase c("sgd_momentum");
    nn::SGD opt(c.groups({.lr = 0.03}), {.lr = 0.1, .momentum = 0.9});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("dampening (none on the first step)") {
    GoldenCase c("sgd_dampening");
    nn::SGD opt(c.groups({.lr = 0.03}), {.lr = 0.1, .momentum = 0.9, .dampening = 0.3});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("nesterov") {
    GoldenCase c("sgd_nesterov");
    nn::SGD opt(c.groups({.lr = 0.03}), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("weight decay; group 1 overrides momentum and weight decay") {
    GoldenCase c("sgd_weight_decay");
    nn::SGD opt(c.groups({.lr = 0.03, .momentum = 0.8, .weight_decay = 0.0}),
                {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.1});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("float32, nesterov") {
    GoldenCase c("sgd_float32");
    nn::SGD opt(c.groups({.lr = 0.03}), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    c.run(opt, kAtol32, kRtol32);
  }
}

TEST_CASE("Adam and AdamW: 10 steps match torch.optim, two param groups") {
  SUBCASE("Adam; p1 has no grad at steps 2 and 5, so it is skipped and its step count lags") {
    GoldenCase c("adam");
    nn::Adam opt(c.groups({.lr = 0.05}), {.lr = 0.01});
    c.run(opt, kAtol64, kRtol64);
    CHECK(opt.state(c.params["p1"]).step == 8);
    CHECK(opt.state(c.params["p0"]).step == 10);
  }
  SUBCASE("Adam with weight decay (L2); group 1 overrides both betas") {
    GoldenCase c("adam_weight_decay");
    nn::Adam opt(c.groups({.lr = 0.05, .momentum = 0.7, .beta2 = 0.95}),
                 {.lr = 0.01, .betas = {0.8, 0.9}, .weight_decay = 0.1});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("AdamW (decoupled weight decay)") {
    GoldenCase c("adamw");
    nn::AdamW opt(c.groups({.lr = 0.05}), {.lr = 0.01, .weight_decay = 0.1});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("AdamW's default weight decay is 0.01") {
    GoldenCase c("adamw_default_wd");
    nn::AdamW opt(c.groups({.lr = 0.05}), {.lr = 0.01});
    c.run(opt, kAtol64, kRtol64);
  }
  SUBCASE("Adam, float32") {
    GoldenCase c("adam_float32");
    nn::Adam opt(c.groups({.lr = 0.05}), {.lr = 0.01, .weight_decay = 0.1});
    c.run(opt, kAtol32, kRtol32);
  }
}

TEST_CASE("fastai's Adam under fit_one_cycle matches the Python transcription of fastai") {
  GoldenCase c("fastai_adam");
  nn::FastaiAdam opt(c.groups(), {});              // mom 0.9, sqr_mom 0.99, eps 1e-5, wd 0.01 decoupled
  opt.set_do_weight_decay(c.params["p1"], false);  // a bias: fastai's do_wd = False
  nn::OneCycleSchedule schedule(1, 10, {1e-2, 3e-2});
  c.run(opt, kAtol64, kRtol64, [&](int64_t k) { schedule.apply(opt, k); });
  CHECK(opt.param_groups()[1].lr == schedule.lr(9, 1));
  CHECK(opt.param_groups()[0].momentum == schedule.momentum(9));
}

// ---- schedules -----------------------------------------------------------------------------------

TEST_CASE("one-cycle lr and momentum match fastai's formulas (float32 pcts included)") {
  struct Config {
    std::string name;
    int64_t steps;
    nn::OneCycleOptions options;
  };
  const std::vector<Config> configs = {
      {"default", 10, {}},
      {"fine_tune_frozen", 30, {.pct_start = 0.99}},
      {"fine_tune_unfrozen", 37, {.div = 5.0, .pct_start = 0.3}},
      {"moms", 16, {.div_final = 1e4, .pct_start = 0.5, .moms = {0.9, 0.8, 0.85}}},
  };
  for (const Config& config : configs) {
    INFO("config ", config.name);
    const std::vector<double> lr_max = to_vector<double>(fixture("onecycle/" + config.name + "/lr_max"));
    const std::vector<double> lrs = to_vector<double>(fixture("onecycle/" + config.name + "/lr"));
    const std::vector<double> moms = to_vector<double>(fixture("onecycle/" + config.name + "/mom"));
    nn::OneCycleSchedule schedule(1, config.steps, lr_max, config.options);
    REQUIRE(schedule.total_steps() == config.steps);
    for (int64_t k = 0; k < config.steps; ++k) {
      INFO("step ", k);
      CHECK(schedule.momentum(k) == doctest::Approx(moms[k]).epsilon(1e-14));
      for (size_t g = 0; g < lr_max.size(); ++g)
        CHECK(schedule.lr(k, g) == doctest::Approx(lrs[k * lr_max.size() + g]).epsilon(1e-14));
    }
  }
}

TEST_CASE("the pct boundaries of combine_scheds are float32, as in fastai") {
  // pos = 0.3 as a double is below 0.3f (0.30000001...), but fastai compares float32(pos), which
  // equals 0.3f, so pos is already in the second schedule, at its start.
  nn::Schedule s = nn::combine_scheds({0.3, 0.7}, {[](double) { return 1.0; }, [](double p) { return 2.0 + p; }});
  CHECK(s(0.3) == 2.0);
  CHECK(s(0.0) == 1.0);
  CHECK(s(0.65) == doctest::Approx(2.5).epsilon(1e-6));
  CHECK(nn::sched_cos(1.0, 3.0, 0.0) == 1.0);
  CHECK(nn::sched_cos(1.0, 3.0, 0.5) == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(nn::sched_cos(1.0, 3.0, 1.0) == 3.0);
  check_throws(
      [] {
        nn::combine_scheds({0.5, 0.4}, {[](double) { return 0.0; }, [](double) { return 0.0; }});
      },
      {"add up to"});
}

TEST_CASE("even_mults and fastai's slice expansion") {
  auto same = [](const std::vector<double>& actual, const std::string& key) {
    const std::vector<double> expected = to_vector<double>(fixture(key));
    INFO(key);
    REQUIRE(actual.size() == expected.size());
    for (size_t i = 0; i < actual.size(); ++i) CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-15));
  };
  same(nn::even_mults(1e-5, 1e-3, 3), "even_mults/1e-5_1e-3_3");
  same(nn::even_mults(1e-6, 1e-2, 5), "even_mults/1e-6_1e-2_5");
  same(nn::even_mults(1e-4, 1e-3, 1), "even_mults/1e-4_1e-3_1");
  same(nn::lr_slice(2e-3, 3), "lr_slice/2e-3_3");
  same(nn::lr_slice(1e-5, 1e-3, 3), "lr_slice/1e-5_1e-3_3");
  CHECK(nn::lr_slice(1e-3, 1) == std::vector<double>{1e-3});
  CHECK(nn::lr_slice(0.0, 1e-3, 2) == nn::lr_slice(1e-3, 2));  // fastai: `if v.start:`
}

TEST_CASE("OneCycleSchedule::apply sets every group's lr and momentum, and checks its input") {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({3}).requires_grad_();
  nn::SGD opt({{.params = {a}}, {.params = {b}}}, {.lr = 1, .momentum = 0.5});
  nn::OneCycleSchedule schedule(2, 5, {1e-3, 1e-2});
  schedule.apply(opt, 7);
  CHECK(opt.param_groups()[0].lr == schedule.lr(7, 0));
  CHECK(opt.param_groups()[1].lr == schedule.lr(7, 1));
  CHECK(opt.param_groups()[1].momentum == schedule.momentum(7));
  CHECK(schedule.lr(0, 1) == doctest::Approx(1e-2 / 25));  // starts at lr_max / div
  CHECK(schedule.momentum(0) == 0.95);
  check_throws([&] { schedule.apply(opt, 10); }, {"step 10", "outside the cycle of 10 steps"});
  nn::OneCycleSchedule three(1, 5, {1e-3, 1e-2, 1e-1});
  check_throws([&] { three.apply(opt, 0); }, {"3 values of lr_max", "2 param groups"});
  nn::OneCycleSchedule one(1, 5, {1e-3});  // one lr_max for every group
  one.apply(opt, 0);
  CHECK(opt.param_groups()[0].lr == opt.param_groups()[1].lr);
}

// ---- behaviour -----------------------------------------------------------------------------------

TEST_CASE("a step follows the grads of a real backward pass") {
  // loss = sum((w - t)^2): grad = 2 (w - t), so one SGD step gives w - lr * 2 (w - t).
  Tensor w = from_vector(std::vector<double>{1.0, -2.0, 3.0}, {3}).requires_grad_();
  Tensor t = from_vector(std::vector<double>{0.5, 0.5, 0.5}, {3});
  nn::SGD opt({w}, {.lr = 0.1});
  backward(sum(square(w - t)));
  const uint64_t version = w.version();
  opt.step();
  CHECK(w.version() > version);  // an in-place write, visible to autograd's saved-tensor check
  CHECK_CLOSE(w, from_vector(std::vector<double>{0.9, -1.5, 2.5}, {3}), 1e-15, 1e-15);
}

TEST_CASE("zero_grad: set_to_none (PyTorch 2's default) or zero in place (fastai)") {
  Tensor w = ones({2, 2}).requires_grad_(), b = ones({2}).requires_grad_();
  nn::SGD opt({w, b}, {.lr = 0.1});
  w.set_grad(full({2, 2}, 3.0));
  b.set_grad(full({2}, 4.0));
  SUBCASE("set to none") {
    opt.zero_grad();
    CHECK(!w.grad().defined());
    CHECK(!b.grad().defined());
  }
  SUBCASE("in place") {
    Tensor grad = w.grad();
    const uint64_t version = grad.version();
    opt.zero_grad(/*set_to_none=*/false);
    CHECK(w.grad().is_same(grad));  // the same tensor, now zero
    CHECK(grad.version() > version);
    CHECK(to_vector<float>(w.grad()) == std::vector<float>(4, 0.0f));
    CHECK(to_vector<float>(b.grad()) == std::vector<float>(2, 0.0f));
  }
  opt.zero_grad(false);  // no grads at all (or zero ones): nothing to do, no error
}

TEST_CASE("params without a grad are skipped, and their state does not advance") {
  Tensor w = ones({3}).requires_grad_(), frozen = ones({2}).requires_grad_();
  nn::Adam opt({w, frozen}, {.lr = 0.1});
  w.set_grad(ones({3}));
  opt.step();
  CHECK(to_vector<float>(frozen) == std::vector<float>{1, 1});
  CHECK(opt.state(frozen).step == 0);
  CHECK(!opt.state(frozen).exp_avg.defined());
  CHECK(opt.state(w).step == 1);
  // Adam's first step moves every element by lr (m / sqrt(v) = g / |g| after bias correction).
  CHECK_CLOSE(w, full({3}, 0.9), 1e-6, 1e-6);
}

TEST_CASE("clear_state forgets steps and buffers but keeps do_weight_decay") {
  Tensor w = full({4}, 2.0, DType::Float64).requires_grad_();
  nn::FastaiAdam opt({w}, {.lr = 0.01});
  opt.set_do_weight_decay(w, false);
  for (int k = 0; k < 3; ++k) {
    w.set_grad(full({4}, 0.5 + k, DType::Float64));
    opt.step();
  }
  REQUIRE(opt.state(w).step == 3);
  opt.clear_state();
  CHECK(opt.state(w).step == 0);
  CHECK(!opt.state(w).exp_avg.defined());
  CHECK(!opt.state(w).exp_avg_sq.defined());
  CHECK(opt.state(w).do_weight_decay == false);
  // The next step is a first step again: the same as a fresh optimiser's on a copy of w.
  Tensor copy = clone(w).detach().requires_grad_();
  nn::FastaiAdam fresh({copy}, {.lr = 0.01});
  fresh.set_do_weight_decay(copy, false);
  w.set_grad(full({4}, -1.0, DType::Float64));
  copy.set_grad(full({4}, -1.0, DType::Float64));
  opt.step();
  fresh.step();
  CHECK_CLOSE(w, copy, 0, 0);
}

TEST_CASE("do_weight_decay = false exempts a param from weight decay") {
  Tensor decayed = full({2}, 1.0, DType::Float64).requires_grad_();
  Tensor exempt = full({2}, 1.0, DType::Float64).requires_grad_();
  nn::SGD opt({decayed, exempt}, {.lr = 0.1, .weight_decay = 0.5});
  opt.set_do_weight_decay(exempt, false);
  decayed.set_grad(zeros({2}, DType::Float64));
  exempt.set_grad(zeros({2}, DType::Float64));
  opt.step();
  CHECK_CLOSE(decayed, full({2}, 1.0 - 0.1 * 0.5, DType::Float64), 1e-15, 1e-15);  // p -= lr wd p
  CHECK_CLOSE(exempt, full({2}, 1.0, DType::Float64), 0, 0);
}

TEST_CASE("add_param_group takes the defaults for unset fields") {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({2}).requires_grad_();
  nn::Adam opt({a}, {.lr = 0.02, .betas = {0.8, 0.9}});
  opt.add_param_group({.params = {b}, .lr = 0.5});
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.param_groups()[1].lr == 0.5);
  CHECK(opt.param_groups()[1].momentum == 0.8);
  CHECK(opt.param_groups()[1].beta2 == 0.9);
  CHECK(opt.param_groups()[1].eps == 1e-8);
  CHECK(opt.defaults().weight_decay == 0);
  nn::FastaiAdam fastai({zeros({1}).requires_grad_()});
  CHECK(fastai.param_groups()[0].momentum == 0.9);
  CHECK(fastai.param_groups()[0].beta2 == 0.99);
  CHECK(fastai.param_groups()[0].eps == 1e-5);
  CHECK(fastai.param_groups()[0].weight_decay == 0.01);
}

TEST_CASE("optimiser errors name the group, the param and the value") {
  Tensor w = zeros({2, 3}).requires_grad_(), b = zeros({3}).requires_grad_();
  check_throws([&] { nn::SGD({{.params = {w}}, {.params = {}}}, {.lr = 0.1}); }, {"SGD", "param group 1 is empty"});
  check_throws([&] { nn::SGD(std::vector<nn::ParamGroupOptions>{}, {.lr = 0.1}); }, {"empty list of param groups"});
  check_throws([&] { nn::SGD({w}, {.lr = 0.1, .nesterov = true}); },
               {"nesterov momentum requires a momentum > 0 and zero dampening"});
  check_throws([&] { nn::SGD({w}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}); },
               {"nesterov", "dampening"});
  check_throws([&] { nn::SGD({w}, {.lr = -0.1}); }, {"SGD: invalid learning rate -0.1 in param group 0"});
  check_throws(
      [&] {
        nn::SGD({{.params = {w}}, {.params = {b}, .lr = -1}}, {.lr = 0.1});
      },
      {"invalid learning rate -1 in param group 1"});
  check_throws([&] { nn::SGD({w}, {.lr = 0.1, .momentum = -0.5}); }, {"invalid momentum -0.5"});
  check_throws([&] { nn::Adam({w}, {.lr = -0.001}); }, {"Adam: invalid learning rate"});
  check_throws([&] { nn::Adam({w}, {.betas = {1.0, 0.999}}); }, {"Adam: invalid beta1", "0 <= beta1 < 1"});
  check_throws([&] { nn::AdamW({w}, {.eps = -1}); }, {"AdamW: invalid epsilon"});
  check_throws([&] { nn::FastaiAdam({w}, {.sqr_mom = 1.5}); }, {"fastai Adam: invalid beta2"});
  // a tensor listed twice, in one group or across groups
  check_throws(
      [&] {
        nn::SGD({w, b, w}, {.lr = 0.1});
      },
      {"param 2 of param group 0 is already param 0 of param group 0"});
  check_throws(
      [&] {
        nn::SGD({{.params = {w}}, {.params = {b, w}}}, {.lr = 0.1});
      },
      {"param 1 of param group 1 is already param 0 of param group 0"});
  // not a float leaf, not contiguous, undefined
  check_throws([&] { nn::SGD({zeros({2}, DType::Int64)}, {.lr = 0.1}); }, {"dtype int64", "float32 or float64"});
  check_throws([&] { nn::SGD({w * 2.0}, {.lr = 0.1}); }, {"param 0 of param group 0 is not a leaf"});
  check_throws([&] { nn::SGD({transpose(zeros({2, 3}), 0, 1).detach()}, {.lr = 0.1}); }, {"not contiguous"});
  check_throws([&] { nn::SGD({Tensor()}, {.lr = 0.1}); }, {"undefined"});
  // a grad that does not fit its param
  nn::SGD opt({w, b}, {.lr = 0.1});
  b.set_grad(zeros({4}));
  check_throws([&] { opt.step(); }, {"SGD: param 1 of param group 0", "[3]", "[4]"});
  b.set_grad(zeros({3}, DType::Float64));
  check_throws([&] { opt.step(); }, {"param 1 of param group 0", "float64"});
  b.set_grad(Tensor());
  // the group's params were changed behind the optimiser's back
  opt.param_groups()[0].params.push_back(zeros({1}).requires_grad_());
  check_throws([&] { opt.step(); }, {"param group 0 has 3 params but had 2", "add_param_group"});
  check_throws([&] { opt.state(zeros({5})); }, {"is not one of this optimiser's params"});
  check_throws([&] { opt.add_param_group({.params = {w}}); }, {"is already param 0 of param group 0"});
}

TEST_CASE("the step kernels check their lists") {
  Tensor p = zeros({3}), g = zeros({4});
  const Tensor* params[] = {&p};
  const Tensor* grads[] = {&g};
  const uint8_t flags[] = {1};
  check_throws([&] { kernels::sgd_step({.count = 1, .params = params, .grads = grads, .do_weight_decay = flags}); },
               {"sgd_step: grad 0 has shape [4] but its param has shape [3]"});
}

}  // namespace
