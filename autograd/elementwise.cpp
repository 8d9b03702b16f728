// Elementwise ops: for each, the forward call and the backward formula side by side.
// g is dL/d(out); every gradient is reduced back to its input's shape with sum_to, which undoes
// broadcasting (summing over the dims that were expanded).
#include "autograd/elementwise.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/reductions.h"
#include "tensor/creation.h"
#include "tensor/kernels.h"

namespace ember {

static void check_devices(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.defined() && b.defined(), std::string(op) + ": an operand is undefined");
  kernels::check_same_device(op, a, b);
}

static Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), dtype, t.device());
  kernels::copy(out, t);
  return out;
}

Tensor scalar_like(double value, const Tensor& like) {
  DType dtype = like.dtype();
  if (!is_floating(dtype) && value != static_cast<double>(static_cast<int64_t>(value))) dtype = DType::Float32;
  if (dtype == DType::Bool || dtype == DType::UInt8)
    dtype = value == static_cast<int64_t>(value) ? DType::Int64 : DType::Float32;
  return scalar_tensor(value, dtype, like.device());
}

// The raw forward of every binary op: promote, broadcast, allocate, run the kernel. (Written to
// avoid copying Tensor handles when no cast or broadcast is needed: this is the hot path of every
// tiny op.)
static Tensor binary_forward(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_devices(name, a, b);
  DType dtype = promote_types(a.dtype(), b.dtype());
  if ((op == BinaryOp::Div || op == BinaryOp::Pow) && !is_floating(dtype)) dtype = DType::Float32;
  bool is_comparison = op >= BinaryOp::Eq && op <= BinaryOp::Ge;
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, is_comparison ? DType::Bool : dtype, a.device());
  Tensor a_cast = a.dtype() == dtype ? Tensor() : cast(a, dtype);
  Tensor b_cast = b.dtype() == dtype ? Tensor() : cast(b, dtype);
  const Tensor& a_ok = a_cast.defined() ? a_cast : a;
  const Tensor& b_ok = b_cast.defined() ? b_cast : b;
  if (a_ok.shape() == shape && b_ok.shape() == shape) {
    kernels::binary(op, out, a_ok, b_ok);
  } else {
    kernels::binary(op, out, expand_view(a_ok, shape), expand_view(b_ok, shape));
  }
  return out;
}

static Tensor unary_forward(UnaryOp op, const Tensor& a, double p0 = 0, double p1 = 0) {
  bool float_only = op != UnaryOp::Neg && op != UnaryOp::Abs && op != UnaryOp::Relu && op != UnaryOp::Clamp &&
                    op != UnaryOp::Square && op != UnaryOp::Sign;
  Tensor in = float_only && !is_floating(a.dtype()) ? cast(a, DType::Float32) : a;
  Tensor out = empty(in.shape(), in.dtype(), in.device());
  kernels::unary(op, out, in, p0, p1);
  return out;
}

// ---- add / sub:  d(a+b) = (g, g),  d(a-b) = (g, -g) ------------------------------------------------
struct AddBackward : Node {
  Shape a_shape, b_shape;
  DType a_dtype, b_dtype;
  double b_sign = 1;  // -1 for sub
  std::string name() const override { return b_sign > 0 ? "AddBackward0" : "SubBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor ga, gb;
    if (needs_input_grad(0)) ga = to_dtype(sum_to(g[0], a_shape), a_dtype);
    if (needs_input_grad(1)) gb = to_dtype(sum_to(b_sign > 0 ? g[0] : neg(g[0]), b_shape), b_dtype);
    return {ga, gb};
  }
};

static Tensor add_or_sub(const Tensor& a, const Tensor& b, bool subtract) {
  Tensor out = binary_forward(subtract ? BinaryOp::Sub : BinaryOp::Add, subtract ? "sub" : "add", a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = record<AddBackward>({&a, &b}, {&out});
    node->a_shape = a.shape(), node->b_shape = b.shape();
    node->a_dtype = a.dtype(), node->b_dtype = b.dtype();
    node->b_sign = subtract ? -1 : 1;
  }
  return out;
}
Tensor add(const Tensor& a, const Tensor& b) { return add_or_sub(a, b, false); }
Tensor sub(const Tensor& a, const Tensor& b) { return add_or_sub(a, b, true); }

// ---- mul:  d(a*b) = (g*b, g*a) ------------------------------------------------------------------------
struct MulBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "MulBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor av = a.unpack(*this), bv = b.unpack(*this), ga, gb;
    if (needs_input_grad(0)) ga = to_dtype(sum_to(mul(g[0], bv), av.shape()), av.dtype());
    if (needs_input_grad(1)) gb = to_dtype(sum_to(mul(g[0], av), bv.shape()), bv.dtype());
    return {ga, gb};
  }
  void release_saved_tensors() override { a.reset(), b.reset(); }
};

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Mul, "mul", a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = record<MulBackward>({&a, &b}, {&out});
    node->a = SavedTensor(a), node->b = SavedTensor(b);
  }
  return out;
}

// ---- div:  d(a/b) = (g/b, -g*a/b^2) -------------------------------------------------------------------
struct DivBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "DivBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor av = a.unpack(*this), bv = b.unpack(*this), ga, gb;
    if (needs_input_grad(0)) ga = to_dtype(sum_to(div(g[0], bv), av.shape()), av.dtype());
    if (needs_input_grad(1)) gb = to_dtype(sum_to(neg(div(mul(g[0], av), mul(bv, bv))), bv.shape()), bv.dtype());
    return {ga, gb};
  }
  void release_saved_tensors() override { a.reset(), b.reset(); }
};

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Div, "div", a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = record<DivBackward>({&a, &b}, {&out});
    node->a = SavedTensor(a), node->b = SavedTensor(b);
  }
  return out;
}

// ---- pow:  d(a^b) = (g * b * a^(b-1),  g * a^b * ln a) --------------------------------------------------
struct PowBackward : Node {
  SavedTensor a, b, out;
  std::string name() const override { return "PowBackward1"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor av = a.unpack(*this), bv = b.unpack(*this), ga, gb;
    if (needs_input_grad(0)) ga = sum_to(mul(g[0], mul(bv, pow(av, sub(bv, scalar_like(1, bv))))), av.shape());
    if (needs_input_grad(1)) gb = sum_to(mul(g[0], mul(out.unpack(*this), log(av))), bv.shape());
    return {ga, gb};
  }
  void release_saved_tensors() override { a.reset(), b.reset(), out.reset(); }
};

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Pow, "pow", a, b);
  if (any_requires_grad({&a, &b})) {
    auto node = record<PowBackward>({&a, &b}, {&out});
    node->a = SavedTensor(a), node->b = SavedTensor(b), node->out = SavedTensor(out);
  }
  return out;
}

// ---- unary ops: one node type, the formula picked by the op --------------------------------------
//   neg: -g          exp: g*y          log: g/x          sqrt: g/(2y)        abs: g*sign(x)
//   square: 2xg      relu: g*(y>0)     sigmoid: g*y*(1-y) tanh: g*(1-y^2)    x^p: g*p*x^(p-1)
//   clamp: g where lo <= x <= hi, else 0
struct UnaryBackward : Node {
  UnaryOp op;
  SavedTensor x, y;  // input and output; each op saves only what its formula needs
  double p0 = 0, p1 = 0;
  std::string name() const override {
    switch (op) {
    case UnaryOp::Neg: return "NegBackward0";
    case UnaryOp::Exp: return "ExpBackward0";
    case UnaryOp::Log: return "LogBackward0";
    case UnaryOp::Sqrt: return "SqrtBackward0";
    case UnaryOp::Abs: return "AbsBackward0";
    case UnaryOp::Square: return "PowBackward0";
    case UnaryOp::Relu: return "ReluBackward0";
    case UnaryOp::Sigmoid: return "SigmoidBackward0";
    case UnaryOp::Tanh: return "TanhBackward0";
    case UnaryOp::PowScalar: return "PowBackward0";
    case UnaryOp::Clamp: return "ClampBackward1";
    default: return "UnaryBackward";
    }
  }
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    const Tensor& g = grads[0];
    auto X = [&] { return x.unpack(*this); };
    auto Y = [&] { return y.unpack(*this); };
    auto scalar = [&](double v) { return scalar_like(v, g); };
    switch (op) {
    case UnaryOp::Neg: return {neg(g)};
    case UnaryOp::Exp: return {mul(g, Y())};
    case UnaryOp::Log: return {div(g, X())};
    case UnaryOp::Sqrt: return {div(g, mul(scalar(2), Y()))};
    case UnaryOp::Abs: return {mul(g, unary_forward(UnaryOp::Sign, X()))};
    case UnaryOp::Square: return {mul(g, mul(scalar(2), X()))};
    case UnaryOp::Relu: return {binary_forward(BinaryOp::ReluBackward, "relu backward", g, Y())};
    case UnaryOp::Sigmoid: {
      Tensor yv = Y();
      return {mul(g, mul(yv, sub(scalar(1), yv)))};
    }
    case UnaryOp::Tanh: {
      Tensor yv = Y();
      return {mul(g, sub(scalar(1), mul(yv, yv)))};
    }
    case UnaryOp::PowScalar: return {mul(g, mul(scalar(p0), pow(X(), p0 - 1)))};
    case UnaryOp::Clamp: {
      Tensor xv = X(), zero = zeros_like(g);
      return {where(lt(xv, scalar(p0)), zero, where(gt(xv, scalar(p1)), zero, g))};
    }
    default: throw Error("backward of " + name() + " is not defined");
    }
  }
  void release_saved_tensors() override { x.reset(), y.reset(); }
};

static Tensor unary(UnaryOp op, const Tensor& a, bool save_input, bool save_output, double p0 = 0, double p1 = 0) {
  EMBER_CHECK(a.defined(), "unary op: the input is undefined");
  Tensor out = unary_forward(op, a, p0, p1);
  if (any_requires_grad({&a})) {
    auto node = record<UnaryBackward>({&a}, {&out});
    node->op = op, node->p0 = p0, node->p1 = p1;
    if (save_input) node->x = SavedTensor(a);
    if (save_output) node->y = SavedTensor(out);
  }
  return out;
}

Tensor neg(const Tensor& a) { return unary(UnaryOp::Neg, a, false, false); }
Tensor exp(const Tensor& a) { return unary(UnaryOp::Exp, a, false, true); }
Tensor log(const Tensor& a) { return unary(UnaryOp::Log, a, true, false); }
Tensor sqrt(const Tensor& a) { return unary(UnaryOp::Sqrt, a, false, true); }
Tensor abs(const Tensor& a) { return unary(UnaryOp::Abs, a, true, false); }
Tensor square(const Tensor& a) { return unary(UnaryOp::Square, a, true, false); }
Tensor relu(const Tensor& a) { return unary(UnaryOp::Relu, a, false, true); }
Tensor sigmoid(const Tensor& a) { return unary(UnaryOp::Sigmoid, a, false, true); }
Tensor tanh(const Tensor& a) { return unary(UnaryOp::Tanh, a, false, true); }
Tensor pow(const Tensor& a, double p) { return unary(UnaryOp::PowScalar, a, true, false, p); }
Tensor clamp(const Tensor& a, double lo, double hi) {
  EMBER_CHECK(lo <= hi, "clamp: min " + std::to_string(lo) + " is greater than max " + std::to_string(hi));
  return unary(UnaryOp::Clamp, a, true, false, lo, hi);
}

// ---- cast: the gradient is cast back to the input's dtype --------------------------------------------
struct ToDtypeBackward : Node {
  DType input_dtype;
  std::string name() const override { return "ToCopyBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override { return {cast(g[0], input_dtype)}; }
};

Tensor to_dtype(const Tensor& a, DType dtype) {
  if (a.dtype() == dtype) return a;
  Tensor out = cast(a, dtype);
  if (is_floating(dtype) && any_requires_grad({&a})) record<ToDtypeBackward>({&a}, {&out})->input_dtype = a.dtype();
  return out;
}

// ---- device moves:  d to(a, device) = to(g, a.device) ----------------------------------------------
struct ToDeviceBackward : Node {
  Device input_device;
  std::string name() const override { return "ToCopyBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor back = empty(g[0].shape(), g[0].dtype(), input_device);
    kernels::copy(back, g[0]);
    return {back};
  }
};

Tensor to(const Tensor& a, Device device) {
  if (a.device() == device) return a;
  Tensor out = empty(a.shape(), a.dtype(), device);
  kernels::copy(out, a);
  if (any_requires_grad({&a})) record<ToDeviceBackward>({&a}, {&out})->input_device = a.device();
  return out;
}

Tensor to(const Tensor& a, Device device, DType dtype) { return to_dtype(to(a, device), dtype); }

// ---- comparisons and where ----------------------------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Ge, "ge", a, b); }

// d where(c, a, b) = (where(c, g, 0), where(c, 0, g))
struct WhereBackward : Node {
  SavedTensor condition;
  Shape a_shape, b_shape;
  std::string name() const override { return "WhereBackward0"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    Tensor c = condition.unpack(*this), zero = zeros(Shape{}, g[0].dtype(), g[0].device()), ga, gb;
    if (needs_input_grad(0)) ga = sum_to(where(c, g[0], zero), a_shape);
    if (needs_input_grad(1)) gb = sum_to(where(c, zero, g[0]), b_shape);
    return {ga, gb};
  }
  void release_saved_tensors() override { condition.reset(); }
};

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_devices("where", a, b);
  check_devices("where", condition, a);
  EMBER_CHECK(condition.dtype() == DType::Bool,
              std::string("where: the condition must be a bool tensor, got ") + dtype_name(condition.dtype()));
  DType dtype = promote_types(a.dtype(), b.dtype());
  Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape, dtype, a.device());
  kernels::where(out, expand_view(condition, shape), expand_view(cast(a, dtype), shape),
                 expand_view(cast(b, dtype), shape));
  if (any_requires_grad({&a, &b})) {
    auto node = record<WhereBackward>({&a, &b}, {&out});
    node->condition = SavedTensor(condition), node->a_shape = a.shape(), node->b_shape = b.shape();
  }
  return out;
}

// ---- in-place ----------------------------------------------------------------------------------------
// Without autograd involved, the kernel writes straight into self. When the graph must record the
// change, Ember (like PyTorch) refuses leaves that require grad, and for other tensors computes
// the out-of-place result, copies it into self and moves self's history to the new node.
static void check_in_place(const char* op, const Tensor& self, const Tensor& other) {
  EMBER_CHECK(self.defined(), std::string(op) + ": the tensor is undefined");
  if (!GradMode::is_enabled()) return;
  EMBER_CHECK(!(self.is_leaf() && self.requires_grad()),
              std::string(op) +
                  ": a leaf tensor that requires grad is being used in an in-place operation; do it "
                  "under NoGradGuard (as optimisers do) or use the out-of-place op");
  EMBER_CHECK(!(self.is_view() && (self.requires_grad() || (other.defined() && other.requires_grad()))),
              std::string(op) +
                  ": in-place operations on a view of a tensor that takes part in autograd are not "
                  "supported; clone() the view first");
}

static Tensor& in_place(const char* op, Tensor& self, const Tensor& other,
                        Tensor (*out_of_place)(const Tensor&, const Tensor&), BinaryOp kernel) {
  check_in_place(op, self, other);
  if (any_requires_grad({&self, &other})) {
    Tensor result = out_of_place(self, other);
    EMBER_CHECK(result.shape() == self.shape(), std::string(op) + ": the result shape " + result.shape().str() +
                                                    " differs from the tensor's shape " + self.shape().str());
    kernels::copy(self, result);
    self.set_history(result.grad_fn(), result.output_nr());
  } else {
    check_devices(op, self, other);
    Shape shape = broadcast_shapes(self.shape(), other.shape(), op);
    EMBER_CHECK(shape == self.shape(), std::string(op) + ": the result shape " + shape.str() +
                                           " differs from the tensor's shape " + self.shape().str());
    EMBER_CHECK(kernel != BinaryOp::Div || is_floating(self.dtype()),
                std::string(op) + ": the result of a division is float, which cannot be stored in a " +
                    dtype_name(self.dtype()) + " tensor");
    kernels::binary(kernel, self, self, expand_view(cast(other, self.dtype()), shape));
  }
  self.bump_version();
  return self;
}

Tensor& add_(Tensor& self, const Tensor& other) { return in_place("add_", self, other, add, BinaryOp::Add); }
Tensor& sub_(Tensor& self, const Tensor& other) { return in_place("sub_", self, other, sub, BinaryOp::Sub); }
Tensor& mul_(Tensor& self, const Tensor& other) { return in_place("mul_", self, other, mul, BinaryOp::Mul); }
Tensor& div_(Tensor& self, const Tensor& other) { return in_place("div_", self, other, div, BinaryOp::Div); }
Tensor& add_(Tensor& self, double other) { return add_(self, scalar_like(other, self)); }
Tensor& mul_(Tensor& self, double other) { return mul_(self, scalar_like(other, self)); }

Tensor& clamp_(Tensor& self, double lo, double hi) {
  check_in_place("clamp_", self, Tensor());
  if (any_requires_grad({&self})) {
    Tensor result = clamp(self, lo, hi);
    kernels::copy(self, result);
    self.set_history(result.grad_fn(), result.output_nr());
  } else {
    kernels::unary(UnaryOp::Clamp, self, self, lo, hi);
  }
  self.bump_version();
  return self;
}

Tensor& fill_(Tensor& self, double value) {
  check_in_place("fill_", self, Tensor());
  EMBER_CHECK(!any_requires_grad({&self}), "fill_: the tensor takes part in autograd; use full_like instead");
  kernels::fill(self, value);
  self.bump_version();
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, 0); }

Tensor& copy_(Tensor& self, const Tensor& src) {
  check_in_place("copy_", self, src);
  EMBER_CHECK(!any_requires_grad({&self, &src}),
              "copy_: copying into or from a tensor that takes part in autograd is not recorded; use "
              "NoGradGuard or an out-of-place op");
  kernels::copy(self, expand_view(src, self.shape()));
  self.bump_version();
  return self;
}

}  // namespace ember
