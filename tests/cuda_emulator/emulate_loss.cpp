// Runs the real cuda/loss.cu on the CPU emulator (threaded mode: the cross-entropy kernels use
// warp shuffles; see README.md) and compares with the CPU kernels (tensor/cpu/loss.cpp): the
// pointwise losses and their backward over dtypes and layouts (broadcast and stride-0 upstream
// gradients included), cross_entropy / nll_loss and their backward over row counts and widths
// (C > 32, so a warp loops; more rows than one block), ignored rows, and bad targets: the same
// first bad position as the CPU, and no read out of bounds (AddressSanitizer). Outputs are
// poisoned with 0xFF.
//   emulate_loss [pointwise|rows]   (no argument: all)
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
// A float tensor of `shape` laid out as `layout`: 0 contiguous, 1 transposed (2-d), 2 every other
// element of the last dim, 3 first dim broadcast (stride 0).
static Tensor make(const Shape& shape, DType dtype, int layout, double scale = 1) {
  Shape base_shape = shape;
  if (layout == 1) std::swap(base_shape[0], base_shape[1]);
  if (layout == 2) base_shape[base_shape.size() - 1] *= 2;
  if (layout == 3) base_shape[0] = 1;
  Tensor base = empty(base_shape, dtype);
  kernels::copy(base, randn(base_shape, DType::Float64));
  if (scale != 1) {
    Tensor s = empty({}, dtype);
    kernels::fill(s, scale);
    kernels::binary(BinaryOp::Mul, base, base, expand_view(s, base_shape));
  }
  if (layout == 0) return base;
  Strides st = base.strides();
  if (layout == 1) return base.as_strided(shape, Strides{st[1], st[0]}, 0);
  if (layout == 2) {
    st[st.size() - 1] *= 2;
    return base.as_strided(shape, st, 0);
  }
  st[0] = 0;
  return base.as_strided(shape, st, 0);
}

static const char* op_names[] = {"squared_error", "bce_with_logits"};

static void test_pointwise() {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
    for (const Shape& s : {Shape{1, 1}, Shape{5, 37}, Shape{40, 30}})
      for (int layout = 0; layout < 4; ++layout)
        for (LossOp op : {LossOp::SquaredError, LossOp::BinaryCrossEntropyWithLogits})
          for (bool weighted : {false, true}) {
            if (weighted && op == LossOp::SquaredError) continue;
            Tensor x = make(s, dt, layout, 3), t = make(s, dt, 0), p;
            if (weighted) p = expand_view(make(Shape{s[1]}, dt, 0), s);
            std::string why;
            Tensor expected = empty(s, dt), actual = poisoned(s, dt);
            cpu::pointwise_loss(op, expected, x, t, p);
            ember::cuda::pointwise_loss(op, actual, x, t, p);
            EXPECT(close(actual, expected, tol, tol, why), "%s weighted %d layout %d %s %s: %s", op_names[int(op)],
                   weighted, layout, s.str().c_str(), dtype_name(dt), why.c_str());
            // backward: a full upstream gradient, then a stride-0 expanded scalar
            for (bool scalar_upstream : {false, true}) {
              Tensor g = scalar_upstream ? expand_view(make(Shape{1, 1}, dt, 0), s) : make(s, dt, 1);
              Tensor egx = empty(s, dt), egt = empty(s, dt), agx = poisoned(s, dt), agt = poisoned(s, dt);
              cpu::pointwise_loss_backward(op, egx, egt, g, x, t, p);
              ember::cuda::pointwise_loss_backward(op, agx, agt, g, x, t, p);
              EXPECT(close(agx, egx, tol, tol, why), "%s backward input weighted %d layout %d %s: %s",
                     op_names[int(op)], weighted, layout, s.str().c_str(), why.c_str());
              EXPECT(close(agt, egt, tol, tol, why), "%s backward target weighted %d layout %d %s: %s",
                     op_names[int(op)], weighted, layout, s.str().c_str(), why.c_str());
              // only the input's gradient: the target's output is left alone
              Tensor only = poisoned(s, dt);
              ember::cuda::pointwise_loss_backward(op, only, Tensor(), g, x, t, p);
              EXPECT(close(only, egx, tol, tol, why), "%s backward input only: %s", op_names[int(op)], why.c_str());
            }
          }
  }
}

// Targets in 0..classes-1; every `ignore_every`-th one is ignore_index, and `bad` (when >= 0) is
// set to an out-of-range value at that position.
static Tensor targets(int64_t rows, int64_t classes, int ignore_every, int64_t ignore_index, int64_t bad,
                      int64_t bad_value) {
  static std::mt19937 rng(7);
  Tensor t = empty({rows}, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) {
    p[i] = static_cast<int64_t>(rng() % static_cast<uint64_t>(classes));
    if (ignore_every > 0 && i % ignore_every == 0) p[i] = ignore_index;
  }
  if (bad >= 0) p[bad] = bad_value;
  return t;
}

static void test_rows() {
  struct RowsCase {
    int64_t rows, classes;
  };
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = dt == DType::Float32 ? 2e-5 : 1e-12;
    for (RowsCase rc :
         {RowsCase{1, 1}, RowsCase{3, 5}, RowsCase{9, 33}, RowsCase{40, 70}, RowsCase{300, 4}, RowsCase{2, 1500}})
      for (int layout : {0, 1, 2})
        for (int64_t ignore_index : {int64_t{-100}, int64_t{1}})
          for (int64_t bad : {int64_t{-1}, rc.rows / 2}) {
            const Shape s{rc.rows, rc.classes};
            Tensor x = make(s, dt, layout, 4);
            for (int64_t bad_value : {rc.classes, int64_t{-7}}) {
              if ((bad < 0 && bad_value < 0) || bad_value == ignore_index) continue;
              Tensor t = targets(rc.rows, rc.classes, 3, ignore_index, bad, bad_value);
              char label[160];
              std::snprintf(label, sizeof label, "%s layout %d ignore %ld bad %ld=%ld %s", s.str().c_str(), layout,
                            static_cast<long>(ignore_index), static_cast<long>(bad), static_cast<long>(bad_value),
                            dtype_name(dt));
              std::string why;
              for (bool logits : {true, false}) {
                const char* name = logits ? "cross_entropy" : "nll_loss";
                Tensor expected = empty({rc.rows}, dt), actual = poisoned({rc.rows}, dt);
                const int64_t expected_bad = logits ? cpu::cross_entropy(expected, x, t, ignore_index)
                                                    : cpu::nll_loss(expected, x, t, ignore_index);
                const int64_t actual_bad = logits ? ember::cuda::cross_entropy(actual, x, t, ignore_index)
                                                  : ember::cuda::nll_loss(actual, x, t, ignore_index);
                EXPECT(actual_bad == expected_bad && expected_bad == bad, "%s %s: first bad %ld vs cpu %ld", name,
                       label, static_cast<long>(actual_bad), static_cast<long>(expected_bad));
                EXPECT(close(actual, expected, tol, tol, why), "%s %s: %s", name, label, why.c_str());
                // backward, with a strided upstream gradient and with a stride-0 expanded one
                for (bool scalar_upstream : {false, true}) {
                  Tensor g = scalar_upstream ? expand_view(make({1}, dt, 0), {rc.rows}) : make({rc.rows}, dt, 2);
                  Tensor eg = empty(s, dt), ag = poisoned(s, dt);
                  if (logits) {
                    cpu::cross_entropy_backward(eg, g, x, t, ignore_index);
                    ember::cuda::cross_entropy_backward(ag, g, x, t, ignore_index);
                  } else {
                    cpu::nll_loss_backward(eg, g, t, ignore_index);
                    ember::cuda::nll_loss_backward(ag, g, t, ignore_index);
                  }
                  EXPECT(close(ag, eg, tol, tol, why), "%s backward %s scalar upstream %d: %s", name, label,
                         scalar_upstream, why.c_str());
                }
              }
            }
          }
  }
  // logits of +-1000 stay finite
  Tensor x = empty({2, 3});
  float values[] = {1000, -1000, 0, -1000, 1000, 1000};
  std::memcpy(x.raw_data(), values, sizeof values);
  Tensor t = empty({2}, DType::Int64);
  t.data<int64_t>()[0] = 0, t.data<int64_t>()[1] = 0;
  Tensor loss = poisoned({2}, DType::Float32);
  ember::cuda::cross_entropy(loss, x, t, -100);
  EXPECT(loss.data<float>()[0] == 0.0f && std::fabs(loss.data<float>()[1] - (2000.0f + std::log(2.0f))) < 1e-2f,
         "large logits: %g %g", loss.data<float>()[0], loss.data<float>()[1]);
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  emu::sm_count = 1;
  const std::string only = argc > 1 ? argv[1] : "";
  if (only.empty() || only == "pointwise") test_pointwise();
  std::printf("pointwise done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  if (only.empty() || only == "rows") test_rows();
  std::printf("rows done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  std::printf("ALL: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  return failures ? 1 : 0;
}
