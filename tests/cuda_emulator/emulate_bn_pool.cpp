// Runs the real cuda/batch_norm.cu and cuda/pooling.cu (Ember's kernels, the *_ember entries) on the
// CPU emulator and compares them with the CPU kernels (tensor/cpu/batch_norm.cpp, pooling.cpp).
// batch_norm.cu runs threaded (its block reductions use __syncthreads and warp shuffles), pooling.cu
// serially (its max backward's atomics are raced once with emu::force_threaded). Outputs are poisoned
// with 0xFF, so an element a kernel forgets shows up.
//   batch norm: BatchNorm1d and 2d shapes, one and many rectangles per channel (split along n and
//     along s), odd sizes, strided inputs, a mean of 1e4 with a spread of 1 (where sum x^2 / M - mean^2
//     fails), NaN, forward with and without weight/bias, backward in training and eval mode with every
//     subset of outputs.
//   pooling: odd sizes, padding, stride != kernel (also stride > kernel: inputs no window covers),
//     rectangular windows, strided and transposed inputs, ties and NaN for max, adaptive pooling with
//     uneven (overlapping) bins and with more outputs than inputs, every backward.
//   emulate_bn_pool [batch_norm|pooling]   (no argument: both)
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

#include "harness.h"

using namespace ember;
using emu_harness::checks;
using emu_harness::failures;
using Pool2dArgs = DeviceKernels::Pool2dArgs;

// Normal(0, 1) values of `shape` times `scale` plus `offset`, laid out as `layout`: 0 contiguous,
// 1 the last two dims swapped (a transposed view), 2 every other element of the last dim.
static Tensor make(const Shape& shape, DType dtype, int layout, double scale = 1, double offset = 0) {
  Shape base_shape = shape;
  const size_t d = shape.size();
  if (layout == 1) std::swap(base_shape[d - 1], base_shape[d - 2]);
  if (layout == 2) base_shape[d - 1] *= 2;
  Tensor values = randn(base_shape, DType::Float64);
  double* v = values.data<double>();
  for (int64_t i = 0; i < values.numel(); ++i) v[i] = v[i] * scale + offset;
  Tensor base = empty(base_shape, dtype);
  kernels::copy(base, values);
  if (layout == 0) return base;
  Strides st = base.strides();
  if (layout == 1) std::swap(st[d - 1], st[d - 2]);
  if (layout == 2) st[d - 1] *= 2;
  return base.as_strided(shape, st, 0);
}

// Small integers (ties for max pooling), as `dtype`.
static Tensor integers(const Shape& shape, DType dtype) {
  Tensor t = randint(-3, 4, shape, DType::Int64);
  Tensor out = empty(shape, dtype);
  kernels::copy(out, t);
  return out;
}

static void set_element(const Tensor& t, int64_t flat_offset, double value) {
  if (t.dtype() == DType::Float32)
    static_cast<float*>(t.raw_data())[flat_offset] = static_cast<float>(value);
  else
    static_cast<double*>(t.raw_data())[flat_offset] = value;
}

// ---- batch norm ---------------------------------------------------------------------------------------
static void check_stats(const Tensor& x, double tol, const char* what) {
  const Shape c{x.size(1)};
  Tensor em = empty(c, x.dtype()), ev = empty(c, x.dtype());
  Tensor am = poisoned(c, x.dtype()), av = poisoned(c, x.dtype());
  cpu::batch_norm_stats(em, ev, x);
  ember::cuda::batch_norm_stats_ember(am, av, x);
  std::string why;
  EXPECT(close(am, em, tol, tol, why), "batch_norm_stats mean %s: %s", what, why.c_str());
  EXPECT(close(av, ev, tol, tol, why), "batch_norm_stats var %s: %s", what, why.c_str());
}

static void test_batch_norm() {
  const std::vector<Shape> shapes = {{2, 3},        {300, 5},  {4, 3, 5, 7}, {1, 2, 70, 70}, {3, 2, 100, 100},
                                     {64, 4, 8, 8}, {5, 3, 9}, {2, 1, 1, 1}, {40, 6, 33, 1}, {7, 2, 3, 300}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 2e-5 : 1e-11;
    for (const Shape& s : shapes)
      for (int layout : {0, 2}) {
        if (layout == 2 && s.size() < 3) continue;
        const Tensor x = make(s, dt, layout, 2, 0.5);
        const int64_t C = s[1];
        char label[160];
        std::snprintf(label, sizeof label, "%s layout %d %s", s.str().c_str(), layout, dtype_name(dt));
        check_stats(x, tol, label);

        // forward with the batch's statistics, with and without weight and bias
        Tensor mean = empty({C}, dt), var = empty({C}, dt);
        cpu::batch_norm_stats(mean, var, x);
        Tensor invstd = make({C}, dt, 0, 0.1, 1.5);  // any positive values
        const Tensor weight = make({C}, dt, 0), bias = make({C}, dt, 0);
        std::string why;
        for (bool affine : {false, true}) {
          Tensor w = affine ? weight : Tensor(), b = affine ? bias : Tensor();
          Tensor ey = empty(s, dt), ay = poisoned(s, dt);
          cpu::batch_norm_forward(ey, x, mean, invstd, w, b);
          ember::cuda::batch_norm_forward_ember(ay, x, mean, invstd, w, b);
          EXPECT(close(ay, ey, tol, tol, why), "batch_norm_forward affine %d %s: %s", affine, label, why.c_str());
        }

        // backward: training and eval with and without weight (all outputs), then each output alone
        const Tensor g = make(s, dt, layout == 2 ? 1 : 0);
        struct Backward {
          bool batch_statistics, has_weight;
          int subset;  // bit 0: grad_x, 1: grad_weight, 2: grad_bias
        };
        for (Backward bw :
             {Backward{true, true, 7}, Backward{true, false, 7}, Backward{false, true, 7}, Backward{false, false, 7},
              Backward{true, true, 1}, Backward{true, true, 2}, Backward{true, false, 4}, Backward{false, true, 1}}) {
          const bool batch_statistics = bw.batch_statistics, has_weight = bw.has_weight;
          const bool want_x = bw.subset & 1, want_w = bw.subset & 2, want_b = bw.subset & 4;
          Tensor w = has_weight ? weight : Tensor();
          Tensor egx = empty(s, dt), egw = empty({C}, dt), egb = empty({C}, dt);
          cpu::batch_norm_backward(egx, egw, egb, g, x, mean, invstd, w, batch_statistics);
          Tensor agx = want_x ? poisoned(s, dt) : Tensor(), agw = want_w ? poisoned({C}, dt) : Tensor();
          Tensor agb = want_b ? poisoned({C}, dt) : Tensor();
          ember::cuda::batch_norm_backward_ember(agx, agw, agb, g, x, mean, invstd, w, batch_statistics);
          // sums over M values: the tolerance grows with M (float32 products summed in float64)
          const double sum_tol = tol * std::sqrt(static_cast<double>(x.numel() / C));
          if (want_x)
            EXPECT(close(agx, egx, sum_tol, tol, why), "batch_norm_backward grad_x train %d weight %d %s: %s",
                   batch_statistics, has_weight, label, why.c_str());
          if (want_w)
            EXPECT(close(agw, egw, sum_tol, tol, why), "batch_norm_backward grad_weight train %d %s: %s",
                   batch_statistics, label, why.c_str());
          if (want_b)
            EXPECT(close(agb, egb, sum_tol, tol, why), "batch_norm_backward grad_bias train %d %s: %s",
                   batch_statistics, label, why.c_str());
        }
      }
  }

  // A mean of 1e4 with a spread of 1 over many values, several rectangles per channel: the variance
  // must keep its digits. The reference is the CPU's two-pass result; a one-pass sum x^2 / M - mean^2
  // in float32 is off by far more than 1e-4 relative here (in float64 by ~1e-9), so the tolerances
  // below would catch it.
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = make({8, 3, 64, 64}, dt, 0, 1, 1e4);
    check_stats(x, dt == DType::Float32 ? 1e-6 : 1e-13,
                (std::string("mean 1e4 [8, 3, 64, 64] ") + dtype_name(dt)).c_str());
    const Tensor one_row = make({1, 2, 300, 300}, dt, 0, 1, 1e4);
    check_stats(one_row, dt == DType::Float32 ? 1e-6 : 1e-13,
                (std::string("mean 1e4 [1, 2, 300, 300] ") + dtype_name(dt)).c_str());
  }

  // NaN: the channel holding it gets NaN statistics, the others are untouched.
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = make({4, 3, 20, 20}, dt, 0);
    set_element(x, (2 * 3 + 1) * 400 + 17, std::numeric_limits<double>::quiet_NaN());  // n 2, channel 1
    Tensor am = poisoned({3}, dt), av = poisoned({3}, dt);
    ember::cuda::batch_norm_stats_ember(am, av, x);
    const auto m = to_vector<double>(am), v = to_vector<double>(av);
    EXPECT(std::isnan(m[1]) && std::isnan(v[1]) && !std::isnan(m[0]) && !std::isnan(v[2]),
           "batch_norm_stats NaN %s: mean %g %g %g var %g %g %g", dtype_name(dt), m[0], m[1], m[2], v[0], v[1], v[2]);
  }
}

// ---- pooling ------------------------------------------------------------------------------------------
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

static std::string args_str(const Pool2dArgs& a) {
  char text[96];
  std::snprintf(text, sizeof text, "k %ldx%ld s %ldx%ld p %ldx%ld", long(a.kernel_h), long(a.kernel_w),
                long(a.stride_h), long(a.stride_w), long(a.pad_h), long(a.pad_w));
  return text;
}

// Max pooling forward (values and indices exact), then its backward from those indices with a
// strided grad_out.
static void check_max(const Tensor& x, const Shape& out_shape, const Pool2dArgs* a, const std::string& label) {
  const DType dt = x.dtype();
  Tensor ey = empty(out_shape, dt), ei = empty(out_shape, DType::Int64);
  Tensor ay = poisoned(out_shape, dt), ai = poisoned(out_shape, DType::Int64);
  if (a) {
    cpu::max_pool2d(ey, ei, x, *a);
    ember::cuda::max_pool2d_ember(ay, ai, x, *a);
  } else {
    cpu::adaptive_max_pool2d(ey, ei, x);
    ember::cuda::adaptive_max_pool2d_ember(ay, ai, x);
  }
  std::string why;
  EXPECT(close(ay, ey, 0, 0, why), "%s forward %s: %s", a ? "max_pool2d" : "adaptive_max_pool2d", label.c_str(),
         why.c_str());
  EXPECT(to_vector<int64_t>(ai) == to_vector<int64_t>(ei), "%s indices %s", a ? "max_pool2d" : "adaptive_max_pool2d",
         label.c_str());
  const Tensor g = make(out_shape, dt, 2);
  Tensor egi = empty(x.shape(), dt), agi = poisoned(x.shape(), dt);
  cpu::max_pool2d_backward(egi, g, ei);
  ember::cuda::max_pool2d_backward_ember(agi, g, ei);
  const double tol = dt == DType::Float32 ? 1e-6 : 1e-14;  // overlapping windows: any order of additions
  EXPECT(close(agi, egi, tol, tol, why), "max_pool2d_backward (%s) %s: %s", a ? "fixed" : "adaptive", label.c_str(),
         why.c_str());
}

static void check_avg(const Tensor& x, const Shape& out_shape, const Pool2dArgs* a, const std::string& label) {
  const DType dt = x.dtype();
  const double tol = dt == DType::Float32 ? 1e-6 : 1e-14;
  Tensor ey = empty(out_shape, dt), ay = poisoned(out_shape, dt);
  if (a) {
    cpu::avg_pool2d(ey, x, *a);
    ember::cuda::avg_pool2d_ember(ay, x, *a);
  } else {
    cpu::adaptive_avg_pool2d(ey, x);
    ember::cuda::adaptive_avg_pool2d_ember(ay, x);
  }
  std::string why;
  EXPECT(close(ay, ey, tol, tol, why), "%s forward %s: %s", a ? "avg_pool2d" : "adaptive_avg_pool2d", label.c_str(),
         why.c_str());
  for (int layout : {0, 1}) {  // a contiguous and a transposed grad_out
    const Tensor g = make(out_shape, dt, layout);
    Tensor egi = empty(x.shape(), dt), agi = poisoned(x.shape(), dt);
    if (a) {
      cpu::avg_pool2d_backward(egi, g, *a);
      ember::cuda::avg_pool2d_backward_ember(agi, g, *a);
    } else {
      cpu::adaptive_avg_pool2d_backward(egi, g);
      ember::cuda::adaptive_avg_pool2d_backward_ember(agi, g);
    }
    EXPECT(close(agi, egi, tol, tol, why), "%s backward grad_out layout %d %s: %s",
           a ? "avg_pool2d" : "adaptive_avg_pool2d", layout, label.c_str(), why.c_str());
  }
}

static void test_pooling() {
  const std::vector<Pool2dArgs> windows = {
      {3, 3, 2, 2, 1, 1},                                                              // ResNet's stem max pool
      {2, 2, 2, 2, 0, 0}, {3, 2, 1, 3, 1, 0}, {5, 5, 1, 1, 2, 2}, {1, 1, 3, 2, 0, 0},  // stride > kernel
      {2, 3, 3, 1, 1, 1}, {4, 4, 3, 3, 2, 2},
  };
  const std::vector<Shape> shapes = {{2, 3, 7, 9}, {1, 2, 13, 11}, {3, 1, 5, 5}, {2, 2, 4, 17}};
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& s : shapes)
      for (int layout : {0, 1, 2}) {
        const Tensor x = make(s, dt, layout);
        for (const Pool2dArgs& a : windows) {
          const Shape out{s[0], s[1], window_out(s[2], a.kernel_h, a.stride_h, a.pad_h),
                          window_out(s[3], a.kernel_w, a.stride_w, a.pad_w)};
          if (out[2] < 1 || out[3] < 1 || s[2] + 2 * a.pad_h < a.kernel_h || s[3] + 2 * a.pad_w < a.kernel_w) continue;
          const std::string label =
              s.str() + " layout " + std::to_string(layout) + " " + args_str(a) + " " + dtype_name(dt);
          check_max(x, out, &a, label);
          check_avg(x, out, &a, label);
        }
        // adaptive: global, uneven (overlapping) bins, identity, more outputs than inputs
        for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 4}, {5, 7}, {2, 2}, {19, 13}}) {
          const Shape out{s[0], s[1], oh, ow};
          const std::string label =
              s.str() + " layout " + std::to_string(layout) + " -> " + out.str() + " " + dtype_name(dt);
          check_max(x, out, nullptr, label);
          check_avg(x, out, nullptr, label);
        }
        const Shape same{s[0], s[1], s[2], s[3]};
        check_avg(x, same, nullptr, s.str() + " identity bins");
      }

  // ties (first maximum wins) and NaN (wins, first one), fixed and adaptive
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = integers({2, 3, 9, 8}, dt);
    set_element(x, 5, std::numeric_limits<double>::quiet_NaN());
    set_element(x, 7, std::numeric_limits<double>::quiet_NaN());
    set_element(x, 100, std::numeric_limits<double>::quiet_NaN());
    const Pool2dArgs a{3, 3, 2, 2, 1, 1};
    check_max(x, {2, 3, 5, 4}, &a, std::string("ties and NaN ") + dtype_name(dt));
    check_max(x, {2, 3, 4, 3}, nullptr, std::string("adaptive ties and NaN ") + dtype_name(dt));
  }

  // the scatter's atomics raced for real: every thread of a block at once, overlapping windows
  emu::force_threaded = true;
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = integers({2, 2, 12, 12}, dt);
    const Pool2dArgs a{3, 3, 1, 1, 1, 1};
    check_max(x, {2, 2, 12, 12}, &a, std::string("threaded atomics ") + dtype_name(dt));
  }
  emu::force_threaded = false;
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  emu::sm_count = 1;
  const std::string only = argc > 1 ? argv[1] : "";
  if (only.empty() || only == "batch_norm") test_batch_norm();
  std::printf("batch_norm done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  if (only.empty() || only == "pooling") test_pooling();
  std::printf("pooling done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  std::printf("ALL: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  return failures ? 1 : 0;
}
