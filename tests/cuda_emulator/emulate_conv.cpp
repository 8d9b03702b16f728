// Runs the real cuda/conv.cu (Ember's backend: the implicit-GEMM forward, the im2col + hand-GEMM
// forward, and the im2col/col2im + hand-GEMM backward, with the real gemm_hand.cu) on the CPU
// emulator, threaded mode (the kernels use __syncthreads), and compares with the CPU kernels
// (tensor/cpu/conv.cpp): forward and the three gradients (all at once and one at a time), float32
// and float64, over the geometries ResNet uses and the odd ones (7x7 stride 2 pad 3, 1x1 stride 1
// and 2, dilation, groups, depthwise, rectangular kernels and strides, sizes that are not multiples
// of the tiles, more than one tile along C_out and along N * OH * OW), contiguous and strided
// inputs, with and without bias, and with the im2col buffer limited to one image per chunk (the
// chunk loop and the weight-gradient accumulation across chunks). Outputs are poisoned with 0xFF.
//   emulate_conv [forward|backward|switch]   (no argument: all)
#include <cuda_runtime.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "cuda/conv.cuh"
#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

#include "harness.h"

// The backend switch (cuda/dnn_backend.cpp: plain host code, no kernels, no cuDNN in this build),
// compiled into this harness so test_switch can check its errors.
#include "cuda/dnn_backend.cpp"

using namespace ember;
using emu_harness::checks;
using emu_harness::failures;
using Geometry = DeviceKernels::Conv2dGeometry;
using ember::cuda::ConvAlgorithm;

namespace {

struct ConvCase {
  const char* name;
  int64_t N, C_in, H, W, C_out, KH, KW;
  Geometry g;  // stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups
};

// N(0, 1) values of `shape`; strided: every other element of a twice as wide last dim (a view).
Tensor random_tensor(const Shape& shape, DType dtype, bool strided) {
  Shape base_shape = shape;
  if (strided) base_shape[base_shape.size() - 1] *= 2;
  Tensor base = empty(base_shape, dtype);
  kernels::copy(base, randn(base_shape, DType::Float64));
  if (!strided) return base;
  Strides st = base.strides();
  st[st.size() - 1] *= 2;
  return base.as_strided(shape, st, 0);
}

std::vector<ConvCase> cases() {
  return {
      {"3x3 pad 1", 2, 3, 6, 5, 4, 3, 3, {1, 1, 1, 1, 1, 1, 1}},
      {"7x7 stride 2 pad 3", 2, 3, 13, 11, 5, 7, 7, {2, 2, 3, 3, 1, 1, 1}},
      {"1x1 stride 2", 3, 6, 7, 9, 5, 1, 1, {2, 2, 0, 0, 1, 1, 1}},
      {"1x1 stride 1 (no im2col)", 3, 6, 5, 4, 7, 1, 1, {1, 1, 0, 0, 1, 1, 1}},
      {"3x3 dilation 2 pad 2", 2, 3, 9, 8, 4, 3, 3, {1, 1, 2, 2, 2, 2, 1}},
      {"3x3 groups 2", 2, 4, 7, 6, 6, 3, 3, {1, 1, 1, 1, 1, 1, 2}},
      {"1x1 groups 3 (no im2col)", 2, 6, 4, 5, 9, 1, 1, {1, 1, 0, 0, 1, 1, 3}},
      {"3x3 depthwise stride 2", 2, 4, 7, 7, 4, 3, 3, {2, 2, 1, 1, 1, 1, 4}},
      {"3x2 stride (2,1) pad (1,0) dilation (1,2)", 3, 2, 8, 9, 3, 3, 2, {2, 1, 1, 0, 1, 2, 1}},
      {"3x3 two tiles along C_out and N*P", 3, 5, 9, 8, 70, 3, 3, {1, 1, 1, 1, 1, 1, 1}},
      {"5x5 no padding, odd sizes", 2, 3, 11, 7, 5, 5, 5, {1, 1, 0, 0, 1, 1, 1}},
  };
}

Shape output_shape(const ConvCase& c) {
  const Geometry& g = c.g;
  const int64_t oh = (c.H + 2 * g.pad_h - g.dilation_h * (c.KH - 1) - 1) / g.stride_h + 1;
  const int64_t ow = (c.W + 2 * g.pad_w - g.dilation_w * (c.KW - 1) - 1) / g.stride_w + 1;
  return {c.N, c.C_out, oh, ow};
}

std::string label(const ConvCase& c, DType dtype, bool strided, bool bias) {
  return std::string(c.name) + " " + dtype_name(dtype) + (strided ? " strided input" : "") +
         (bias ? " bias" : " no bias");
}

double tolerance(DType dtype) { return dtype == DType::Float32 ? 2e-5 : 1e-12; }

void test_forward() {
  for (const ConvCase& c : cases())
    for (DType dtype : {DType::Float32, DType::Float64})
      for (bool strided : {false, true})
        for (bool with_bias : {true, false}) {
          const std::string what = label(c, dtype, strided, with_bias);
          Tensor x = random_tensor({c.N, c.C_in, c.H, c.W}, dtype, strided);
          Tensor w = random_tensor({c.C_out, c.C_in / c.g.groups, c.KH, c.KW}, dtype, false);
          Tensor b = with_bias ? random_tensor({c.C_out}, dtype, false) : Tensor();
          const Shape out_shape = output_shape(c);
          Tensor expected = empty(out_shape, dtype);
          cpu::conv2d(expected, x, w, b, c.g);
          const double tol = tolerance(dtype);
          for (ConvAlgorithm algorithm : {ConvAlgorithm::ImplicitGemm, ConvAlgorithm::Im2colGemm})
            for (int64_t budget : {int64_t{0}, int64_t{1}}) {                    // default chunks; one image per chunk
              if (algorithm == ConvAlgorithm::ImplicitGemm && budget) continue;  // no buffer to chunk
              ember::cuda::set_conv_algorithm(algorithm);
              ember::cuda::set_im2col_budget(budget);
              Tensor actual = poisoned(out_shape, dtype);
              ember::cuda::conv2d_ember(actual, x, w, b, c.g);
              std::string why;
              EXPECT(close(actual, expected, tol, tol, why, false), "forward %s %s%s: %s", what.c_str(),
                     ember::cuda::conv_algorithm_name(algorithm), budget ? " one image per chunk" : "", why.c_str());
            }
          ember::cuda::set_im2col_budget(0);
        }
  ember::cuda::set_conv_algorithm(ConvAlgorithm::ImplicitGemm);
}

void test_backward() {
  for (const ConvCase& c : cases())
    for (DType dtype : {DType::Float32, DType::Float64})
      for (bool strided : {false, true}) {
        const std::string what = label(c, dtype, strided, true);
        const Shape x_shape{c.N, c.C_in, c.H, c.W}, w_shape{c.C_out, c.C_in / c.g.groups, c.KH, c.KW};
        const Shape out_shape = output_shape(c);
        Tensor x = random_tensor(x_shape, dtype, false);
        Tensor w = random_tensor(w_shape, dtype, false);
        Tensor dy = random_tensor(out_shape, dtype, strided);  // a strided upstream gradient
        Tensor egx = empty(x_shape, dtype), egw = empty(w_shape, dtype), egb = empty({c.C_out}, dtype);
        cpu::conv2d_backward(egx, egw, egb, dy, x, w, c.g);
        const double tol = tolerance(dtype);
        for (int64_t budget : {int64_t{0}, int64_t{1}}) {
          ember::cuda::set_im2col_budget(budget);
          const char* chunks = budget ? " one image per chunk" : "";
          std::string why;
          Tensor gx = poisoned(x_shape, dtype), gw = poisoned(w_shape, dtype), gb = poisoned({c.C_out}, dtype);
          ember::cuda::conv2d_backward_ember(gx, gw, gb, dy, x, w, c.g);
          EXPECT(close(gx, egx, tol, tol, why, false), "grad_input %s%s: %s", what.c_str(), chunks, why.c_str());
          EXPECT(close(gw, egw, tol, tol, why, false), "grad_weight %s%s: %s", what.c_str(), chunks, why.c_str());
          EXPECT(close(gb, egb, tol, tol, why, false), "grad_bias %s%s: %s", what.c_str(), chunks, why.c_str());
          // one gradient at a time: the undefined ones are skipped, the defined one still right
          Tensor only_x = poisoned(x_shape, dtype), only_w = poisoned(w_shape, dtype),
                 only_b = poisoned({c.C_out}, dtype);
          ember::cuda::conv2d_backward_ember(only_x, Tensor(), Tensor(), dy, x, w, c.g);
          ember::cuda::conv2d_backward_ember(Tensor(), only_w, Tensor(), dy, x, w, c.g);
          ember::cuda::conv2d_backward_ember(Tensor(), Tensor(), only_b, dy, x, w, c.g);
          EXPECT(close(only_x, egx, tol, tol, why, false), "grad_input alone %s%s: %s", what.c_str(), chunks,
                 why.c_str());
          EXPECT(close(only_w, egw, tol, tol, why, false), "grad_weight alone %s%s: %s", what.c_str(), chunks,
                 why.c_str());
          EXPECT(close(only_b, egb, tol, tol, why, false), "grad_bias alone %s%s: %s", what.c_str(), chunks,
                 why.c_str());
        }
        ember::cuda::set_im2col_budget(0);
      }
}

// The switches: names parse both ways, bad names and cuDNN in a build without it are clear errors.
void test_switch() {
  auto throws_with = [](auto fn, const std::string& needle) {
    try {
      fn();
    } catch (const std::exception& e) {
      return std::string(e.what()).find(needle) != std::string::npos;
    }
    return false;
  };
  EXPECT(ember::cuda::parse_conv_algorithm("im2col") == ConvAlgorithm::Im2colGemm, "parse im2col");
  EXPECT(ember::cuda::parse_conv_algorithm("implicit") == ConvAlgorithm::ImplicitGemm, "parse implicit");
  EXPECT(throws_with([] { ember::cuda::parse_conv_algorithm("winograd"); }, "'winograd'"),
         "a bad algorithm name is an error naming it");
  EXPECT(!ember::cuda::cudnn_available(), "the emulator build has no cuDNN");
  EXPECT(ember::cuda::dnn_backend() == ember::cuda::DnnBackend::Ember, "the default backend is Ember");
  EXPECT(throws_with([] { ember::cuda::set_dnn_backend(ember::cuda::DnnBackend::Cudnn); }, "EMBER_DNN"),
         "selecting cuDNN without cuDNN is an error naming EMBER_DNN");
  EXPECT(throws_with([] { ember::cuda::parse_dnn_backend("miopen"); }, "'miopen'"),
         "a bad backend name is an error naming it");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  emu::sm_count = 1;
  const std::string only = argc > 1 ? argv[1] : "";
  if (only.empty() || only == "forward") test_forward();
  std::printf("forward done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  if (only.empty() || only == "backward") test_backward();
  std::printf("backward done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  if (only.empty() || only == "switch") test_switch();
  std::printf("switch done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  std::printf("ALL: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  return failures ? 1 : 0;
}
