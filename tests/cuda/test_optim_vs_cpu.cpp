// Every optimiser of nn/ on the GPU against the CPU (cuda/optim.cu against tensor/cpu/optim.cpp):
// the same params and grads on both devices, several steps, params of odd sizes in two groups
// (empty, 1 element, one element more than a chunk, several chunks), float32 and float64 params in
// one group, and a group of more tensors than one launch takes. Every GPU allocation is poisoned,
// so a state buffer read before it is written (SGD's first step) would show up as NaN.
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include "cuda_test_util.h"
#include "nn/adam.h"
#include "nn/schedule.h"
#include "nn/sgd.h"

using namespace ember;
using namespace ember::test;

namespace {

using MakeOptimizer = std::function<std::unique_ptr<nn::Optimizer>(const std::vector<nn::ParamGroupOptions>&)>;

struct OptimCase {
  std::string name;
  MakeOptimizer make;
  bool one_cycle = false;  // drive lr and momentum with fit_one_cycle's schedule
};

std::vector<OptimCase> all_cases() {
  return {
      {"sgd", [](const auto& g) { return std::make_unique<nn::SGD>(g, nn::SgdOptions{.lr = 0.1}); }},
      {"sgd momentum dampening weight decay",
       [](const auto& g) {
         return std::make_unique<nn::SGD>(
             g, nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.2, .weight_decay = 0.01});
       }},
      {"sgd nesterov",
       [](const auto& g) {
         return std::make_unique<nn::SGD>(g, nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
       }},
      {"adam weight decay",
       [](const auto& g) { return std::make_unique<nn::Adam>(g, nn::AdamOptions{.lr = 0.01, .weight_decay = 0.1}); }},
      {"adamw", [](const auto& g) { return std::make_unique<nn::AdamW>(g, nn::AdamWOptions{.lr = 0.01}); }},
      {"fastai adam, one cycle",
       [](const auto& g) { return std::make_unique<nn::FastaiAdam>(g, nn::FastaiAdamOptions{.lr = 0.01}); }, true},
  };
}

// Param sizes: group 0 mixes float32 and float64 and holds an empty tensor between two others.
struct ParamSpec {
  Shape shape;
  DType dtype;
  int group;
};
const std::vector<ParamSpec> kParams = {
    {{1}, DType::Float32, 0},  {{37, 65}, DType::Float32, 0},  {{0}, DType::Float32, 0},    {{4097}, DType::Float32, 0},
    {{13}, DType::Float64, 0}, {{3, 5, 7}, DType::Float64, 0}, {{9001}, DType::Float32, 1}, {{1}, DType::Float32, 1},
};

// The same random values on the cpu and on the test device, in two tensors (also in the dry run).
std::pair<Tensor, Tensor> same_values(const Shape& shape, DType dtype, Generator& g) {
  Tensor cpu = normal(shape, 0, 1, dtype, Device::cpu(), &g);
  return {cpu, to(clone(cpu), test_device()).detach()};
}

void check_close(const Tensor& device, const Tensor& cpu, DType dtype, const std::string& what) {
  INFO(what);
  if (dtype == DType::Float64)
    CHECK_CLOSE(to(device, Device::cpu()), cpu, 1e-12, 1e-10);
  else
    CHECK_CLOSE(to(device, Device::cpu()), cpu, 1e-6, 1e-5);  // FMA contraction on the GPU
}

TEST_CASE("every optimiser's step on the GPU matches the CPU, over 5 steps") {
  for (const OptimCase& c : all_cases()) {
    INFO("case: ", c.name);
    Generator g{1234, 0};
    std::vector<Tensor> cpu, dev;
    std::vector<nn::ParamGroupOptions> cpu_groups(2), dev_groups(2);
    for (const ParamSpec& spec : kParams) {
      auto [a, b] = same_values(spec.shape, spec.dtype, g);
      cpu.push_back(a.requires_grad_());
      dev.push_back(b.requires_grad_());
      cpu_groups[spec.group].params.push_back(cpu.back());
      dev_groups[spec.group].params.push_back(dev.back());
    }
    cpu_groups[1].lr = dev_groups[1].lr = 0.03;
    auto cpu_opt = c.make(cpu_groups), dev_opt = c.make(dev_groups);
    cpu_opt->set_do_weight_decay(cpu[4], false);  // as fastai does for a bias
    dev_opt->set_do_weight_decay(dev[4], false);
    nn::OneCycleSchedule schedule(1, 5, {1e-2, 3e-2});
    for (int64_t step = 0; step < 5; ++step) {
      for (size_t i = 0; i < kParams.size(); ++i) {
        if (step == 2 && i == 1) {  // no grad this step: skipped on both devices
          cpu[i].set_grad(Tensor());
          dev[i].set_grad(Tensor());
          continue;
        }
        auto [a, b] = same_values(kParams[i].shape, kParams[i].dtype, g);
        cpu[i].set_grad(a);
        dev[i].set_grad(b);
      }
      if (c.one_cycle) schedule.apply(*cpu_opt, step), schedule.apply(*dev_opt, step);
      cpu_opt->step();
      dev_opt->step();
      for (size_t i = 0; i < kParams.size(); ++i)
        check_close(dev[i], cpu[i], kParams[i].dtype, "step " + std::to_string(step) + ", param " + std::to_string(i));
    }
    for (size_t i = 0; i < kParams.size(); ++i) {  // the state matches too
      const nn::ParamState& a = cpu_opt->state(cpu[i]);
      const nn::ParamState& b = dev_opt->state(dev[i]);
      CHECK(a.step == b.step);
      if (a.exp_avg.defined()) {
        check_close(b.exp_avg, a.exp_avg, kParams[i].dtype, "exp_avg of param " + std::to_string(i));
        check_close(b.exp_avg_sq, a.exp_avg_sq, kParams[i].dtype, "exp_avg_sq of param " + std::to_string(i));
      }
      if (a.momentum_buffer.defined())
        check_close(b.momentum_buffer, a.momentum_buffer, kParams[i].dtype, "momentum of param " + std::to_string(i));
    }
  }
}

TEST_CASE("a group of more params than one launch takes (128) matches the CPU") {
  Generator g{99, 0};
  std::vector<Tensor> cpu, dev;
  for (int i = 0; i < 300; ++i) {
    auto [a, b] = same_values({1 + (i * 37) % 200}, i % 3 == 0 ? DType::Float64 : DType::Float32, g);
    cpu.push_back(a.requires_grad_());
    dev.push_back(b.requires_grad_());
  }
  nn::Adam cpu_opt(cpu, {.lr = 0.01, .weight_decay = 0.01});
  nn::Adam dev_opt(dev, {.lr = 0.01, .weight_decay = 0.01});
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < cpu.size(); ++i) {
      auto [a, b] = same_values(cpu[i].shape(), cpu[i].dtype(), g);
      cpu[i].set_grad(a);
      dev[i].set_grad(b);
    }
    cpu_opt.step();
    dev_opt.step();
  }
  for (size_t i = 0; i < cpu.size(); ++i) check_close(dev[i], cpu[i], cpu[i].dtype(), "param " + std::to_string(i));
}

TEST_CASE("a grad on another device than its param is an error naming both") {
  if (dry_run_on_cpu()) return;  // needs two devices
  Tensor w = zeros({3}, DType::Float32, test_device()).requires_grad_();
  nn::SGD opt({w}, {.lr = 0.1});
  w.set_grad(zeros({3}));
  check_throws([&] { opt.step(); }, {"param 0 of param group 0", "cuda:0", "cpu"});
}

}  // namespace
