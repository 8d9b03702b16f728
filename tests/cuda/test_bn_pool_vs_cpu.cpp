// Batch norm and pooling on the GPU against the CPU kernels (tensor/cpu/batch_norm.cpp, pooling.cpp):
// every table entry called directly (so the flags and the undefined outputs are covered), then the
// differentiable ops (nn/batch_norm.h, nn/pooling.h) forward and backward, in float32 and float64,
// on both backends: Ember's kernels, and cuDNN when this build has it (cuda/dnn_backend.h). Every
// GPU allocation is poisoned (tests/cuda/main.cpp), so an element a kernel forgets fails.
//
// The shapes: odd sizes; BatchNorm1d (S = 1) and 2d; one channel split over many blocks (N = 1 with a
// large plane, and a large N*H*W); a mean of 1e4 with a spread of 1, where a one-pass
// sum x^2 / M - mean^2 in float32 would be off by hundreds of percent; padding, stride != kernel
// (also stride > kernel), rectangular windows, strided and transposed inputs; adaptive pooling with
// even bins (cuDNN's path) and uneven, overlapping bins (Ember's on both backends); ties and NaN.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "cuda/cuda_api.h"
#include "cuda_test_util.h"
#include "nn/batch_norm.h"
#include "nn/pooling.h"
#include "tensor/kernels.h"

using namespace ember;
using namespace ember::test;
using Pool2dArgs = kernels::Pool2dArgs;

namespace {

constexpr Layout C = Layout::Contiguous, T = Layout::Transposed, S = Layout::Strided;

// The backends to run: Ember's kernels, and cuDNN where this build has it.
std::vector<cuda::DnnBackend> backends() {
  if (cuda::cudnn_available()) return {cuda::DnnBackend::Ember, cuda::DnnBackend::Cudnn};
  return {cuda::DnnBackend::Ember};
}

// Selects a backend for one scope.
struct BackendScope {
  cuda::DnnBackend saved;
  explicit BackendScope(cuda::DnnBackend backend) : saved(cuda::dnn_backend()) { cuda::set_dnn_backend(backend); }
  ~BackendScope() { cuda::set_dnn_backend(saved); }
};

// The same values on the CPU and the test device, in one layout: N(0, 1) * scale + offset.
struct Values {
  Tensor cpu, gpu;
};
Values values(const Shape& shape, DType dtype, Layout layout, uint64_t seed, double scale = 1, double offset = 0) {
  const InputSpec spec{shape, dtype, layout};
  Generator g{seed, 0};
  Tensor base = normal(base_shape(spec), offset, scale, dtype, Device::cpu(), &g);
  return {apply_layout(base, spec), apply_layout(to(base, test_device()), spec)};
}
// Small integers (ties for max pooling).
Values integers(const Shape& shape, DType dtype, uint64_t seed) {
  Generator g{seed, 0};
  Tensor base = to_dtype(randint(-3, 4, shape, DType::Int64, Device::cpu(), &g), dtype);
  return {base, to(base, test_device())};
}
Tensor on_device(const Shape& shape, DType dtype) { return empty(shape, dtype, test_device()); }

// ---- batch norm: the three entries ------------------------------------------------------------------
struct BatchNormCase {
  Shape shape;
  Layout layout = C;
  double offset = 0;  // the mean of x
};

void check_batch_norm_entries(const BatchNormCase& bc, DType dtype, uint64_t seed) {
  const int64_t channels = bc.shape[1];
  const double M = static_cast<double>(bc.shape.numel() / channels);
  const double tol = dtype == DType::Float32 ? 1e-5 : 1e-10;
  const Values x = values(bc.shape, dtype, bc.layout, seed, 1, bc.offset);
  const Shape c{channels};

  // statistics: the mean with a relative tolerance, the variance relative to itself (about 1 here)
  Tensor mean = empty(c, dtype), var = empty(c, dtype);
  kernels::batch_norm_stats(mean, var, x.cpu);
  Tensor gmean = on_device(c, dtype), gvar = on_device(c, dtype);
  kernels::batch_norm_stats(gmean, gvar, x.gpu);
  CHECK_CLOSE(to_cpu(gmean), mean, tol, tol);
  CHECK_CLOSE(to_cpu(gvar), var, 0, dtype == DType::Float32 ? 1e-4 : 1e-9);

  // forward, with and without weight and bias, from the CPU's statistics
  const Values invstd = values(c, dtype, C, seed + 1, 0.1, 1.5), weight = values(c, dtype, C, seed + 2),
               bias = values(c, dtype, C, seed + 3);
  const Tensor gmean_in = to(mean, test_device());
  for (bool affine : {false, true}) {
    CAPTURE(affine);
    Tensor y = empty(bc.shape, dtype), gy = on_device(bc.shape, dtype);
    kernels::batch_norm_forward(y, x.cpu, mean, invstd.cpu, affine ? weight.cpu : Tensor(),
                                affine ? bias.cpu : Tensor());
    kernels::batch_norm_forward(gy, x.gpu, gmean_in, invstd.gpu, affine ? weight.gpu : Tensor(),
                                affine ? bias.gpu : Tensor());
    // |y| reaches |x - mean| invstd |gamma|; x's mean of 1e4 costs float32 digits before any kernel
    CHECK_CLOSE(to_cpu(gy), y, dtype == DType::Float32 ? 1e-4 + 3e-7 * std::fabs(bc.offset) : 1e-9, 1e-4);
  }

  // backward: training and eval, with and without weight, all outputs and grad_x alone
  const Values g = values(bc.shape, dtype, bc.layout == C ? T : C, seed + 4);
  const double sum_atol = tol * 10 * std::sqrt(M);
  for (bool batch_statistics : {true, false})
    for (bool has_weight : {true, false})
      for (bool all_outputs : {true, false}) {
        CAPTURE(batch_statistics);
        CAPTURE(has_weight);
        CAPTURE(all_outputs);
        Tensor gx = empty(bc.shape, dtype), gw = empty(c, dtype), gb = empty(c, dtype);
        kernels::batch_norm_backward(gx, gw, gb, g.cpu, x.cpu, mean, invstd.cpu, has_weight ? weight.cpu : Tensor(),
                                     batch_statistics);
        Tensor dgx = on_device(bc.shape, dtype);
        Tensor dgw = all_outputs ? on_device(c, dtype) : Tensor(), dgb = all_outputs ? on_device(c, dtype) : Tensor();
        kernels::batch_norm_backward(dgx, dgw, dgb, g.gpu, x.gpu, gmean_in, invstd.gpu,
                                     has_weight ? weight.gpu : Tensor(), batch_statistics);
        CHECK_CLOSE(to_cpu(dgx), gx, dtype == DType::Float32 ? 1e-4 : 1e-9, 1e-4);
        if (all_outputs) {
          CHECK_CLOSE(to_cpu(dgw), gw, sum_atol, 1e-4);
          CHECK_CLOSE(to_cpu(dgb), gb, sum_atol, 1e-4);
        }
      }
}

std::vector<BatchNormCase> batch_norm_cases() {
  return {
      {{2, 3}},                    // BatchNorm1d, tiny
      {{300, 5}},                  // BatchNorm1d, many rows
      {{4, 3, 5, 7}},              // odd sizes
      {{5, 3, 9}, S},              // (N, C, L), strided
      {{3, 4, 6, 5}, T},           // transposed view
      {{1, 2, 150, 150}},          // one image: each channel split along its plane
      {{32, 4, 112, 112}},         // large N*H*W (401,408 values per channel)
      {{8, 3, 64, 64}, C, 1e4},    // a large mean
      {{1, 2, 300, 300}, C, 1e4},  // a large mean, one image
      {{64, 512, 7, 7}},           // ResNet's last stage
  };
}

}  // namespace

TEST_CASE("batch norm entries give the CPU's results on the GPU, on each backend") {
  for (cuda::DnnBackend backend : backends()) {
    BackendScope scope(backend);
    CAPTURE(cuda::dnn_backend_name(backend));
    uint64_t seed = 100;
    for (const BatchNormCase& bc : batch_norm_cases())
      for (DType dtype : {DType::Float32, DType::Float64}) {
        CAPTURE(bc.shape.str());
        CAPTURE(static_cast<int>(bc.layout));
        CAPTURE(bc.offset);
        CAPTURE(dtype_name(dtype));
        check_batch_norm_entries(bc, dtype, seed += 10);
      }
  }
}

TEST_CASE("the batch-norm variance keeps its digits for a mean of 1e4 (Ember's kernels)") {
  // An independent reference: float64 values whose exact mean and variance are known. x = 1e4 + d
  // with d = +-1 alternating, so mean = 1e4 and var = 1 exactly; in float32 both are representable.
  BackendScope scope(cuda::DnnBackend::Ember);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dtype));
    const Shape shape{16, 2, 128, 128};
    std::vector<double> host(shape.numel());
    for (size_t i = 0; i < host.size(); ++i) host[i] = 1e4 + (i % 2 ? 1.0 : -1.0);
    const Tensor x = to(to_dtype(from_vector(host, shape), dtype), test_device());
    Tensor mean = on_device({2}, dtype), var = on_device({2}, dtype);
    kernels::batch_norm_stats(mean, var, x);
    for (double m : to_vector<double>(to_cpu(mean))) CHECK(m == doctest::Approx(1e4).epsilon(1e-9));
    for (double v : to_vector<double>(to_cpu(var))) CHECK(v == doctest::Approx(1.0).epsilon(1e-6));
  }
}

TEST_CASE("batch norm (the op) trains and evaluates on the GPU as on the CPU, on each backend") {
  for (cuda::DnnBackend backend : backends()) {
    BackendScope scope(backend);
    CAPTURE(cuda::dnn_backend_name(backend));
    for (DType dtype : {DType::Float32, DType::Float64})
      for (bool training : {true, false}) {
        CAPTURE(dtype_name(dtype));
        CAPTURE(training);
        const Shape shape{6, 5, 9, 11};
        const Values x = values(shape, dtype, C, 7, 2, 3);
        const Values w = values({5}, dtype, C, 8), b = values({5}, dtype, C, 9);
        const Values rm = values({5}, dtype, C, 10), rv = values({5}, dtype, C, 11, 0.1, 1);
        Tensor xc = x.cpu.detach().requires_grad_(), xg = x.gpu.detach().requires_grad_();
        Tensor wc = w.cpu.detach().requires_grad_(), wg = w.gpu.detach().requires_grad_();
        Tensor bc = b.cpu.detach().requires_grad_(), bg = b.gpu.detach().requires_grad_();
        Tensor rmc = clone(rm.cpu), rvc = clone(rv.cpu), rmg = clone(rm.gpu), rvg = clone(rv.gpu);
        Tensor yc = nn::batch_norm(xc, rmc, rvc, wc, bc, training);
        Tensor yg = nn::batch_norm(xg, rmg, rvg, wg, bg, training);
        CHECK_CLOSE(to_cpu(yg), yc, 1e-4, 1e-4);
        CHECK_CLOSE(to_cpu(rmg), rmc, 1e-5, 1e-5);
        CHECK_CLOSE(to_cpu(rvg), rvc, 1e-5, 1e-4);
        const Values up = values(shape, dtype, C, 12);
        backward(yc, up.cpu);
        backward(yg, up.gpu);
        CHECK_CLOSE(to_cpu(xg.grad()), xc.grad(), 1e-4, 1e-4);
        CHECK_CLOSE(to_cpu(wg.grad()), wc.grad(), 1e-3, 1e-4);
        CHECK_CLOSE(to_cpu(bg.grad()), bc.grad(), 1e-3, 1e-4);
      }
  }
}

// ---- pooling: the seven entries ---------------------------------------------------------------------
namespace {

int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t p) { return (in + 2 * p - k) / s + 1; }

// max forward (values and indices exact), then max backward from the CPU's indices.
void check_max_entries(const Values& x, const Shape& out, const Pool2dArgs* a) {
  const DType dtype = x.cpu.dtype();
  Tensor y = empty(out, dtype), idx = empty(out, DType::Int64);
  Tensor gy = on_device(out, dtype), gidx = on_device(out, DType::Int64);
  if (a) {
    kernels::max_pool2d(y, idx, x.cpu, *a);
    kernels::max_pool2d(gy, gidx, x.gpu, *a);
  } else {
    kernels::adaptive_max_pool2d(y, idx, x.cpu);
    kernels::adaptive_max_pool2d(gy, gidx, x.gpu);
  }
  CHECK_CLOSE(to_cpu(gy), y, 0, 0);
  CHECK(to_vector<int64_t>(to_cpu(gidx)) == to_vector<int64_t>(idx));
  const Values g = values(out, dtype, S, 77);
  Tensor gi = empty(x.cpu.shape(), dtype), ggi = on_device(x.cpu.shape(), dtype);
  kernels::max_pool2d_backward(gi, g.cpu, idx);
  kernels::max_pool2d_backward(ggi, g.gpu, to(idx, test_device()));
  CHECK_CLOSE(to_cpu(ggi), gi, 1e-6, 1e-6);
}

// avg forward and backward (a contiguous and a transposed grad_out).
void check_avg_entries(const Values& x, const Shape& out, const Pool2dArgs* a) {
  const DType dtype = x.cpu.dtype();
  const double tol = dtype == DType::Float32 ? 1e-6 : 1e-12;
  Tensor y = empty(out, dtype), gy = on_device(out, dtype);
  if (a) {
    kernels::avg_pool2d(y, x.cpu, *a);
    kernels::avg_pool2d(gy, x.gpu, *a);
  } else {
    kernels::adaptive_avg_pool2d(y, x.cpu);
    kernels::adaptive_avg_pool2d(gy, x.gpu);
  }
  CHECK_CLOSE(to_cpu(gy), y, tol, tol);
  for (Layout layout : {C, T}) {
    CAPTURE(static_cast<int>(layout));
    const Values g = values(out, dtype, layout, 78);
    Tensor gi = empty(x.cpu.shape(), dtype), ggi = on_device(x.cpu.shape(), dtype);
    if (a) {
      kernels::avg_pool2d_backward(gi, g.cpu, *a);
      kernels::avg_pool2d_backward(ggi, g.gpu, *a);
    } else {
      kernels::adaptive_avg_pool2d_backward(gi, g.cpu);
      kernels::adaptive_avg_pool2d_backward(ggi, g.gpu);
    }
    CHECK_CLOSE(to_cpu(ggi), gi, tol, tol);
  }
}

}  // namespace

TEST_CASE("pooling entries give the CPU's results on the GPU, on each backend") {
  const std::vector<Pool2dArgs> windows = {
      {3, 3, 2, 2, 1, 1},                                                              // ResNet's stem max pool
      {2, 2, 2, 2, 0, 0}, {3, 2, 1, 3, 1, 0}, {5, 5, 1, 1, 2, 2}, {1, 1, 3, 2, 0, 0},  // stride > kernel
      {2, 3, 3, 1, 1, 1}, {4, 4, 3, 3, 2, 2},
  };
  const std::vector<Shape> shapes = {{2, 3, 7, 9}, {1, 2, 13, 11}, {3, 1, 5, 5}, {4, 64, 56, 56}};
  for (cuda::DnnBackend backend : backends()) {
    BackendScope scope(backend);
    CAPTURE(cuda::dnn_backend_name(backend));
    uint64_t seed = 500;
    for (DType dtype : {DType::Float32, DType::Float64})
      for (const Shape& shape : shapes)
        for (Layout layout : {C, T, S}) {
          CAPTURE(dtype_name(dtype));
          CAPTURE(shape.str());
          CAPTURE(static_cast<int>(layout));
          const Values x = values(shape, dtype, layout, ++seed);
          for (const Pool2dArgs& a : windows) {
            if (shape[2] + 2 * a.pad_h < a.kernel_h || shape[3] + 2 * a.pad_w < a.kernel_w) continue;
            const Shape out{shape[0], shape[1], window_out(shape[2], a.kernel_h, a.stride_h, a.pad_h),
                            window_out(shape[3], a.kernel_w, a.stride_w, a.pad_w)};
            INFO("kernel ", a.kernel_h, "x", a.kernel_w, " stride ", a.stride_h, "x", a.stride_w, " padding ", a.pad_h,
                 "x", a.pad_w);
            check_max_entries(x, out, &a);
            check_avg_entries(x, out, &a);
          }
          // adaptive: global and even bins (cuDNN's path), uneven bins, more outputs than inputs
          for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{
                   {1, 1}, {shape[2], shape[3]}, {3, 4}, {5, 7}, {2, 2}, {19, 13}}) {
            const Shape out{shape[0], shape[1], oh, ow};
            CAPTURE(out.str());
            check_max_entries(x, out, nullptr);
            check_avg_entries(x, out, nullptr);
          }
        }
    // ties (the first maximum wins) and NaN (the first NaN wins)
    for (DType dtype : {DType::Float32, DType::Float64}) {
      CAPTURE(dtype_name(dtype));
      Values x = integers({2, 3, 9, 8}, dtype, 9);
      std::vector<double> host = to_vector<double>(x.cpu);
      for (size_t i : {5, 7, 100}) host[i] = std::numeric_limits<double>::quiet_NaN();
      x.cpu = to_dtype(from_vector(host, x.cpu.shape()), dtype);
      x.gpu = to(x.cpu, test_device());
      const Pool2dArgs a{3, 3, 2, 2, 1, 1};
      check_max_entries(x, {2, 3, 5, 4}, &a);
      check_max_entries(x, {2, 3, 4, 3}, nullptr);
    }
  }
}

TEST_CASE("pooling ops (forward and backward) on the GPU as on the CPU, on each backend") {
  namespace F = nn::functional;
  for (cuda::DnnBackend backend : backends()) {
    BackendScope scope(backend);
    CAPTURE(cuda::dnn_backend_name(backend));
    for (DType dtype : {DType::Float32, DType::Float64}) {
      CAPTURE(dtype_name(dtype));
      using Op = std::function<Tensor(const Tensor&)>;
      const std::vector<std::pair<const char*, Op>> ops = {
          {"max_pool2d", [](const Tensor& x) { return F::max_pool2d(x, 3, 2, 1); }},
          {"avg_pool2d", [](const Tensor& x) { return F::avg_pool2d(x, nn::PoolSize(3, 2), 2, 1); }},
          {"adaptive_avg_pool2d/global", [](const Tensor& x) { return F::adaptive_avg_pool2d(x, 1); }},
          {"adaptive_avg_pool2d/uneven",
           [](const Tensor& x) {
             return F::adaptive_avg_pool2d(x, {4, 5});
           }},
          {"adaptive_concat_pool2d", [](const Tensor& x) { return F::adaptive_concat_pool2d(x, 2); }},
      };
      for (const auto& [name, op] : ops) {
        CAPTURE(name);
        const Values x = values({3, 4, 11, 13}, dtype, T, 31);
        Tensor xc = x.cpu.detach().requires_grad_(), xg = x.gpu.detach().requires_grad_();
        Tensor yc = op(xc), yg = op(xg);
        CHECK_CLOSE(to_cpu(yg), yc, 1e-6, 1e-6);
        const Values up = values(yc.shape(), dtype, C, 32);
        backward(yc, up.cpu);
        backward(yg, up.gpu);
        CHECK_CLOSE(to_cpu(xg.grad()), xc.grad(), 1e-6, 1e-6);
      }
    }
  }
}
