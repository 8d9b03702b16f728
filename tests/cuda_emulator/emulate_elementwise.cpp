// Runs the real cuda/copy.cu, elementwise.cu(h), random.cu and indexing.cu on the CPU emulator
// (see README.md) and compares every result with the CPU kernels (tensor/cpu/) bit for bit, or to
// a tight tolerance where the math library may differ: copy, fill, unary, binary, where, arange,
// uniform/normal/randint, index_select/index_add/gather/scatter_add, including the error cases.
// Outputs are poisoned with 0xFF first, so an element the kernel forgets to write shows.
//   emulate_elementwise [copy|unary|binary|random|index|threads]   (no argument: all)
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <random>

#include "cuda/cuda_api.h"
#include "cuda/cuda_kernels.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

#include "harness.h"

using namespace ember;
using emu_harness::checks;
using emu_harness::failures;
static const DType kDtypes[] = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
static std::mt19937_64 rng(42);

// An output of `shape` laid out as: 0 contiguous, 1 reversed dims, 2 storage
// offset 1 (misaligned), 3 stride 2.
static Tensor poisoned_out(const Shape& shape, DType dtype, int layout = 0) {
  Shape base_shape = shape;
  int64_t extra = layout == 2 ? 1 : 0;
  if (layout == 1) std::reverse(base_shape.begin(), base_shape.end());
  if (layout == 3 && shape.size() > 0) base_shape[shape.size() - 1] *= 2;
  Tensor base = empty(Shape{base_shape.numel() + extra + 1}, dtype);
  std::memset(base.raw_data(), 0xFF, base.numel() * dtype_size(dtype));
  Strides st = contiguous_strides(base_shape);
  if (layout == 1) std::reverse(st.begin(), st.end());
  if (layout == 3 && shape.size() > 0)
    st[shape.size() - 1] *= 2, st = [&] {
      Strides s2 = contiguous_strides(base_shape);
      s2[shape.size() - 1] = 2;
      return s2;
    }();
  return base.as_strided(shape, st, extra);
}

// Values: kind 0 floats (randn * 3 plus specials when floating), 1 ints in [0,
// 200), 2 ints in [0, 5), 3 ints in [-100, 100) (signed only), 4 nonnegative
// floats with fractions in [0, 200).
static void fill_values(const Tensor& t64, int kind, bool specials) {
  double* p = t64.data<double>();
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> nd(0, 3);
  for (int64_t i = 0; i < t64.numel(); ++i) {
    switch (kind) {
    case 0: p[i] = nd(rng); break;
    case 1: p[i] = std::floor(u(rng) * 200); break;
    case 2: p[i] = std::floor(u(rng) * 5); break;
    case 3: p[i] = std::floor(u(rng) * 200) - 100; break;
    default: p[i] = u(rng) * 200; break;
    }
    if (kind == 0 && i % 3 == 0) p[i] = std::floor(p[i]);  // some exact ties
  }
  if (specials) {
    const double sp[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-40, 100.0, -100.0};
    for (int64_t i = 0, n = t64.numel(); i < 8 && i * 7 < n; ++i) p[i * 7] = sp[i];
  }
}

// An input of `shape`, layout: 0 contiguous, 1 reversed dims, 2 stride 2 on the
// last dim, 3 first dim broadcast (stride 0), 4 storage offset 1 (contiguous,
// misaligned), 5 last dim broadcast.
static Tensor make(const Shape& shape, DType dtype, int layout, int kind, bool specials = false) {
  Shape base_shape = shape;
  const int nd = shape.size();
  if (layout == 1) std::reverse(base_shape.begin(), base_shape.end());
  if (layout == 2 && nd > 0) base_shape[nd - 1] *= 2;
  if (layout == 3 && nd > 0) base_shape[0] = 1;
  if (layout == 5 && nd > 0) base_shape[nd - 1] = 1;
  const int64_t extra = layout == 4 ? 1 : 0;
  Tensor b64 = empty(Shape{base_shape.numel() + extra}, DType::Float64);
  fill_values(b64, kind, specials && is_floating(dtype));
  Tensor flat = empty(Shape{base_shape.numel() + extra}, dtype);
  kernels::copy(flat, b64);
  Strides st = contiguous_strides(base_shape);
  if (layout == 1) std::reverse(st.begin(), st.end());
  if (layout == 2 && nd > 0)
    st =
        [&] {
          Strides s = contiguous_strides(base_shape);
          return s;
        }(),
    st[nd - 1] = 2;
  if (layout == 3 && nd > 0) st[0] = 0;
  if (layout == 5 && nd > 0) st[nd - 1] = 0;
  return flat.as_strided(shape, st, extra);
}

// contiguous bytes of t (same dtype)
static std::vector<unsigned char> bytes_of(const Tensor& t) {
  Tensor c = empty(t.shape(), t.dtype());
  kernels::copy(c, t);
  std::vector<unsigned char> b(c.numel() * dtype_size(c.dtype()));
  if (!b.empty()) std::memcpy(b.data(), c.raw_data(), b.size());
  if (t.dtype() == DType::Bool)  // poison 0xFF read as bool: copy normalises it;
                                 // compare raw instead
    ;
  return b;
}

// bit equality, with NaN == NaN (any payload); bool compared as raw bytes of
// the view
static bool same(const Tensor& a, const Tensor& e, std::string& why, double rtol = 0) {
  if (a.shape() != e.shape() || a.dtype() != e.dtype()) return why = "shape/dtype", false;
  const int64_t n = a.numel();
  if (a.dtype() == DType::Bool) {  // read raw bytes through the strides (a
                                   // poisoned 0xFF must not pass)
    Tensor ai = empty(a.shape(), DType::UInt8), ei = empty(e.shape(), DType::UInt8);
    Tensor av = a.as_strided(a.shape(), a.strides(), 0);
    // reinterpret: copy byte-wise via a UInt8 view of the same storage is not
    // exposed; walk manually
    std::vector<int64_t> idx(a.dim(), 0);
    const unsigned char* pa = static_cast<const unsigned char*>(a.raw_data());
    const unsigned char* pe = static_cast<const unsigned char*>(e.raw_data());
    for (int64_t i = 0; i < n; ++i) {
      int64_t oa = 0, oe = 0;
      for (int d = 0; d < a.dim(); ++d) oa += idx[d] * a.strides()[d], oe += idx[d] * e.strides()[d];
      if (pa[oa] != pe[oe])
        return why = "at " + std::to_string(i) + ": byte " + std::to_string(pa[oa]) + " vs " + std::to_string(pe[oe]),
               false;
      for (int d = a.dim() - 1; d >= 0; --d) {
        if (++idx[d] < a.shape()[d]) break;
        idx[d] = 0;
      }
    }
    return true;
  }
  auto ba = bytes_of(a), be = bytes_of(e);
  const size_t es = dtype_size(a.dtype());
  for (int64_t i = 0; i < n; ++i) {
    if (std::memcmp(&ba[i * es], &be[i * es], es) == 0) continue;
    double va, ve;
    if (a.dtype() == DType::Float32) {
      float x, y;
      std::memcpy(&x, &ba[i * es], 4), std::memcpy(&y, &be[i * es], 4);
      va = x, ve = y;
    } else if (a.dtype() == DType::Float64) {
      std::memcpy(&va, &ba[i * es], 8), std::memcpy(&ve, &be[i * es], 8);
    } else {
      int64_t x = 0, y = 0;
      std::memcpy(&x, &ba[i * es], es), std::memcpy(&y, &be[i * es], es);
      return why = "at " + std::to_string(i) + ": " + std::to_string(x) + " vs " + std::to_string(y), false;
    }
    if (std::isnan(va) && std::isnan(ve)) continue;
    if (rtol > 0 && std::fabs(va - ve) <= rtol * (std::fabs(ve) + 10)) continue;  // sums of ~100 terms of size ~3
    char buf[128];
    std::snprintf(buf, sizeof buf, "at %ld: %.17g vs %.17g", long(i), va, ve);
    return why = buf, false;
  }
  return true;
}

// Runs f_cuda and f_cpu; both must throw the same message or neither.
static bool same_error(const std::function<void()>& f_cuda, const std::function<void()>& f_cpu, std::string& why,
                       bool* threw = nullptr) {
  std::string ea = "<none>", ee = "<none>";
  try {
    f_cuda();
  } catch (const Error& e) {
    ea = e.what();
  }
  try {
    f_cpu();
  } catch (const Error& e) {
    ee = e.what();
  }
  if (threw) *threw = ee != "<none>";
  if (ea != ee) return why = "cuda '" + ea + "' vs cpu '" + ee + "'", false;
  return true;
}

static const std::vector<Shape> kShapes = {{},  {0},  {1},       {3},       {4},       {5},      {7},
                                           {8}, {13}, {3, 0, 2}, {2, 3, 4}, {5, 1, 6}, {37, 41}, {2, 3, 2, 5}};
static const Shape kBig = {20003};
static const Shape kBig2 = {101, 203};
static const Shape kHuge = {70001};

// ---- copy / fill ----
static void test_copy() {
  for (const Shape& s : kShapes)
    for (DType dd : kDtypes)
      for (DType sd : kDtypes)
        for (int il = 0; il < 6; ++il)
          for (int ol = 0; ol < 4; ++ol) {
            if (il == 3 && ol == 3) continue;
            Tensor src = make(s, sd, il, is_floating(dd) ? 0 : 4, dd != DType::UInt8 && dd != DType::Int64);
            Tensor out = poisoned_out(s, dd, ol), expected = poisoned_out(s, dd, 0);
            kernels::copy(expected, src);
            ember::cuda::copy(out, src);
            std::string why;
            EXPECT(same(out, expected, why), "copy %s <- %s shape %s in layout %d out layout %d: %s", dtype_name(dd),
                   dtype_name(sd), s.str().c_str(), il, ol, why.c_str());
          }
  for (const Shape& s : {kBig, kBig2, kHuge})
    for (DType dd : kDtypes)
      for (DType sd : kDtypes)
        for (int il : {0, 1, 4})
          for (int ol : {0, 2}) {
            Tensor src = make(s, sd, il, 4);
            Tensor out = poisoned_out(s, dd, ol), expected = poisoned_out(s, dd, 0);
            kernels::copy(expected, src);
            ember::cuda::copy(out, src);
            std::string why;
            EXPECT(same(out, expected, why), "copy big %s <- %s shape %s in %d out %d: %s", dtype_name(dd),
                   dtype_name(sd), s.str().c_str(), il, ol, why.c_str());
          }
  // contiguous_as
  for (DType dd : kDtypes) {
    Tensor src = make({6, 7}, DType::Float32, 1, 4);
    Tensor c = ember::cuda::contiguous_as(src, dd);
    Tensor e = empty({6, 7}, dd);
    kernels::copy(e, src);
    std::string why;
    EXPECT(c.is_contiguous() && same(c, e, why), "contiguous_as %s: %s", dtype_name(dd), why.c_str());
  }
  std::printf("copy done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  for (const Shape& s : kShapes)
    for (DType dt : kDtypes)
      for (int ol = 0; ol < 4; ++ol)
        for (double v : {0.0, 1.0, 2.5, -3.0, 7.0}) {
          if (dt == DType::UInt8 && v < 0) continue;
          Tensor out = poisoned_out(s, dt, ol), expected = poisoned_out(s, dt, ol);
          kernels::fill(expected, v);
          ember::cuda::fill(out, v);
          std::string why;
          EXPECT(same(out, expected, why), "fill %s %g shape %s layout %d: %s", dtype_name(dt), v, s.str().c_str(), ol,
                 why.c_str());
        }
  for (int ol = 0; ol < 4; ++ol) {
    Tensor out = poisoned_out(kBig2, DType::Float32, ol), expected = poisoned_out(kBig2, DType::Float32, ol);
    kernels::fill(expected, 0.25);
    ember::cuda::fill(out, 0.25);
    std::string why;
    EXPECT(same(out, expected, why), "fill big layout %d: %s", ol, why.c_str());
  }
  std::printf("fill done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
}

// ---- unary / binary / where ----
static const char* unary_names[] = {"neg",     "exp",  "log",  "sqrt", "abs",   "relu",
                                    "sigmoid", "tanh", "sign", "pow",  "clamp", "square"};
static const char* binary_names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                     "eq",  "ne",  "lt",  "le",  "gt",  "ge",      "relu_backward"};

static void check_unary(UnaryOp op, const Tensor& in, double p0, double p1, int ol, const char* label) {
  Tensor out = poisoned_out(in.shape(), in.dtype(), ol), expected = poisoned_out(in.shape(), in.dtype(), 0);
  std::string why;
  bool threw = false;
  EXPECT(same_error([&] { ember::cuda::unary(op, out, in, p0, p1); }, [&] { kernels::unary(op, expected, in, p0, p1); },
                    why, &threw),
         "unary %s %s error: %s", unary_names[int(op)], dtype_name(in.dtype()), why.c_str());
  if (threw) return;
  EXPECT(same(out, expected, why), "unary %s(%g, %g) %s shape %s %s out %d: %s", unary_names[int(op)], p0, p1,
         dtype_name(in.dtype()), in.shape().str().c_str(), label, ol, why.c_str());
}

static void test_unary() {
  for (const Shape& s : kShapes)
    for (DType dt : kDtypes)
      for (int il = 0; il < 6; ++il)
        for (int op = 0; op < 12; ++op) {
          const int kind = is_floating(dt) ? 0 : (dt == DType::Int64 ? 3 : 1);
          Tensor in = make(s, dt, il, kind, true);
          std::vector<std::pair<double, double>> params = {{0, 0}};
          if (UnaryOp(op) == UnaryOp::PowScalar) params = {{2, 0}, {0.5, 0}, {3, 0}, {-1, 0}, {2.5, 0}};
          if (UnaryOp(op) == UnaryOp::Clamp)
            params = dt == DType::UInt8
                         ? std::vector<std::pair<double, double>>{{20, 150}, {0, 255}}
                         : std::vector<std::pair<double, double>>{{-0.5, 0.7}, {-1.7, 50}, {-INFINITY, 2}};
          for (auto [p0, p1] : params)
            for (int ol : {0, 2, 1}) {
              char label[32];
              std::snprintf(label, sizeof label, "in %d", il);
              check_unary(UnaryOp(op), in, p0, p1, ol, label);
            }
        }
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64})
    for (int il : {0, 1, 4})
      for (int op = 0; op < 12; ++op) {
        Tensor in = make(kBig2, dt, il, dt == DType::Int64 ? 3 : 0, true);
        check_unary(UnaryOp(op), in, UnaryOp(op) == UnaryOp::Clamp ? -0.5 : 1.5, 0.7, il == 4 ? 2 : 0, "big");
      }
  std::printf("unary done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
}

static void check_binary(BinaryOp op, const Tensor& a, const Tensor& b, int ol, const char* label) {
  const bool cmp = op >= BinaryOp::Eq && op <= BinaryOp::Ge;
  const DType od = cmp ? DType::Bool : a.dtype();
  Tensor out = poisoned_out(a.shape(), od, ol), expected = poisoned_out(a.shape(), od, 0);
  std::string why;
  bool threw = false;
  EXPECT(same_error([&] { ember::cuda::binary(op, out, a, b); }, [&] { kernels::binary(op, expected, a, b); }, why,
                    &threw),
         "binary %s %s error: %s", binary_names[int(op)], dtype_name(a.dtype()), why.c_str());
  if (threw) return;
  EXPECT(same(out, expected, why), "binary %s %s shape %s %s out %d: %s", binary_names[int(op)], dtype_name(a.dtype()),
         a.shape().str().c_str(), label, ol, why.c_str());
}

static void test_binary() {
  const int pairs[][2] = {{0, 0}, {4, 0}, {0, 4}, {1, 0}, {0, 3}, {3, 1}, {2, 5}, {5, 2}, {4, 4}};
  for (const Shape& s : kShapes)
    for (DType dt : kDtypes)
      for (auto [la, lb] : pairs)
        for (int op = 0; op < 14; ++op) {
          const bool pw = BinaryOp(op) == BinaryOp::Pow;
          const int kind = is_floating(dt) ? (pw ? 0 : 0) : (pw ? 2 : (dt == DType::Int64 ? 3 : 1));
          Tensor a = make(s, dt, la, kind, true), b = make(s, dt, lb, kind, true);
          if (op % 3 == 0 && s.numel() > 2 && la == 0 && lb == 0) {  // some equal elements
            kernels::copy(b.as_strided({1}, {1}, 0), a.as_strided({1}, {1}, 0));
          }
          char label[32];
          std::snprintf(label, sizeof label, "layouts %d %d", la, lb);
          for (int ol : {0, 2, 1}) check_binary(BinaryOp(op), a, b, ol, label);
          if (s.numel() > 0) check_binary(BinaryOp(op), a, a, 0, "a op a");
        }
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::UInt8})
    for (auto [la, lb] : {std::pair{0, 0}, {4, 4}, {0, 3}, {1, 5}})
      for (int op = 0; op < 14; ++op)
        for (const Shape& big : {kBig2, kHuge}) {
          const int kind = is_floating(dt) ? 0 : (BinaryOp(op) == BinaryOp::Pow ? 2 : 1);
          Tensor a = make(big, dt, la, kind, true), b = make(big, dt, lb, kind, true);
          check_binary(BinaryOp(op), a, b, la == 4 ? 2 : 0, "big");
        }
  std::printf("binary done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  for (const Shape& s : kShapes)
    for (DType dt : kDtypes)
      for (int lc : {0, 1, 3, 4, 5})
        for (auto [la, lb] : {std::pair{0, 0}, {4, 4}, {3, 1}, {2, 5}})
          for (int ol : {0, 2, 1}) {
            Tensor c = make(s, DType::Bool, lc, 2), a = make(s, dt, la, 0, true), b = make(s, dt, lb, 1);
            Tensor out = poisoned_out(s, dt, ol), expected = poisoned_out(s, dt, 0);
            kernels::where(expected, c, a, b);
            ember::cuda::where(out, c, a, b);
            std::string why;
            EXPECT(same(out, expected, why), "where %s shape %s layouts %d %d %d out %d: %s", dtype_name(dt),
                   s.str().c_str(), lc, la, lb, ol, why.c_str());
          }
  {
    Tensor c = make(kBig, DType::Bool, 0, 2), a = make(kBig, DType::Float32, 0, 0),
           b = make(kBig, DType::Float32, 4, 0);
    Tensor out = poisoned_out(kBig, DType::Float32, 0), expected = poisoned_out(kBig, DType::Float32, 0);
    kernels::where(expected, c, a, b);
    ember::cuda::where(out, c, a, b);
    std::string why;
    EXPECT(same(out, expected, why), "where big: %s", why.c_str());
  }
  std::printf("where done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
}

// ---- random ----
static void test_random() {
  const std::vector<Shape> shapes = {{}, {0}, {1}, {5}, {3, 4}, {1000}, {20003}};
  for (const Shape& s : shapes)
    for (DType dt : kDtypes) {
      std::string why;
      for (auto [start, step] : {std::pair{0.0, 1.0}, {1.5, 0.25}, {-3.0, 0.7}, {100.0, -0.3}}) {
        if (dt == DType::UInt8 && (start < 0 || s.numel() > 200)) continue;
        Tensor out = poisoned_out(s, dt), expected = poisoned_out(s, dt);
        kernels_for(Device::cpu()).arange(expected, start, step);
        ember::cuda::arange(out, start, step);
        EXPECT(same(out, expected, why), "arange %s %g %g shape %s: %s", dtype_name(dt), start, step, s.str().c_str(),
               why.c_str());
      }
      for (uint64_t seed : {0ull, 42ull, 0x123456789abcdefull})
        for (uint64_t offset : {0ull, 7ull, (1ull << 32) - 3})
          for (auto [lo, hi] : {std::pair{0.0, 1.0}, {-2.0, 3.5}}) {
            Tensor out = poisoned_out(s, dt), expected = poisoned_out(s, dt);
            EXPECT(same_error([&] { ember::cuda::uniform(out, seed, offset, lo, hi); },
                              [&] { kernels_for(Device::cpu()).uniform(expected, seed, offset, lo, hi); }, why),
                   "uniform error %s", why.c_str());
            if (is_floating(dt))
              EXPECT(same(out, expected, why), "uniform %s seed %lu off %lu shape %s: %s", dtype_name(dt), seed, offset,
                     s.str().c_str(), why.c_str());
            Tensor out2 = poisoned_out(s, dt), expected2 = poisoned_out(s, dt);
            EXPECT(same_error([&] { ember::cuda::normal(out2, seed, offset, lo, hi); },
                              [&] { kernels_for(Device::cpu()).normal(expected2, seed, offset, lo, hi); }, why),
                   "normal error %s", why.c_str());
            if (is_floating(dt))
              EXPECT(same(out2, expected2, why), "normal %s seed %lu off %lu shape %s: %s", dtype_name(dt), seed,
                     offset, s.str().c_str(), why.c_str());
          }
      for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 10}, {-5, 5}, {0, 2}, {-(1ll << 40), 1ll << 40}, {3, 4}})
        for (uint64_t seed : {1ull, 99ull}) {
          Tensor out = poisoned_out(s, dt), expected = poisoned_out(s, dt);
          kernels_for(Device::cpu()).randint(expected, seed, 5, lo, hi);
          ember::cuda::randint(out, seed, 5, lo, hi);
          EXPECT(same(out, expected, why), "randint %s [%ld, %ld) shape %s: %s", dtype_name(dt), lo, hi,
                 s.str().c_str(), why.c_str());
        }
    }
  std::printf("random done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
}

// ---- indexing ----
static Tensor index_tensor(const Shape& s, int64_t hi, int layout = 0) {
  Tensor base = make(layout == 1 ? s : s, DType::Int64, 0, 1);
  int64_t* p = base.data<int64_t>();
  for (int64_t i = 0; i < base.numel(); ++i) p[i] = hi > 0 ? p[i] % hi : 0;
  if (layout == 1 && s.size() >= 2) {  // a transposed copy with the same values at the same coordinates
    Shape r = s;
    std::reverse(r.begin(), r.end());
    Tensor t = empty(r, DType::Int64);
    Strides st = t.strides();
    std::reverse(st.begin(), st.end());
    Tensor v = t.as_strided(s, st, 0);
    kernels::copy(v, base);
    return v;
  }
  return base;
}

static void test_indexing() {
  const std::vector<Shape> shapes = {{5}, {4, 6}, {3, 5, 7}, {2, 1, 3, 4}, {0, 3}, {3, 0}, {40, 300}};
  for (const Shape& s : shapes)
    for (int dim = 0; dim < s.size(); ++dim)
      for (DType dt : kDtypes)
        for (int il : {0, 1, 4})
          for (int64_t count : {0, 1, 3, 9}) {
            if (s[dim] == 0 && count > 0) continue;
            std::string why;
            Tensor in = make(s, dt, il, dt == DType::Bool ? 2 : 1);
            Tensor index = index_tensor({count}, s[dim]);
            Shape os = s;
            os[dim] = count;
            for (int ol : {0, 1}) {
              Tensor out = poisoned_out(os, dt, ol), expected = poisoned_out(os, dt, 0);
              kernels::index_select(expected, in, dim, index);
              ember::cuda::index_select(out, in, dim, index);
              EXPECT(same(out, expected, why), "index_select %s in %s dim %d count %ld layout %d out %d: %s",
                     dtype_name(dt), s.str().c_str(), dim, count, il, ol, why.c_str());
            }
            // index_add: out (s) += src (os), repeated indices
            Tensor src = make(os, dt, il, dt == DType::Bool ? 2 : (is_floating(dt) ? 0 : 1));
            Tensor out = make(s, dt, 0, dt == DType::Bool ? 2 : 1), expected = empty(s, dt);
            kernels::copy(expected, out);
            try {
              kernels::index_add(expected, dim, index, src);
            } catch (const Error& e) {
              std::printf("cpu index_add threw: %s; out %s strides %s contiguous %d\n", e.what(),
                          expected.shape().str().c_str(), expected.strides().str().c_str(),
                          int(expected.is_contiguous()));
              continue;
            }
            ember::cuda::index_add(out, dim, index, src);
            EXPECT(same(out, expected, why, is_floating(dt) ? (dt == DType::Float32 ? 1e-5 : 1e-13) : 0),
                   "index_add %s out %s dim %d count %ld layout %d: %s", dtype_name(dt), s.str().c_str(), dim, count,
                   il, why.c_str());
          }
  // bad indices
  for (int64_t bad : {5, -1, 100}) {
    Tensor in = make({4, 5}, DType::Float32, 0, 0);
    Tensor index = from_vector(std::vector<int64_t>{1, 2, bad, 0, bad == 5 ? -2 : 7});
    Tensor out = poisoned_out({4, 5}, DType::Float32), expected = poisoned_out({4, 5}, DType::Float32);
    std::string why;
    bool threw = false;
    EXPECT(same_error([&] { ember::cuda::index_select(out, in, 1, index); },
                      [&] { kernels::index_select(expected, in, 1, index); }, why, &threw) &&
               threw,
           "index_select bad: %s", why.c_str());
    EXPECT(same(out, expected, why), "index_select bad wrote: %s", why.c_str());
    Tensor dst = make({4, 5}, DType::Float32, 0, 0), dst2 = empty({4, 5});
    kernels::copy(dst2, dst);
    Tensor src = make({4, 5}, DType::Float32, 0, 0);
    EXPECT(same_error([&] { ember::cuda::index_add(dst, 1, index, src); },
                      [&] { kernels::index_add(dst2, 1, index, src); }, why, &threw) &&
               threw,
           "index_add bad: %s", why.c_str());
    EXPECT(same(dst, dst2, why), "index_add bad wrote: %s", why.c_str());
  }
  std::printf("index_select/add done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  // gather / scatter_add
  const std::vector<std::pair<Shape, Shape>> gs = {
      {{5}, {3}},       {{4, 6}, {4, 6}},       {{4, 6}, {3, 9}},      {{3, 5, 7}, {2, 4, 7}}, {{3, 5, 7}, {3, 5, 2}},
      {{2, 3}, {0, 3}}, {{60, 300}, {60, 300}}, {{60, 300}, {50, 600}}};
  for (auto [s, is] : gs)
    for (int dim = 0; dim < s.size(); ++dim) {
      bool ok = true;
      for (int d = 0; d < s.size(); ++d) ok = ok && (d == dim || is[d] <= s[d]);
      if (!ok) continue;
      for (DType dt : kDtypes)
        for (int il : {0, 1, 2})
          for (int xl : {0, 1}) {
            std::string why;
            Tensor in = make(s, dt, il, dt == DType::Bool ? 2 : 1);
            Tensor index = index_tensor(is, s[dim], xl);
            for (int ol : {0, 1}) {
              Tensor out = poisoned_out(is, dt, ol), expected = poisoned_out(is, dt, 0);
              kernels::gather(expected, in, dim, index);
              ember::cuda::gather(out, in, dim, index);
              EXPECT(same(out, expected, why), "gather %s in %s index %s dim %d layouts %d %d out %d: %s",
                     dtype_name(dt), s.str().c_str(), is.str().c_str(), dim, il, xl, ol, why.c_str());
            }
            Tensor src = make(is, dt, il == 2 ? 1 : il, dt == DType::Bool ? 2 : (is_floating(dt) ? 0 : 1));
            for (int ol : {0, 1}) {
              Tensor out = poisoned_out(s, dt, ol);
              kernels::copy(out, make(s, dt, 0, dt == DType::Bool ? 2 : 1));
              Tensor expected = empty(s, dt);
              kernels::copy(expected, out);
              kernels::scatter_add(expected, dim, index, src);
              ember::cuda::scatter_add(out, dim, index, src);
              EXPECT(same(out, expected, why, is_floating(dt) ? (dt == DType::Float32 ? 1e-5 : 1e-13) : 0),
                     "scatter_add %s out %s index %s dim %d layouts %d %d out "
                     "%d: %s",
                     dtype_name(dt), s.str().c_str(), is.str().c_str(), dim, il, xl, ol, why.c_str());
            }
          }
    }
  // 0-dim
  for (DType dt : kDtypes) {
    Tensor in = make({}, dt, 0, 1), index = from_vector(std::vector<int64_t>{0}).as_strided({}, {}, 0);
    Tensor out = poisoned_out({}, dt), expected = poisoned_out({}, dt);
    kernels::gather(expected, in, 0, index);
    ember::cuda::gather(out, in, 0, index);
    std::string why;
    EXPECT(same(out, expected, why), "gather 0-dim %s: %s", dtype_name(dt), why.c_str());
    Tensor o2 = make({}, dt, 0, 1), e2 = empty({}, dt);
    kernels::copy(e2, o2);
    kernels::scatter_add(e2, 0, index, in);
    ember::cuda::scatter_add(o2, 0, index, in);
    EXPECT(same(o2, e2, why), "scatter_add 0-dim %s: %s", dtype_name(dt), why.c_str());
  }
  // bad indices: first bad in index order
  for (auto bads : {std::vector<int64_t>{1, 6, 2, -1}, {-3, 0, 0, 9}, {0, 1, 2, 3}}) {
    std::vector<int64_t> v(4 * 6, 1);
    v[5] = bads[0], v[11] = bads[1], v[13] = bads[2], v[23] = bads[3];
    Tensor index = from_vector(v, {4, 6});
    Tensor in = make({4, 6}, DType::Float32, 0, 0);
    Tensor out = poisoned_out({4, 6}, DType::Float32), expected = poisoned_out({4, 6}, DType::Float32);
    std::string why;
    EXPECT(same_error([&] { ember::cuda::gather(out, in, 1, index); }, [&] { kernels::gather(expected, in, 1, index); },
                      why),
           "gather bad: %s", why.c_str());
    Tensor d1 = zeros({4, 6}), d2 = zeros({4, 6});
    EXPECT(same_error([&] { ember::cuda::scatter_add(d1, 1, index, in); },
                      [&] { kernels::scatter_add(d2, 1, index, in); }, why),
           "scatter_add bad: %s", why.c_str());
    // a large index: the bad position found by a late block
    std::vector<int64_t> w(30000, 2);
    w[25000] = 300, w[29000] = -1;
    Tensor big_index = from_vector(w, {100, 300});
    Tensor big_in = make({100, 300}, DType::Float32, 0, 0);
    Tensor o3 = empty({100, 300}), e3 = empty({100, 300});
    EXPECT(same_error([&] { ember::cuda::gather(o3, big_in, 1, big_index); },
                      [&] { kernels::gather(e3, big_in, 1, big_index); }, why),
           "gather big bad: %s", why.c_str());
  }
  std::printf("gather/scatter done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
}

// Repeated indices with the block's threads really concurrent: the atomics (uint8 CAS loop, int64, float, bool).
static void test_atomics_threaded() {
  emu::force_threaded = true;
  for (DType dt : kDtypes) {
    std::vector<int64_t> v(3000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = (i * 7) % 5;  // 5 destinations, hit 600 times each
    Tensor index = from_vector(v);
    Tensor src = make({3000}, dt, 0, 2);
    for (int64_t n_out : {5, 6, 7, 8}) {  // neighbouring bytes in one word for uint8
      Tensor out = make({n_out}, dt, 0, 1), expected = empty({n_out}, dt);
      kernels::copy(expected, out);
      kernels::index_add(expected, 0, index, src);
      ember::cuda::index_add(out, 0, index, src);
      std::string why;
      EXPECT(same(out, expected, why, 1e-6), "threaded index_add %s: %s", dtype_name(dt), why.c_str());
      Tensor out2 = make({n_out}, dt, 0, 1), expected2 = empty({n_out}, dt);
      kernels::copy(expected2, out2);
      kernels::scatter_add(expected2, 0, index, src);
      ember::cuda::scatter_add(out2, 0, index, src);
      EXPECT(same(out2, expected2, why, 1e-6), "threaded scatter_add %s: %s", dtype_name(dt), why.c_str());
    }
  }
  std::vector<int64_t> w(30000, 2);
  w[25000] = 300, w[9000] = -1, w[29999] = 301;
  Tensor big_index = from_vector(w, {100, 300});
  Tensor big_in = make({100, 300}, DType::Float32, 0, 0);
  Tensor o3 = empty({100, 300}), e3 = empty({100, 300});
  std::string why;
  EXPECT(same_error([&] { ember::cuda::gather(o3, big_in, 1, big_index); },
                    [&] { kernels::gather(e3, big_in, 1, big_index); }, why),
         "threaded gather big bad: %s", why.c_str());
  emu::force_threaded = false;
  std::printf("threaded atomics done: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  emu::sm_count = 1;
  const std::string only = argc > 1 ? argv[1] : "";
  if (only.empty() || only == "copy") test_copy();
  if (only.empty() || only == "unary") test_unary();
  if (only.empty() || only == "binary") test_binary();
  if (only.empty() || only == "random") test_random();
  if (only.empty() || only == "index") test_indexing();
  if (only.empty() || only == "threads") test_atomics_threaded();
  std::printf("ALL: %d checks, %d failures, %ld launches\n", checks, failures, emu::launches.load());
  return failures ? 1 : 0;
}
