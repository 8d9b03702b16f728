// ResNet34 as a whole on the GPU against the CPU: the same weights and input on both devices, then
// eval logits, train-mode logits and loss, every parameter's gradient and the running statistics,
// in float64 (tight: only summation orders differ) and float32, with Ember's own kernels and, when
// the build has it, with cuDNN (set_dnn_backend).
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "cuda/cuda_api.h"
#include "cuda_test_util.h"
#include "nn/losses.h"
#include "nn/models/resnet.h"

using namespace ember;
using namespace ember::test;

namespace {

// max |a - b| / max |b| over the elements, both brought to the CPU in float64.
double relative_error(const Tensor& a, const Tensor& b) {
  auto x = to_vector<double>(to_dtype(to_cpu(a), DType::Float64));
  auto y = to_vector<double>(to_dtype(to_cpu(b), DType::Float64));
  REQUIRE(x.size() == y.size());
  double difference = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    difference = std::max(difference, std::abs(x[i] - y[i]));
    scale = std::max(scale, std::abs(y[i]));
  }
  return scale == 0 ? difference : difference / scale;
}

struct Run {
  Tensor eval_logits, train_logits, loss;
  std::map<std::string, Tensor> grads, buffers;
};

Run run_resnet34(Device device, DType dtype) {
  manual_seed(2024);  // the same initial weights and input on every run
  auto model = nn::resnet34(10);
  model->to(dtype);
  Tensor x = to_dtype(randn({2, 3, 64, 64}), dtype);
  Tensor y = from_vector(std::vector<int64_t>{3, 7});
  model->to(device);
  x = to(x, device);
  y = to(y, device);
  Run run;
  model->eval();
  {
    NoGradGuard no_grad;
    run.eval_logits = (*model)(x);
  }
  model->train();
  run.train_logits = (*model)(x);
  run.loss = nn::CrossEntropyLoss()(run.train_logits, y);
  backward(run.loss);
  for (const auto& [name, p] : model->named_parameters()) run.grads[name] = p.grad();
  for (const auto& [name, b] : model->named_buffers()) run.buffers[name] = b;
  return run;
}

void compare(const Run& gpu, const Run& cpu, double tolerance, double grad_tolerance) {
  CHECK(relative_error(gpu.eval_logits, cpu.eval_logits) < tolerance);
  CHECK(relative_error(gpu.train_logits, cpu.train_logits) < tolerance);
  CHECK(relative_error(gpu.loss, cpu.loss) < tolerance);
  for (const auto& [name, grad] : cpu.grads) {
    INFO("grad of ", name);
    REQUIRE(gpu.grads.at(name).defined());
    CHECK(relative_error(gpu.grads.at(name), grad) < grad_tolerance);
  }
  for (const auto& [name, buffer] : cpu.buffers) {
    INFO("buffer ", name);
    CHECK(relative_error(gpu.buffers.at(name), buffer) < tolerance);
  }
}

// Restores Ember's backend when the test case ends, also when a REQUIRE throws out of it (the
// tests that follow must not run on cuDNN by accident).
struct RestoreEmberBackend {
  ~RestoreEmberBackend() { cuda::set_dnn_backend(cuda::DnnBackend::Ember); }
};

std::vector<cuda::DnnBackend> backends() {
  std::vector<cuda::DnnBackend> list = {cuda::DnnBackend::Ember};
  if (cuda::cudnn_available()) list.push_back(cuda::DnnBackend::Cudnn);
  return list;
}

}  // namespace

TEST_CASE("resnet34 on the GPU = on the CPU: float64, every gradient, both backends") {
  const Run cpu = run_resnet34(Device::cpu(), DType::Float64);
  RestoreEmberBackend restore;
  for (cuda::DnnBackend backend : backends()) {
    INFO("backend ", cuda::dnn_backend_name(backend));
    cuda::set_dnn_backend(backend);
    compare(run_resnet34(test_device(), DType::Float64), cpu, 1e-10, 1e-8);
  }
}

TEST_CASE("resnet34 on the GPU = on the CPU: float32 (1e-4; gradients 5e-3: 30 training-mode batch norms)") {
  const Run cpu = run_resnet34(Device::cpu(), DType::Float32);
  RestoreEmberBackend restore;
  for (cuda::DnnBackend backend : backends()) {
    INFO("backend ", cuda::dnn_backend_name(backend));
    cuda::set_dnn_backend(backend);
    compare(run_resnet34(test_device(), DType::Float32), cpu, 1e-4, 5e-3);
  }
}
