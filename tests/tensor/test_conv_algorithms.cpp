// The CPU convolution algorithms (tensor/cpu/conv.cpp, winograd.h) against a direct convolution
// written out below as plain loops in double: im2col + GEMM (threads over images, batched small
// images, serial with threaded GEMMs) and Winograd F(2x2, 3x3), forward, grad_input, grad_weight
// and grad_bias, float32.
//
// Error bound: every output is a sum of products (w x, dy w, dy x); computed in float32 in any
// order, or through Winograd's transforms (entries 0, +-1, +-1/2), it lies within a small multiple
// of eps * sum |products| of the exact value. We allow 1e-4 * sum |products| (eps = 6e-8): a
// missing, doubled or misplaced term changes a sum of at most 9 * 64 products by about 1/576 of
// that sum (or much more), far above the bound.
//
// Also here, as the other vectorised kernel of the ResNet speed work: max_pool2d's AVX2 float32
// path (tensor/cpu/pooling.cpp) against the plain float64 loop on the same values, exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tensor/cpu/winograd.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"
#include "tensor/parallel.h"

using namespace ember;

namespace {

constexpr double kRelativeTolerance = 1e-4;

struct ConvCase {
  int64_t N, C_in, H, W, C_out, KH, KW;
  kernels::Conv2dGeometry g;
  bool bias;

  int64_t OH() const { return (H + 2 * g.pad_h - g.dilation_h * (KH - 1) - 1) / g.stride_h + 1; }
  int64_t OW() const { return (W + 2 * g.pad_w - g.dilation_w * (KW - 1) - 1) / g.stride_w + 1; }
  std::string name() const {  // appended piece by piece: GCC 12 warns wrongly (-Wrestrict) on "text" + string
    std::string text;
    for (const auto& [label, value] : {std::pair<const char*, int64_t>{"N", N},
                                       {" C_in ", C_in},
                                       {" H ", H},
                                       {" W ", W},
                                       {" C_out ", C_out},
                                       {" KH ", KH},
                                       {" KW ", KW},
                                       {" stride_h ", g.stride_h},
                                       {" stride_w ", g.stride_w},
                                       {" pad_h ", g.pad_h},
                                       {" pad_w ", g.pad_w},
                                       {" dilation_h ", g.dilation_h},
                                       {" dilation_w ", g.dilation_w},
                                       {" groups ", g.groups}})
      text.append(label).append(std::to_string(value));
    return text.append(bias ? " bias" : "");
  }
};

std::vector<float> random_values(int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = uniform(rng);
  return v;
}

// A result in double with, per element, the sum of the absolute values of its products (the scale
// of its rounding error).
struct Reference {
  std::vector<double> value, magnitude;
  explicit Reference(int64_t count) : value(static_cast<size_t>(count)), magnitude(static_cast<size_t>(count)) {}
  void add(int64_t i, double product) {
    value[static_cast<size_t>(i)] += product;
    magnitude[static_cast<size_t>(i)] += std::fabs(product);
  }
};

struct References {
  Reference out, grad_input, grad_weight, grad_bias;
};

// The direct convolution and its three gradients as the textbook loops over every (output, tap):
//   out[n, co, oh, ow] = b[co] + sum w[co, ci, kh, kw] x[n, c, ih, iw],   c = group * C_in_g + ci,
//   ih = oh sh - ph + kh dh, iw = ow sw - pw + kw dw (taps outside the input are skipped);
// grad_input, grad_weight and grad_bias collect dy times the other factor of each product.
References direct_convolution(const ConvCase& k, const std::vector<float>& x, const std::vector<float>& w,
                              const std::vector<float>& b, const std::vector<float>& dy) {
  const int64_t OH = k.OH(), OW = k.OW(), C_in_g = k.C_in / k.g.groups, C_out_g = k.C_out / k.g.groups;
  References r{Reference(k.N * k.C_out * OH * OW), Reference(k.N * k.C_in * k.H * k.W),
               Reference(k.C_out * C_in_g * k.KH * k.KW), Reference(k.C_out)};
  for (int64_t n = 0; n < k.N; ++n)
    for (int64_t co = 0; co < k.C_out; ++co)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t o = ((n * k.C_out + co) * OH + oh) * OW + ow;
          if (k.bias) r.out.add(o, b[co]);
          r.grad_bias.add(co, dy[o]);
          for (int64_t ci = 0; ci < C_in_g; ++ci)
            for (int64_t kh = 0; kh < k.KH; ++kh)
              for (int64_t kw = 0; kw < k.KW; ++kw) {
                const int64_t ih = oh * k.g.stride_h - k.g.pad_h + kh * k.g.dilation_h;
                const int64_t iw = ow * k.g.stride_w - k.g.pad_w + kw * k.g.dilation_w;
                if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                const int64_t c = co / C_out_g * C_in_g + ci;
                const int64_t xi = ((n * k.C_in + c) * k.H + ih) * k.W + iw;
                const int64_t wi = ((co * C_in_g + ci) * k.KH + kh) * k.KW + kw;
                r.out.add(o, double(w[wi]) * x[xi]);
                r.grad_input.add(xi, double(dy[o]) * w[wi]);
                r.grad_weight.add(wi, double(dy[o]) * x[xi]);
              }
        }
  return r;
}

void check_close(const std::string& what, const Tensor& actual, const Reference& expected) {
  const float* a = static_cast<const float*>(actual.raw_data());
  int64_t failures = 0;
  for (size_t i = 0; i < expected.value.size(); ++i) {
    const double error = std::fabs(a[i] - expected.value[i]);
    if (error <= kRelativeTolerance * expected.magnitude[i] + 1e-30) continue;
    if (failures++ < 3)
      FAIL_CHECK(what << "[" << i << "] = " << a[i] << ", expected " << expected.value[i] << " (error " << error
                      << ", allowed " << kRelativeTolerance * expected.magnitude[i] << ")");
  }
  CHECK_MESSAGE(failures == 0, what << ": " << failures << " of " << expected.value.size() << " elements off");
}

// Sets the algorithm and thread count for one scope, and restores the defaults after it.
struct Setting {
  Setting(cpu::ConvAlgorithm algorithm, int threads) : threads_before(num_threads()) {
    cpu::set_conv_algorithm(algorithm);
    set_num_threads(threads);
  }
  ~Setting() {
    cpu::set_conv_algorithm(cpu::ConvAlgorithm::Auto);
    set_num_threads(threads_before);
  }
  int threads_before;
};

// Runs the kernels on the case with the given algorithm and threads and checks all four results.
void check_case(const ConvCase& k, cpu::ConvAlgorithm algorithm, int threads) {
  INFO("case ", k.name(), ", algorithm ", algorithm == cpu::ConvAlgorithm::Winograd ? "winograd" : "im2col",
       ", threads ", threads);
  std::mt19937 rng(static_cast<unsigned>(k.N * 1000003 + k.C_in * 1009 + k.H * 31 + k.C_out));
  const int64_t C_in_g = k.C_in / k.g.groups, OH = k.OH(), OW = k.OW();
  const std::vector<float> x = random_values(k.N * k.C_in * k.H * k.W, rng);
  const std::vector<float> w = random_values(k.C_out * C_in_g * k.KH * k.KW, rng);
  const std::vector<float> b = random_values(k.C_out, rng);
  const std::vector<float> dy = random_values(k.N * k.C_out * OH * OW, rng);
  const References expected = direct_convolution(k, x, w, b, dy);

  const Setting setting(algorithm, threads);
  const Tensor tx = from_vector(x, {k.N, k.C_in, k.H, k.W}), tw = from_vector(w, {k.C_out, C_in_g, k.KH, k.KW});
  const Tensor tb = k.bias ? from_vector(b, {k.C_out}) : Tensor(), tdy = from_vector(dy, {k.N, k.C_out, OH, OW});
  // Outputs start as NaN: an element the kernel forgets to write fails.
  const Tensor out = full({k.N, k.C_out, OH, OW}, NAN), grad_input = full(tx.shape(), NAN);
  const Tensor grad_weight = full(tw.shape(), NAN), grad_bias = full({k.C_out}, NAN);
  kernels::conv2d(out, tx, tw, tb, k.g);
  kernels::conv2d_backward(grad_input, grad_weight, grad_bias, tdy, tx, tw, k.g);
  check_close("out", out, expected.out);
  check_close("grad_input", grad_input, expected.grad_input);
  check_close("grad_weight", grad_weight, expected.grad_weight);
  check_close("grad_bias", grad_bias, expected.grad_bias);
}

ConvCase conv3x3(int64_t N, int64_t C_in, int64_t H, int64_t W, int64_t C_out, int64_t pad, bool bias = false) {
  return {N, C_in, H, W, C_out, 3, 3, {1, 1, pad, pad, 1, 1, 1}, bias};
}

}  // namespace

TEST_CASE("conv algorithms: Winograd F(2x2,3x3) matches the direct convolution") {
  const std::vector<ConvCase> cases = {
      conv3x3(1, 1, 4, 4, 1, 0),         // one tile
      conv3x3(1, 3, 5, 7, 2, 1, true),   // odd H and W: clipped tiles at the bottom and right
      conv3x3(2, 5, 8, 8, 7, 1),         // channels not multiples of 8
      conv3x3(3, 9, 7, 6, 11, 2, true),  // padding 2: grad_input runs with padding 0
      conv3x3(2, 4, 9, 11, 3, 0),        // padding 0: grad_input runs with padding 2
      conv3x3(1, 16, 14, 14, 24, 1),     // ResNet-like, 7x7 tiles
      conv3x3(3, 20, 13, 5, 17, 1),
      conv3x3(2, 2, 3, 3, 2, 3),                             // padding 3 > 2: grad_input crops (negative padding)
      {2, 6, 10, 12, 5, 3, 3, {1, 1, 0, 2, 1, 1, 1}, true},  // different padding in h and w
  };
  for (const ConvCase& k : cases)
    for (int threads : {1, 2, 3}) check_case(k, cpu::ConvAlgorithm::Winograd, threads);
}

TEST_CASE("conv algorithms: Winograd over several chunks of images matches the direct convolution") {
  // 16 + 16 channels and 65 x 65 tiles per image: about 2M transformed floats per image, so each
  // image is a chunk of its own (winograd.cpp's kChunkFloats), and grad_weight sums three chunks.
  check_case(conv3x3(3, 16, 130, 129, 16, 1), cpu::ConvAlgorithm::Winograd, 2);
}

TEST_CASE("conv algorithms: im2col, threaded over images or not, matches the direct convolution") {
  const std::vector<ConvCase> cases = {
      conv3x3(1, 3, 5, 7, 2, 1, true),                        // one image: threaded GEMM
      conv3x3(3, 9, 7, 6, 11, 2, true),                       // small images, batched (uneven batches)
      conv3x3(4, 5, 20, 18, 6, 1),                            // one image per item
      {3, 4, 11, 9, 6, 3, 3, {2, 2, 1, 1, 1, 1, 1}, false},   // stride 2
      {2, 6, 12, 10, 4, 3, 3, {1, 2, 2, 1, 2, 1, 2}, true},   // dilation, groups 2, mixed strides
      {3, 3, 23, 21, 8, 7, 7, {2, 2, 3, 3, 1, 1, 1}, false},  // ResNet's stem: 7x7, stride 2
      {3, 8, 9, 9, 16, 1, 1, {1, 1, 0, 0, 1, 1, 1}, true},    // 1x1 direct (no im2col)
      {5, 8, 9, 9, 16, 1, 1, {2, 2, 0, 0, 1, 1, 1}, false},   // 1x1 stride 2 (ResNet's downsample)
      {4, 6, 8, 8, 6, 3, 3, {1, 1, 1, 1, 1, 1, 6}, false},    // depthwise: 6 groups
  };
  for (const ConvCase& k : cases)
    for (int threads : {1, 2, 3}) check_case(k, cpu::ConvAlgorithm::Im2col, threads);
}

TEST_CASE("conv algorithms: EMBER_CPU_CONV_ALGO's choices and where Winograd applies") {
  // Forcing Winograd on a convolution it cannot do (stride 2, 5x5, groups) falls back to im2col.
  for (const ConvCase& k : {ConvCase{2, 4, 9, 9, 4, 3, 3, {2, 2, 1, 1, 1, 1, 1}, false},
                            ConvCase{2, 4, 9, 9, 4, 5, 5, {1, 1, 2, 2, 1, 1, 1}, false},
                            ConvCase{2, 4, 9, 9, 4, 3, 3, {1, 1, 1, 1, 1, 1, 2}, false}})
    check_case(k, cpu::ConvAlgorithm::Winograd, 2);
  // Auto gives the same results as both (it picks one of them).
  check_case(conv3x3(2, 32, 10, 10, 32, 1), cpu::ConvAlgorithm::Auto, 2);
}

TEST_CASE("max_pool2d: the vectorised float32 path picks the same values and indices as the float64 loop") {
  // Values from a handful of levels (many ties), with NaNs and -infs sprinkled in: the first maximum
  // in row-major window order must win, a NaN must win and stay, padding must never win, and an
  // all -inf window must point at its first cell inside the image.
  struct PoolCase {
    int64_t N, C, H, W;
    kernels::Pool2dArgs args;
  };
  const std::vector<PoolCase> cases = {
      {2, 3, 13, 11, {3, 3, 2, 2, 1, 1}},  // ResNet's stem pool, odd sizes
      {1, 2, 8, 8, {2, 2, 2, 2, 0, 0}},   {1, 2, 7, 19, {3, 3, 1, 1, 1, 1}}, {2, 1, 9, 10, {2, 3, 1, 2, 1, 0}},
      {1, 3, 17, 23, {5, 5, 3, 3, 2, 2}}, {1, 1, 3, 3, {3, 3, 1, 1, 1, 1}},  {1, 2, 30, 40, {3, 3, 2, 2, 1, 1}},
  };
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(-3, 3), special(0, 19);
  for (const PoolCase& k : cases) {
    INFO("input ", k.N, "x", k.C, "x", k.H, "x", k.W, " kernel ", k.args.kernel_h, "x", k.args.kernel_w, " stride ",
         k.args.stride_h, "x", k.args.stride_w, " padding ", k.args.pad_h, "x", k.args.pad_w);
    std::vector<float> values(static_cast<size_t>(k.N * k.C * k.H * k.W));
    for (float& v : values) {
      const int kind = special(rng);
      v = kind == 0   ? std::numeric_limits<float>::quiet_NaN()
          : kind == 1 ? -std::numeric_limits<float>::infinity()
                      : static_cast<float>(level(rng));
    }
    const int64_t OH = (k.H + 2 * k.args.pad_h - k.args.kernel_h) / k.args.stride_h + 1;
    const int64_t OW = (k.W + 2 * k.args.pad_w - k.args.kernel_w) / k.args.stride_w + 1;
    const Tensor x32 = from_vector(values, {k.N, k.C, k.H, k.W});
    const Tensor x64 = from_vector(std::vector<double>(values.begin(), values.end()), {k.N, k.C, k.H, k.W});
    const Tensor y32 = empty({k.N, k.C, OH, OW}), y64 = empty({k.N, k.C, OH, OW}, DType::Float64);
    const Tensor i32 = empty({k.N, k.C, OH, OW}, DType::Int64), i64 = empty({k.N, k.C, OH, OW}, DType::Int64);
    kernels::max_pool2d(y32, i32, x32, k.args);
    kernels::max_pool2d(y64, i64, x64, k.args);
    const float* a = static_cast<const float*>(y32.raw_data());
    const double* b = static_cast<const double*>(y64.raw_data());
    const int64_t* ia = static_cast<const int64_t*>(i32.raw_data());
    const int64_t* ib = static_cast<const int64_t*>(i64.raw_data());
    int64_t mismatches = 0;
    for (int64_t o = 0; o < y32.numel(); ++o) {
      const bool same_value = std::isnan(a[o]) ? std::isnan(b[o]) : double(a[o]) == b[o];
      if (same_value && ia[o] == ib[o]) continue;
      if (mismatches++ < 3)
        FAIL_CHECK("output " << o << ": float32 gives " << a[o] << " at " << ia[o] << ", float64 " << b[o] << " at "
                             << ib[o]);
    }
    CHECK(mismatches == 0);
  }
}
