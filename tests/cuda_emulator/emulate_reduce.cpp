// Runs the real cuda/reduce.cu and cuda/softmax.cu on the CPU emulator (threaded mode: their
// kernels use __syncthreads and warp shuffles; see README.md) and compares with the CPU kernels:
// reduce (sum/max/min), reduce_with_index (argmax/argmin), softmax/log_softmax and their backward,
// over many shapes, layouts and dtypes, plus the error messages. Outputs are poisoned with 0xFF.
//   emulate_reduce [reduce|index|softmax]   (no argument: all)
#include <cuda_runtime.h>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

#include <cstdio>
#include <functional>
#include <random>

#include "harness.h"

using namespace ember;
using emu_harness::checks;
using emu_harness::failures;
static std::vector<double> values_of(const Tensor& t) { return to_vector<double>(t); }

// A tensor of `dtype` with the given shape laid out as `layout`: 0 contiguous, 1 reversed dims
// (transposed memory), 2 every other element of a twice-as-long last dim, 3 first dim broadcast.
static std::mt19937 rng(42);
static Tensor make(const Shape& shape, DType dtype, int layout, int value_range = 0) {
  Shape base_shape = shape;
  if (layout == 1) std::reverse(base_shape.begin(), base_shape.end());
  if (layout == 2 && base_shape.size() > 0) base_shape[base_shape.size() - 1] *= 2;
  if (layout == 3 && base_shape.size() > 0) base_shape[0] = 1;
  Tensor base64 =
      value_range > 0 ? randint(0, value_range, base_shape, DType::Int64) : randn(base_shape, DType::Float64);
  Tensor base = empty(base_shape, dtype);
  kernels::copy(base, base64);
  if (layout == 0 || shape.size() == 0) return base;
  Strides st = base.strides();
  if (layout == 1) {
    Strides r;
    for (int d = shape.size() - 1; d >= 0; --d) r.push_back(st[d]);
    return base.as_strided(shape, r, 0);
  }
  if (layout == 2) {
    st[st.size() - 1] *= 2;
    return base.as_strided(shape, st, 0);
  }
  st[0] = 0;
  return base.as_strided(shape, st, 0);
}

static const char* names[] = {"sum", "max", "min"};

static void check_reduce(ReduceOp op, const Tensor& in, const Shape& keep, const char* label) {
  Tensor expected = empty(keep, in.dtype());
  kernels::reduce(op, expected, in);
  Tensor actual = poisoned(keep, in.dtype());
  ember::cuda::reduce(op, actual, in);
  std::string why;
  const bool fl = is_floating(in.dtype());
  const double tol = in.dtype() == DType::Float32 ? 1e-4 : 1e-10;
  EXPECT(close(actual, expected, fl ? tol : 0, fl ? tol : 0, why), "reduce %s %s in %s dtype %s keep %s: %s",
         names[int(op)], label, in.shape().str().c_str(), dtype_name(in.dtype()), keep.str().c_str(), why.c_str());
}

static Shape keep_of(const Shape& s, unsigned mask) {
  Shape k = s;
  for (int d = 0; d < s.size(); ++d)
    if (mask & (1u << d)) k[d] = 1;
  return k;
}

static void test_reduce() {
  const std::vector<Shape> shapes = {{},     {1},       {7},      {40}, {3, 5}, {33, 70}, {4, 3, 65}, {2, 1, 300, 3},
                                     {5000}, {70, 600}, {600, 70}};
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
  for (const Shape& s : shapes)
    for (DType dt : (std::printf("  shape %s (%ld launches)\n", s.str().c_str(), emu::launches.load()), dtypes))
      for (int layout = 0; layout < 4; ++layout) {
        if (s.numel() > 200 && (dt == DType::UInt8 || dt == DType::Bool || dt == DType::Float64)) continue;
        if (s.numel() > 1000 && layout >= 2) continue;
        Tensor in = make(s, dt, layout, dt == DType::Float32 || dt == DType::Float64 ? 0 : 200);
        for (unsigned mask = 0; mask < (1u << s.size()); ++mask) {
          for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) {
            char label[32];
            std::snprintf(label, sizeof label, "layout %d mask %u", layout, mask);
            check_reduce(op, in, keep_of(s, mask), label);
          }
        }
      }
  // long reductions: split into two passes (rows and columns), with emulated 1 SM
  for (int layout = 0; layout < 2; ++layout) {
    Tensor a = make({40000}, DType::Float32, layout);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min}) check_reduce(op, a, {1}, "full long");
    Tensor b = make({3, 8000}, DType::Float64, layout);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max}) check_reduce(op, b, {3, 1}, "rows long");
    Tensor c = make({3000, 40}, DType::Float64, layout);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Min}) check_reduce(op, c, {1, 40}, "columns long");
    Tensor d = make({1000, 5, 20}, DType::Int64, layout, 1000);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max}) check_reduce(op, d, {1, 5, 1}, "mixed long");
  }
  // NaN propagates through max / min
  for (int n : {5, 100, 8000}) {
    Tensor x = make({2, n}, DType::Float32, 0);
    x.data<float>()[n + n / 2] = NAN;
    for (ReduceOp op : {ReduceOp::Max, ReduceOp::Min}) {
      Tensor out = poisoned({2, 1}, DType::Float32);
      ember::cuda::reduce(op, out, x);
      Tensor expected = empty({2, 1});
      kernels::reduce(op, expected, x);
      EXPECT(!std::isnan(out.data<float>()[0]) && out.data<float>()[0] == expected.data<float>()[0], "nan row 0 n %d",
             n);
      EXPECT(std::isnan(out.data<float>()[1]), "nan row 1 n %d", n);
      Tensor all = poisoned({1, 1}, DType::Float32);
      ember::cuda::reduce(op, all, x);
      EXPECT(std::isnan(all.data<float>()[0]), "nan all n %d", n);
    }
  }
  // empty
  {
    Tensor e = empty({0, 4});
    Tensor out = poisoned({1, 4}, DType::Float32);
    ember::cuda::reduce(ReduceOp::Sum, out, e);
    EXPECT(values_of(out) == std::vector<double>(4, 0.0), "empty sum");
    bool threw = false;
    try {
      ember::cuda::reduce(ReduceOp::Max, out, e);
    } catch (const Error& err) {
      threw = std::string(err.what()).find("cannot reduce over an empty dimension") != std::string::npos;
      std::printf("message: %s\n", err.what());
    }
    EXPECT(threw, "empty max throws");
    Tensor out2 = poisoned({0, 1}, DType::Float32);
    ember::cuda::reduce(ReduceOp::Max, out2, e);  // nothing to do
    try {
      ember::cuda::reduce(ReduceOp::Sum, empty({2, 2}, DType::Float64), empty({2, 3}));
    } catch (const Error& err) {
      std::printf("message: %s\n", err.what());
    }
    try {
      ember::cuda::reduce(ReduceOp::Sum, empty({2, 2}), empty({2, 3}));
    } catch (const Error& err) {
      std::printf("message: %s\n", err.what());
    }
  }
}

static void check_with_index(ReduceOp op, const Tensor& in, int dim, bool keepdim, const char* label) {
  Shape keep = in.shape();
  keep[dim] = 1;
  Tensor ev = empty(keep, in.dtype()), ei = empty(keep, DType::Int64);
  kernels::reduce_with_index(op, ev, ei, in, dim);
  Shape shape = keep;
  if (!keepdim) shape.erase(dim);
  Tensor av = poisoned(shape, in.dtype()), ai = poisoned(shape, DType::Int64);
  ember::cuda::reduce_with_index(op, av, ai, in, dim);
  std::string why;
  Tensor ev2 = ev.as_strided(shape, contiguous_strides(shape), 0),
         ei2 = ei.as_strided(shape, contiguous_strides(shape), 0);
  EXPECT(close(av, ev2, 0, 0, why), "with_index values %s %s in %s %s dim %d: %s", names[int(op)], label,
         in.shape().str().c_str(), dtype_name(in.dtype()), dim, why.c_str());
  EXPECT(close(ai, ei2, 0, 0, why), "with_index indices %s %s in %s %s dim %d: %s", names[int(op)], label,
         in.shape().str().c_str(), dtype_name(in.dtype()), dim, why.c_str());
}

static void test_with_index() {
  const std::vector<Shape> shapes = {{1},    {7},       {40},     {3, 5}, {33, 70}, {4, 3, 65}, {2, 1, 300, 3},
                                     {5000}, {600, 70}, {3, 8000}};
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
  for (const Shape& s : shapes)
    for (DType dt : (std::printf("  shape %s (%ld launches)\n", s.str().c_str(), emu::launches.load()), dtypes))
      for (int layout = 0; layout < 4; ++layout) {
        if (s.numel() > 200 && dt != DType::Float32 && dt != DType::Int64) continue;
        if (s.numel() > 1000 && layout >= 2) continue;
        // few distinct values: many ties
        Tensor in = make(s, dt, layout, dt == DType::Bool ? 2 : 4);
        if (dt == DType::Float32 && layout == 0 && s.numel() > 3) {  // NaNs in some rows
          in.data<float>()[s.numel() / 2] = NAN;
          in.data<float>()[s.numel() - 1] = NAN;
        }
        for (int dim = 0; dim < s.size(); ++dim)
          for (ReduceOp op : {ReduceOp::Max, ReduceOp::Min}) {
            char label[32];
            std::snprintf(label, sizeof label, "layout %d", layout);
            check_with_index(op, in, dim, dim % 2 == 0, label);
          }
      }
  // 0-dim input
  {
    Tensor x = scalar_tensor(3.5);
    Tensor v = poisoned({}, DType::Float32), i = poisoned({}, DType::Int64);
    ember::cuda::reduce_with_index(ReduceOp::Max, v, i, x, 0);
    EXPECT(v.data<float>()[0] == 3.5f && i.data<int64_t>()[0] == 0, "0-dim with index");
  }
  try {
    ember::cuda::reduce_with_index(ReduceOp::Max, empty({3, 1}), empty({3, 1}, DType::Int64), empty({3, 0}), 1);
  } catch (const Error& err) {
    std::printf("message: %s\n", err.what());
  }
}

static void test_softmax() {
  const std::vector<Shape> shapes = {{},           {1},          {7},     {3, 5}, {4, 1500}, {2, 3, 4},
                                     {5, 300, 20}, {2, 3000, 2}, {65, 2}, {0, 3}, {3, 0}};
  for (const Shape& s : shapes)
    for (DType dt : {DType::Float32, DType::Float64})
      for (int layout = 0; layout < 4; ++layout)
        for (int dim = 0; dim < std::max(1, s.size()); ++dim)
          for (bool log : {false, true}) {
            Tensor x = make(s, dt, layout);
            if (layout == 0 && s.numel() > 10 && !log) {  // an all -inf line and a large value
              for (int64_t k = 0; k < s[dim]; ++k) {
                int64_t inner = 1;
                for (int d = dim + 1; d < s.size(); ++d) inner *= s[d];
                if (dt == DType::Float32)
                  x.data<float>()[k * inner] = -INFINITY;
                else
                  x.data<double>()[k * inner] = -INFINITY;
              }
              if (dt == DType::Float32) x.data<float>()[s.numel() - 1] = 1000;
            }
            Tensor expected = empty(s, dt);
            Shape s1 = s.size() == 0 ? Shape{1} : s;
            kernels::softmax(expected.as_strided(s1, contiguous_strides(s1), 0),
                             x.dim() == 0 ? x.as_strided({1}, {1}, 0) : x, dim, log);
            Tensor actual = poisoned(s, dt);
            ember::cuda::softmax(actual, x, dim, log);
            std::string why;
            const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
            EXPECT(close(actual, expected, tol, tol, why), "softmax log %d layout %d in %s %s dim %d: %s", log, layout,
                   s.str().c_str(), dtype_name(dt), dim, why.c_str());
            // backward with the CPU's y, g any layout
            Tensor g = make(s, dt, (layout + 1) % 4);
            Tensor y = expected;
            Tensor eg = empty(s, dt);
            kernels::softmax_backward(eg.as_strided(s1, contiguous_strides(s1), 0),
                                      g.dim() == 0 ? g.as_strided({1}, {1}, 0) : g,
                                      y.as_strided(s1, contiguous_strides(s1), 0), dim, log);
            Tensor ag = poisoned(s, dt);
            ember::cuda::softmax_backward(ag, g, y, dim, log);
            EXPECT(close(ag, eg, tol * 10, tol * 10, why), "softmax backward log %d layout %d in %s %s dim %d: %s", log,
                   layout, s.str().c_str(), dtype_name(dt), dim, why.c_str());
          }
  // a non-contiguous output
  {
    Tensor x = make({6, 40}, DType::Float32, 0);
    Tensor base = poisoned({40, 6}, DType::Float32);
    Tensor out = base.as_strided({6, 40}, {1, 6}, 0);
    ember::cuda::softmax(out, x, 1, false);
    Tensor expected = empty({6, 40});
    kernels::softmax(expected, x, 1, false);
    std::string why;
    EXPECT(close(out, expected, 1e-6, 1e-5, why), "softmax strided out: %s", why.c_str());
  }
  try {
    ember::cuda::softmax(empty({2, 3}, DType::Int64), empty({2, 3}, DType::Int64), 1, false);
  } catch (const Error& err) {
    std::printf("message: %s\n", err.what());
  }
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  emu::sm_count = 1;
  const std::string only = argc > 1 ? argv[1] : "";
  if (only.empty() || only == "reduce") test_reduce();
  std::printf("reduce done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  if (only.empty() || only == "index") test_with_index();
  std::printf("with_index done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  if (only.empty() || only == "softmax") test_softmax();
  std::printf("softmax done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  std::printf("ALL: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  return failures ? 1 : 0;
}
