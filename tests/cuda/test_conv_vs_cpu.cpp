// conv2d on the GPU against the CPU kernel (tensor/cpu/conv.cpp), for every backend the GPU has:
// Ember's implicit-GEMM forward, Ember's im2col + hand-GEMM forward (the same backward for both:
// im2col/col2im + hand GEMM), the im2col path with one image per chunk, and cuDNN when this build
// has it (cudnn_available(); the output says when those cases did not run). Each case compares the
// forward result and the gradients of input, weight and bias for one random upstream gradient, in
// float32 and float64: 3x3 pad 1, 7x7 stride 2 pad 3, 1x1 stride 2, 1x1 stride 1 (no im2col),
// dilation 2, groups 2, depthwise, rectangular kernels and strides, odd sizes, sizes that need
// several GEMM tiles, non-contiguous (transposed and strided) inputs, and inputs without grad.
#include <doctest/doctest.h>

#include <cstdio>

#include "cuda/conv.cuh"
#include "cuda/cuda_api.h"
#include "cuda_test_util.h"
#include "nn/conv.h"

using namespace ember;
using namespace ember::test;
using nn::Size2;

namespace {

struct ConvCase {
  std::string name;
  Shape input, weight;  // (N, C_in, H, W), (C_out, C_in / groups, KH, KW)
  Size2 stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"3x3 pad 1", {2, 3, 10, 9}, {8, 3, 3, 3}, {1, 1}, {1, 1}},
      {"7x7 stride 2 pad 3", {2, 3, 23, 20}, {6, 3, 7, 7}, {2, 2}, {3, 3}},
      {"1x1 stride 2", {3, 8, 9, 11}, {5, 8, 1, 1}, {2, 2}},
      {"1x1 stride 1", {2, 16, 7, 6}, {12, 16, 1, 1}},
      {"3x3 dilation 2", {2, 4, 12, 11}, {5, 4, 3, 3}, {1, 1}, {2, 2}, {2, 2}},
      {"3x3 groups 2", {2, 6, 9, 8}, {8, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 2},
      {"3x3 depthwise stride 2", {2, 8, 11, 10}, {8, 1, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 8},
      {"5x3 stride (2,1) pad (2,0) dilation (1,2)", {3, 3, 13, 12}, {4, 3, 5, 3}, {2, 1}, {2, 0}, {1, 2}},
      {"3x3 odd sizes, no padding", {1, 5, 7, 13}, {3, 5, 3, 3}},
      {"3x3 several tiles along C_out and N*OH*OW", {4, 16, 20, 19}, {130, 16, 3, 3}, {1, 1}, {1, 1}},
      {"3x3 resnet stage 2", {4, 64, 28, 28}, {64, 64, 3, 3}, {1, 1}, {1, 1}},
  };
}

// One way of running conv on the GPU; setup() selects it, and the guard below restores the default.
struct Backend {
  std::string name;
  std::function<void()> setup;
};

std::vector<Backend> backends() {
  std::vector<Backend> list = {
      {"ember/implicit",
       [] {
         cuda::set_dnn_backend(cuda::DnnBackend::Ember);
         cuda::set_conv_algorithm(cuda::ConvAlgorithm::ImplicitGemm);
       }},
      {"ember/im2col",
       [] {
         cuda::set_dnn_backend(cuda::DnnBackend::Ember);
         cuda::set_conv_algorithm(cuda::ConvAlgorithm::Im2colGemm);
       }},
      {"ember/im2col one image per chunk",
       [] {
         cuda::set_dnn_backend(cuda::DnnBackend::Ember);
         cuda::set_conv_algorithm(cuda::ConvAlgorithm::Im2colGemm);
         cuda::set_im2col_budget(1);
       }},
  };
  if (cuda::cudnn_available()) list.push_back({"cudnn", [] { cuda::set_dnn_backend(cuda::DnnBackend::Cudnn); }});
  return list;
}

struct RestoreDefaults {
  ~RestoreDefaults() {
    cuda::set_dnn_backend(cuda::DnnBackend::Ember);
    cuda::set_conv_algorithm(cuda::ConvAlgorithm::ImplicitGemm);
    cuda::set_im2col_budget(0);
  }
};

// Forward and the three gradients of `c` with input layout `layout` on cpu and `device`.
void check_conv(const ConvCase& c, DType dtype, Layout layout, bool bias, bool input_grad, Device device,
                uint64_t seed) {
  const Shape bias_shape{c.weight[0]};
  std::vector<InputSpec> specs = {{c.input, dtype, layout}, {c.weight, dtype}};
  if (bias) specs.push_back({bias_shape, dtype});
  InputPair in = make_inputs(specs, device, seed);
  if (!input_grad) in.cpu[0] = in.cpu[0].detach(), in.device[0] = in.device[0].detach();
  auto run = [&](const std::vector<Tensor>& x) {
    return nn::conv2d(x[0], x[1], bias ? x[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
  };
  const double tol = dtype == DType::Float32 ? 2e-4 : 1e-10;
  Tensor expected = run(in.cpu);
  Tensor actual = run(in.device);
  REQUIRE(actual.device() == device);
  CHECK_CLOSE(to_cpu(actual), expected, tol, tol);

  Generator g{seed ^ 0x5eed, 0};
  Tensor upstream = normal(expected.shape(), 0, 1, dtype, Device::cpu(), &g);
  backward(expected, upstream);
  backward(actual, to(upstream, device));
  const char* names[] = {"grad_input", "grad_weight", "grad_bias"};
  for (size_t k = 0; k < in.cpu.size(); ++k) {
    CAPTURE(names[k]);
    REQUIRE(in.cpu[k].grad().defined() == in.device[k].grad().defined());
    if (!in.cpu[k].grad().defined()) continue;
    CHECK_CLOSE(to_cpu(in.device[k].grad()), in.cpu[k].grad(), tol, tol);
  }
}

}  // namespace

TEST_CASE("conv2d on the GPU gives the CPU's result and gradients, for every backend") {
  const Device gpu = test_device();
  RestoreDefaults restore;
  if (!cuda::cudnn_available())
    std::printf("conv2d: this build has no cuDNN (cudnn_available() is false): the cuDNN cases did not run\n");
  int compared = 0;
  for (const Backend& backend : backends()) {
    backend.setup();
    uint64_t seed = 7000;
    for (const ConvCase& c : conv_cases())
      for (DType dtype : {DType::Float32, DType::Float64}) {
        const bool big = c.input[1] * c.weight[0] >= 2048;  // float32 only for the large cases
        if (big && dtype == DType::Float64) continue;
        for (bool bias : {true, false}) {
          CAPTURE(backend.name);
          CAPTURE(c.name);
          CAPTURE(dtype_name(dtype));
          CAPTURE(bias);
          check_conv(c, dtype, Layout::Contiguous, bias, true, gpu, seed++);
          ++compared;
        }
      }
    // non-contiguous inputs, and an input that needs no gradient (grad_input undefined)
    const std::vector<ConvCase> cases = conv_cases();
    const ConvCase &first = cases[0], &strided = cases[1];
    for (DType dtype : {DType::Float32, DType::Float64}) {
      CAPTURE(backend.name);
      CAPTURE(dtype_name(dtype));
      check_conv(first, dtype, Layout::Transposed, true, true, gpu, seed++);
      check_conv(strided, dtype, Layout::Strided, false, true, gpu, seed++);
      check_conv(first, dtype, Layout::Contiguous, true, false, gpu, seed++);
      compared += 3;
    }
    std::printf("conv2d %s: %d cases compared with the CPU\n", backend.name.c_str(), compared);
    compared = 0;
  }
}

TEST_CASE("the DNN backend and convolution algorithm switches") {
  RestoreDefaults restore;
  CHECK(cuda::parse_dnn_backend("ember") == cuda::DnnBackend::Ember);
  CHECK(cuda::parse_dnn_backend("cudnn") == cuda::DnnBackend::Cudnn);
  CHECK(std::string(cuda::dnn_backend_name(cuda::DnnBackend::Cudnn)) == "cudnn");
  CHECK(cuda::parse_conv_algorithm("im2col") == cuda::ConvAlgorithm::Im2colGemm);
  CHECK(std::string(cuda::conv_algorithm_name(cuda::ConvAlgorithm::ImplicitGemm)) == "implicit");
  check_throws([] { cuda::parse_dnn_backend("miopen"); }, {"'miopen'", "'ember' and 'cudnn'"});
  check_throws([] { cuda::parse_conv_algorithm("fft"); }, {"'fft'", "'implicit' and 'im2col'"});
  if (cuda::cudnn_available()) {
    cuda::set_dnn_backend(cuda::DnnBackend::Cudnn);
    CHECK(cuda::dnn_backend() == cuda::DnnBackend::Cudnn);
  } else {
    check_throws([] { cuda::set_dnn_backend(cuda::DnnBackend::Cudnn); }, {"EMBER_DNN", "no cuDNN"});
    CHECK(cuda::dnn_backend() == cuda::DnnBackend::Ember);
  }
}
