// Runs the real cuda/optim.cu on the CPU emulator (serial mode: the step kernels use no barriers
// or shuffles; see README.md) and compares with the CPU kernels (tensor/cpu/optim.cpp): SGD
// (plain, momentum with new and old buffers in one list, dampening, nesterov, weight decay on some
// params only) and the Adam family (L2 or decoupled weight decay, PyTorch's or fastai's bias
// correction, a different step count per param) over lists that mix float32 and float64 and hold
// empty tensors, 1-element tensors, tensors one element longer than a chunk (4097) and of several
// chunks, and lists longer than one launch takes (128). A new momentum buffer is poisoned (NaN):
// the first step must write it without reading it.
//   emulate_optim
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

#include "harness.h"

using namespace ember;
using emu_harness::checks;
using emu_harness::failures;
// |a - e| <= atol + rtol |e| everywhere (NaN never matches), with float32 or float64 tolerances.
static bool close(const Tensor& a, const Tensor& e, std::string& why) {
  const double atol = a.dtype() == DType::Float64 ? 1e-13 : 1e-6, rtol = a.dtype() == DType::Float64 ? 1e-12 : 1e-5;
  return close(a, e, atol, rtol, why, /*nan_matches=*/false);
}

static Tensor random_like(const Shape& shape, DType dtype, double shift = 0) {
  Tensor t = empty(shape, dtype);
  kernels::copy(t, randn(shape, DType::Float64));
  if (shift != 0) kernels::binary(BinaryOp::Add, t, t, expand_view(full({}, shift, dtype), shape));
  return t;
}

static Tensor copy_of(const Tensor& t) {
  Tensor c = empty(t.shape(), t.dtype());
  kernels::copy(c, t);
  return c;
}

// One list of params with their grads and two state buffers, and a copy of all of it, so the
// emulated kernel and the CPU kernel each update their own.
struct Lists {
  std::vector<Tensor> params, grads, state0, state1;
  std::vector<const Tensor*> p, g, s0, s1;
  void point() {
    p.clear(), g.clear(), s0.clear(), s1.clear();
    for (size_t i = 0; i < params.size(); ++i)
      p.push_back(&params[i]), g.push_back(&grads[i]), s0.push_back(&state0[i]), s1.push_back(&state1[i]);
  }
  Lists copy() const {
    Lists c;
    for (size_t i = 0; i < params.size(); ++i) {
      c.params.push_back(copy_of(params[i]));
      c.grads.push_back(copy_of(grads[i]));
      c.state0.push_back(copy_of(state0[i]));
      c.state1.push_back(copy_of(state1[i]));
    }
    c.point();
    return c;
  }
};

static Lists make_lists(const std::vector<int64_t>& sizes, std::mt19937& rng) {
  Lists l;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const DType dtype = rng() % 3 == 0 ? DType::Float64 : DType::Float32;
    l.params.push_back(random_like({sizes[i]}, dtype));
    l.grads.push_back(random_like({sizes[i]}, dtype));
    l.state0.push_back(random_like({sizes[i]}, dtype));
    Tensor v = random_like({sizes[i]}, dtype);  // v >= 0 for Adam
    kernels::unary(UnaryOp::Abs, v, v);
    l.state1.push_back(v);
  }
  l.point();
  return l;
}

static void compare(const char* what, const Lists& emulated, const Lists& cpu, bool with_state0, bool with_state1) {
  for (size_t i = 0; i < cpu.params.size(); ++i) {
    std::string why;
    EXPECT(close(emulated.params[i], cpu.params[i], why), "%s: param %zu (numel %lld) %s", what, i,
           static_cast<long long>(cpu.params[i].numel()), why.c_str());
    if (with_state0) EXPECT(close(emulated.state0[i], cpu.state0[i], why), "%s: state0 %zu %s", what, i, why.c_str());
    if (with_state1) EXPECT(close(emulated.state1[i], cpu.state1[i], why), "%s: state1 %zu %s", what, i, why.c_str());
  }
}

static const std::vector<std::vector<int64_t>> kSizeLists = {
    {1},
    {5, 0, 4097, 1, 33},
    {9000, 0, 0, 4096, 1, 12289},
};

static std::vector<int64_t> many_sizes(int count, std::mt19937& rng) {
  std::vector<int64_t> sizes;
  for (int i = 0; i < count; ++i) sizes.push_back(rng() % 5 == 0 ? 0 : 1 + rng() % 300);
  return sizes;
}

static void run_sgd(std::mt19937& rng) {
  struct Config {
    const char* name;
    double momentum, dampening, weight_decay;
    bool nesterov;
  };
  const Config configs[] = {{"plain", 0, 0, 0, false},
                            {"momentum", 0.9, 0, 0, false},
                            {"dampening+wd", 0.8, 0.3, 0.05, false},
                            {"nesterov+wd", 0.9, 0, 0.1, true}};
  std::vector<std::vector<int64_t>> size_lists = kSizeLists;
  size_lists.push_back(many_sizes(300, rng));
  for (const Config& c : configs) {
    for (const auto& sizes : size_lists) {
      Lists cpu = make_lists(sizes, rng), emulated = cpu.copy();
      std::vector<uint8_t> first(sizes.size()), do_wd(sizes.size());
      for (size_t i = 0; i < sizes.size(); ++i) {
        first[i] = rng() % 2, do_wd[i] = rng() % 4 != 0;
        if (first[i]) {  // a new buffer: garbage that must not be read
          for (Lists* l : {&cpu, &emulated})
            std::memset(l->state0[i].raw_data(), 0xFF, l->state0[i].numel() * dtype_size(l->state0[i].dtype()));
        }
      }
      auto args = [&](Lists& l) {
        return DeviceKernels::SgdStepArgs{.count = static_cast<int64_t>(sizes.size()),
                                          .params = l.p.data(),
                                          .grads = l.g.data(),
                                          .momentum_buffers = l.s0.data(),
                                          .first_step = first.data(),
                                          .do_weight_decay = do_wd.data(),
                                          .lr = 0.1,
                                          .momentum = c.momentum,
                                          .dampening = c.dampening,
                                          .weight_decay = c.weight_decay,
                                          .nesterov = c.nesterov};
      };
      cpu::sgd_step(args(cpu));
      cuda::sgd_step(args(emulated));
      const std::string what = std::string("sgd ") + c.name + ", " + std::to_string(sizes.size()) + " tensors";
      compare(what.c_str(), emulated, cpu, c.momentum != 0, false);
    }
  }
}

static void run_adam(std::mt19937& rng) {
  struct Config {
    const char* name;
    double weight_decay;
    bool decoupled, debias_inside_sqrt;
  };
  const Config configs[] = {{"adam", 0, false, false},
                            {"adam l2", 0.1, false, false},
                            {"adamw", 0.1, true, false},
                            {"fastai", 0.01, true, true}};
  std::vector<std::vector<int64_t>> size_lists = kSizeLists;
  size_lists.push_back(many_sizes(300, rng));
  for (const Config& c : configs) {
    for (const auto& sizes : size_lists) {
      Lists cpu = make_lists(sizes, rng), emulated = cpu.copy();
      std::vector<double> step_sizes, bias_corrections2;
      std::vector<uint8_t> do_wd;
      for (size_t i = 0; i < sizes.size(); ++i) {
        const double t = 1 + rng() % 20;  // each param its own step count
        step_sizes.push_back(0.01 / (1 - std::pow(0.9, t)));
        bias_corrections2.push_back(1 - std::pow(0.999, t));
        do_wd.push_back(rng() % 4 != 0);
      }
      auto args = [&](Lists& l) {
        return DeviceKernels::AdamStepArgs{.count = static_cast<int64_t>(sizes.size()),
                                           .params = l.p.data(),
                                           .grads = l.g.data(),
                                           .exp_avgs = l.s0.data(),
                                           .exp_avg_sqs = l.s1.data(),
                                           .step_sizes = step_sizes.data(),
                                           .bias_corrections2 = bias_corrections2.data(),
                                           .do_weight_decay = do_wd.data(),
                                           .lr = 0.01,
                                           .beta1 = 0.9,
                                           .beta2 = 0.999,
                                           .eps = 1e-8,
                                           .weight_decay = c.weight_decay,
                                           .decoupled_weight_decay = c.decoupled,
                                           .debias_inside_sqrt = c.debias_inside_sqrt};
      };
      cpu::adam_step(args(cpu));
      cuda::adam_step(args(emulated));
      const std::string what = std::string("adam ") + c.name + ", " + std::to_string(sizes.size()) + " tensors";
      compare(what.c_str(), emulated, cpu, true, true);
    }
  }
}

int main() {
  std::mt19937 rng(7);
  run_sgd(rng);
  std::printf("sgd done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  run_adam(rng);
  std::printf("adam done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  std::printf("ALL: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  return failures ? 1 : 0;
}
