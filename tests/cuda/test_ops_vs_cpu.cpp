// Every foundation op on the GPU against the CPU kernel, on random inputs in several memory layouts
// and dtypes (ggml's test-backend-ops idea): the forward result, and for float inputs the gradient
// of sum(out * w) for one random w, must agree. Gradcheck itself runs on the CPU in float64
// (tests/autograd); here the CPU is the reference the GPU must reproduce.
#include <doctest/doctest.h>

#include "cuda_test_util.h"

using namespace ember;
using namespace ember::test;

namespace {

using Inputs = std::vector<Tensor>;

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(const Inputs&)> op;
  double atol = 1e-5, rtol = 1e-4;
};

constexpr Layout C = Layout::Contiguous, T = Layout::Transposed, S = Layout::Strided, B = Layout::Broadcast;

std::vector<OpCase> unary_cases() {
  std::vector<OpCase> cases;
  struct Unary {
    const char* name;
    std::function<Tensor(const Tensor&)> fn;
    bool positive;
  };
  std::vector<Unary> ops = {
      {"neg", [](const Tensor& x) { return neg(x); }, false},
      {"exp", [](const Tensor& x) { return exp(x); }, false},
      {"log", [](const Tensor& x) { return log(x); }, true},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, true},
      {"abs", [](const Tensor& x) { return abs(x); }, false},
      {"square", [](const Tensor& x) { return square(x); }, false},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); }, false},
      {"relu", [](const Tensor& x) { return relu(x); }, false},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, false},
      {"tanh", [](const Tensor& x) { return tanh(x); }, false},
      {"pow_scalar", [](const Tensor& x) { return pow(x, 2.5); }, true},
      {"scalar_arith", [](const Tensor& x) { return (2.0 - x) * 3.0 / 4.0 + 1.5; }, false},
  };
  for (const Unary& u : ops) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      for (Layout layout : {C, T, S}) {
        InputSpec spec{{37, 129}, dtype, layout, u.positive ? InputSpec::Positive : InputSpec::Normal};
        cases.push_back(
            {std::string(u.name) + "/" + dtype_name(dtype), {spec}, [fn = u.fn](const Inputs& x) { return fn(x[0]); }});
      }
    }
  }
  // a large contiguous float32 run: the vectorised path with a tail (n % 4 != 0)
  cases.push_back({"exp/large", {f32({1000003})}, [](const Inputs& x) { return exp(x[0]); }});
  cases.push_back({"abs/int64", {of(DType::Int64, {5, 7}, S)}, [](const Inputs& x) { return abs(x[0]); }});
  cases.push_back({"neg/int64", {of(DType::Int64, {5, 7})}, [](const Inputs& x) { return neg(x[0]); }});
  cases.push_back({"exp/int64_promotes", {of(DType::Int64, {9})}, [](const Inputs& x) { return exp(x[0]); }});
  return cases;
}

std::vector<OpCase> binary_cases() {
  std::vector<OpCase> cases;
  struct Binary {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> fn;
    bool positive;
  };
  std::vector<Binary> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, false},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, false},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, false},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, true},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, true},
  };
  for (const Binary& op : ops) {
    auto fn = [f = op.fn](const Inputs& x) { return f(x[0], x[1]); };
    InputSpec::Values values = op.positive ? InputSpec::Positive : InputSpec::Normal;
    for (DType dtype : {DType::Float32, DType::Float64}) {
      std::string name = std::string(op.name) + "/" + dtype_name(dtype);
      cases.push_back({name + "/same", {{{8, 33}, dtype, C, values}, {{8, 33}, dtype, C, values}}, fn});
      cases.push_back({name + "/layouts", {{{8, 33}, dtype, T, values}, {{8, 33}, dtype, S, values}}, fn});
      cases.push_back({name + "/broadcast_row", {{{8, 33}, dtype, C, values}, {{33}, dtype, C, values}}, fn});
      cases.push_back({name + "/broadcast_both", {{{8, 1, 5}, dtype, C, values}, {{3, 1}, dtype, C, values}}, fn});
      cases.push_back({name + "/scalar", {{{8, 33}, dtype, C, values}, {{}, dtype, C, values}}, fn});
      cases.push_back({name + "/expanded", {{{6, 10}, dtype, B, values}, {{6, 10}, dtype, S, values}}, fn});
    }
  }
  cases.push_back({"add/large", {f32({1 << 20}), f32({1 << 20})}, [](const Inputs& x) { return x[0] + x[1]; }});
  cases.push_back(
      {"add/int64", {of(DType::Int64, {4, 6}), of(DType::Int64, {6})}, [](const Inputs& x) { return x[0] + x[1]; }});
  cases.push_back({"mul/uint8", {of(DType::UInt8, {4, 6}), of(DType::UInt8, {4, 6}, T)}, [](const Inputs& x) {
                     return x[0] * x[1];
                   }});
  cases.push_back(
      {"add/promote_int_float", {of(DType::Int64, {4, 6}), f32({4, 6})}, [](const Inputs& x) { return x[0] + x[1]; }});
  cases.push_back({"div/int64_gives_float", {of(DType::Int64, {12}), of(DType::Int64, {12})}, [](const Inputs& x) {
                     return div(x[0], x[1] * x[1] + 1.0);
                   }});
  // comparisons give bool; where picks between two float tensors
  using Cmp = Tensor (*)(const Tensor&, const Tensor&);
  std::vector<std::pair<const char*, Cmp>> comparisons = {{"eq", eq}, {"ne", ne}, {"lt", lt},
                                                          {"le", le}, {"gt", gt}, {"ge", ge}};
  for (auto [name, cmp] : comparisons) {
    cases.push_back({std::string(name) + "/int64",
                     {of(DType::Int64, {7, 9}), of(DType::Int64, {9}, S)},
                     [cmp](const Inputs& x) { return cmp(x[0], x[1]); }});
    cases.push_back({std::string(name) + "/float32", {f32({7, 9}, T), f32({7, 9})}, [cmp](const Inputs& x) {
                       return cmp(x[0], x[1]);
                     }});
  }
  cases.push_back({"where", {of(DType::Bool, {6, 11}), f32({6, 11}, T), f32({11})}, [](const Inputs& x) {
                     return where(x[0], x[1], x[2]);
                   }});
  cases.push_back({"where/float64_strided",
                   {of(DType::Bool, {6, 11}, S), f64({6, 11}), f64({6, 11}, S)},
                   [](const Inputs& x) { return where(x[0], x[1], x[2]); }});
  return cases;
}

std::vector<OpCase> cast_cases() {
  std::vector<OpCase> cases;
  const DType dtypes[] = {DType::Float32, DType::Float64, DType::Int64, DType::UInt8, DType::Bool};
  for (DType from : dtypes) {
    for (DType to_type : dtypes) {
      // float -> uint8 of a negative value is undefined in C++, so float sources stay positive
      InputSpec spec{{5, 13}, from, T, is_floating(from) ? InputSpec::Positive : InputSpec::Small};
      cases.push_back({std::string("cast/") + dtype_name(from) + "->" + dtype_name(to_type),
                       {spec},
                       [to_type](const Inputs& x) { return to_dtype(x[0], to_type); }});
    }
  }
  return cases;
}

std::vector<OpCase> reduction_cases() {
  std::vector<OpCase> cases;
  auto add = [&](std::string name, std::vector<InputSpec> in, std::function<Tensor(const Inputs&)> op,
                 double atol = 1e-5, double rtol = 1e-4) {
    cases.push_back({name, in, op, atol, rtol});
  };
  for (DType dtype : {DType::Float32, DType::Float64}) {
    std::string d = std::string("/") + dtype_name(dtype);
    InputSpec x3{{6, 35, 17}, dtype, C}, x3t{{6, 35, 17}, dtype, T};
    add("sum_all" + d, {x3}, [](const Inputs& x) { return sum(x[0]); });
    add("sum_last" + d, {x3}, [](const Inputs& x) { return sum(x[0], {-1}); });
    add("sum_first" + d, {x3}, [](const Inputs& x) { return sum(x[0], {0}, true); });
    add("sum_middle" + d, {x3t}, [](const Inputs& x) { return sum(x[0], {1}); });
    add("sum_outer_two" + d, {x3}, [](const Inputs& x) { return sum(x[0], {0, 2}); });
    add("mean" + d, {x3t}, [](const Inputs& x) { return mean(x[0], {0, 1}, true); });
    add("amax" + d, {x3}, [](const Inputs& x) { return amax(x[0], {1}); });
    add("amin" + d, {x3t}, [](const Inputs& x) { return amin(x[0], {0, 2}, true); });
    add("max_all" + d, {x3t}, [](const Inputs& x) { return max(x[0]); });
    add("min_all" + d, {x3}, [](const Inputs& x) { return min(x[0]); });
    add("max_dim_values" + d, {x3t}, [](const Inputs& x) { return max(x[0], 1).first; });
    add("max_dim_indices" + d, {x3t}, [](const Inputs& x) { return max(x[0], 1).second; });
    add("min_dim_keepdim" + d, {x3}, [](const Inputs& x) { return min(x[0], -1, true).first; });
    add("argmax_all" + d, {x3}, [](const Inputs& x) { return argmax(x[0]); });
    add("argmax_dim" + d, {x3t}, [](const Inputs& x) { return argmax(x[0], 0); });
    add("argmin_dim" + d, {x3}, [](const Inputs& x) { return argmin(x[0], 2, true); });
    add("var" + d, {x3}, [](const Inputs& x) { return var(x[0], {1}); });
    add("stddev" + d, {x3t}, [](const Inputs& x) { return stddev(x[0]); });
    add("logsumexp" + d, {x3}, [](const Inputs& x) { return logsumexp(x[0], {2}); });
    for (int dim : {0, 1, 2}) {
      add("softmax_dim" + std::to_string(dim) + d, {x3t}, [dim](const Inputs& x) { return softmax(x[0], dim); });
      add("log_softmax_dim" + std::to_string(dim) + d, {x3}, [dim](const Inputs& x) { return log_softmax(x[0], dim); });
    }
  }
  // shapes that pick the other strategies: a long row (two passes), a tall column reduction,
  // a wide softmax row, ties for argmax
  add(
      "sum/long_row_two_pass", {positive({3 << 20})}, [](const Inputs& x) { return sum(x[0]); }, 1e-2, 1e-4);
  add(
      "sum/rows_of_100k", {f32({3, 100003})}, [](const Inputs& x) { return sum(x[0], {1}); }, 1e-2, 1e-4);
  add(
      "sum/columns", {f32({4099, 70})}, [](const Inputs& x) { return sum(x[0], {0}); }, 1e-3, 1e-4);
  add(
      "sum/batch_of_columns", {f32({512, 3, 260}, T)},
      [](const Inputs& x) {
        return sum(x[0], {0, 2});
      },
      1e-3, 1e-4);
  add("amax/long_row", {f32({2, 70001})}, [](const Inputs& x) { return amax(x[0], {1}); });
  add("softmax/wide_row", {f32({4, 5000})}, [](const Inputs& x) { return softmax(x[0], 1); });
  add("log_softmax/wide_row", {f32({3, 70000})}, [](const Inputs& x) { return log_softmax(x[0], -1); });
  add("argmax/ties", {of(DType::Int64, {40, 9})}, [](const Inputs& x) { return argmax(x[0], 1); });
  add("sum/int64", {of(DType::Int64, {40, 9}, S)}, [](const Inputs& x) { return sum(x[0], {0}); });
  add("sum/bool", {of(DType::Bool, {40, 9})}, [](const Inputs& x) { return sum(x[0]); });
  add("max/uint8", {of(DType::UInt8, {40, 9}, T)}, [](const Inputs& x) { return amax(x[0], {1}); });
  return cases;
}

std::vector<OpCase> matmul_cases() {
  std::vector<OpCase> cases;
  auto mm = [](const Inputs& x) { return matmul(x[0], x[1]); };
  // sizes that are and are not multiples of the tiles, and both operand layouts
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {3, 5, 7}, {64, 64, 64}, {130, 70, 33}, {128, 256, 128}, {257, 129, 65}, {1, 300, 200}}) {
    std::string size = std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
    double atol = 1e-4 * std::sqrt(static_cast<double>(k));
    cases.push_back({"matmul/" + size, {f32({m, k}), f32({k, n})}, mm, atol, 1e-4});
    cases.push_back({"matmul/a_transposed/" + size, {f32({m, k}, T), f32({k, n})}, mm, atol, 1e-4});
    cases.push_back({"matmul/b_transposed/" + size, {f32({m, k}), f32({k, n}, T)}, mm, atol, 1e-4});
    cases.push_back({"matmul/both_strided/" + size, {f32({m, k}, S), f32({k, n}, T)}, mm, atol, 1e-4});
    cases.push_back({"matmul/float64/" + size, {f64({m, k}, T), f64({k, n})}, mm, 1e-10, 1e-10});
  }
  cases.push_back({"matmul/large_512", {f32({512, 512}), f32({512, 512})}, mm, 3e-3, 1e-4});
  cases.push_back({"matmul/batched", {f32({4, 33, 17}), f32({4, 17, 20}, T)}, mm, 1e-4, 1e-4});
  cases.push_back({"matmul/batch_broadcast", {f32({3, 1, 9, 12}), f32({5, 12, 7})}, mm, 1e-4, 1e-4});
  cases.push_back({"matmul/vector_matrix", {f32({12}), f32({12, 5})}, mm, 1e-4, 1e-4});
  cases.push_back({"matmul/matrix_vector", {f32({5, 12}, T), f32({12})}, mm, 1e-4, 1e-4});
  cases.push_back({"matmul/dot", {f32({100}), f32({100}, S)}, mm, 1e-4, 1e-4});
  cases.push_back({"matmul/empty_k", {f32({3, 0}), f32({0, 4})}, mm});
  cases.push_back({"einsum/bij_bjk",
                   {f32({2, 5, 6}), f32({2, 6, 3})},
                   [](const Inputs& x) {
                     return einsum("bij,bjk->bik", {x[0], x[1]});
                   },
                   1e-4,
                   1e-4});
  cases.push_back({"einsum/cb_abij",
                   {f32({3, 4}), f32({2, 4, 5, 6})},
                   [](const Inputs& x) {
                     return einsum("cb,abij->acij", {x[0], x[1]});
                   },
                   1e-4,
                   1e-4});
  return cases;
}

std::vector<OpCase> view_and_index_cases() {
  std::vector<OpCase> cases;
  auto index = [](std::vector<int64_t> v, Device d) { return to(from_vector(v, Shape{int64_t(v.size())}), d); };
  cases.push_back({"contiguous/permute", {f32({4, 5, 6})}, [](const Inputs& x) {
                     return contiguous(permute(x[0], {2, 0, 1})) * 1.0;
                   }});
  cases.push_back({"clone/strided", {f64({7, 9}, S)}, [](const Inputs& x) { return clone(x[0]); }});
  cases.push_back({"slice_step", {f32({9, 20})}, [](const Inputs& x) { return slice(x[0], 1, 1, 19, 3) * 2.0; }});
  cases.push_back(
      {"select_reshape", {f32({4, 6, 5}, T)}, [](const Inputs& x) { return reshape(select(x[0], 1, 2), {-1}) + 1.0; }});
  cases.push_back({"cat", {f32({3, 4}), f32({3, 2}, T)}, [](const Inputs& x) { return cat({x[0], x[1]}, 1); }});
  cases.push_back({"stack", {f32({3, 4}), f32({3, 4}, S)}, [](const Inputs& x) { return stack({x[0], x[1]}, 0); }});
  cases.push_back({"expand_sum", {f32({1, 5})}, [](const Inputs& x) { return expand(x[0], {4, 5}) * 2.0; }});
  cases.push_back({"index_select/dim0", {f32({6, 5})}, [index](const Inputs& x) {
                     return index_select(x[0], 0, index({5, 0, 0, 3}, x[0].device()));
                   }});
  cases.push_back({"index_select/dim1_strided", {f64({6, 5}, T)}, [index](const Inputs& x) {
                     return index_select(x[0], 1, index({4, 1, 1}, x[0].device()));
                   }});
  cases.push_back(
      {"gather/dim1", {f32({4, 6})}, [](const Inputs& x) {
         Tensor idx = to(from_vector(std::vector<int64_t>{0, 5, 5, 1, 2, 2, 3, 3}, Shape{4, 2}), x[0].device());
         return gather(x[0], 1, idx);
       }});
  cases.push_back({"gather/dim0", {f64({4, 6}, S)}, [](const Inputs& x) {
                     Tensor idx = to(from_vector(std::vector<int64_t>{3, 0, 1, 1, 2, 0}, Shape{1, 6}), x[0].device());
                     return gather(x[0], 0, idx);
                   }});
  return cases;
}

std::vector<OpCase> all_cases() {
  std::vector<OpCase> all;
  for (auto group : {unary_cases, binary_cases, cast_cases, reduction_cases, matmul_cases, view_and_index_cases})
    for (OpCase& c : group()) all.push_back(std::move(c));
  return all;
}

void check_case(const OpCase& c, Device device, uint64_t seed) {
  CAPTURE(c.name);
  InputPair in = make_inputs(c.inputs, device, seed);
  Tensor expected = c.op(in.cpu);
  Tensor actual = c.op(in.device);
  REQUIRE(actual.device() == device);
  CHECK(actual.dtype() == expected.dtype());
  CHECK_CLOSE(to_cpu(actual), expected, c.atol, c.rtol);
  if (!expected.requires_grad() || !is_floating(expected.dtype())) return;
  // backward with the same upstream gradient on both devices
  Generator g{seed ^ 0x5eed, 0};
  Tensor upstream = normal(expected.shape(), 0, 1, expected.dtype(), Device::cpu(), &g);
  backward(expected, upstream);
  backward(actual, to(upstream, device));
  for (size_t k = 0; k < in.cpu.size(); ++k) {
    if (!in.cpu[k].requires_grad()) continue;
    CAPTURE(k);
    REQUIRE(in.cpu[k].grad().defined() == in.device[k].grad().defined());
    if (!in.cpu[k].grad().defined()) continue;
    CHECK(in.device[k].grad().device() == device);
    CHECK_CLOSE(to_cpu(in.device[k].grad()), in.cpu[k].grad(), c.atol, c.rtol);
  }
}

}  // namespace

TEST_CASE("every foundation op gives the CPU's result on the GPU, forward and backward") {
  const Device gpu = test_device();
  std::vector<OpCase> cases = all_cases();
  CHECK(cases.size() > 250);
  uint64_t seed = 1;
  for (const OpCase& c : cases) check_case(c, gpu, seed++);
}

TEST_CASE("creation and random fills give the CPU's numbers on the GPU") {
  const Device gpu = test_device();
  for (DType dtype : {DType::Float32, DType::Float64}) {
    CAPTURE(dtype_name(dtype));
    Generator a{42, 7}, b{42, 7};
    CHECK_CLOSE(to_cpu(uniform({1001}, -2, 3, dtype, gpu, &a)), uniform({1001}, -2, 3, dtype, Device::cpu(), &b), 0, 0);
    CHECK_CLOSE(to_cpu(normal({999}, 1, 2, dtype, gpu, &a)), normal({999}, 1, 2, dtype, Device::cpu(), &b), 1e-6, 1e-6);
    CHECK_CLOSE(to_cpu(arange(-3, 7, 0.5, dtype, gpu)), arange(-3, 7, 0.5, dtype), 0, 0);
    CHECK_CLOSE(to_cpu(linspace(0, 1, 11, dtype, gpu)), linspace(0, 1, 11, dtype), 1e-7, 0);
    CHECK_CLOSE(to_cpu(eye(5, dtype, gpu)), eye(5, dtype), 0, 0);
    CHECK_CLOSE(to_cpu(full({3, 4}, 2.5, dtype, gpu)), full({3, 4}, 2.5, dtype), 0, 0);
  }
  Generator a{3, 0}, b{3, 0};
  CHECK(to_vector<int64_t>(randint(-5, 9, {777}, DType::Int64, gpu, &a)) ==
        to_vector<int64_t>(randint(-5, 9, {777}, DType::Int64, Device::cpu(), &b)));
  CHECK(to_vector<uint8_t>(randint(0, 256, {300}, DType::UInt8, gpu, &a)) ==
        to_vector<uint8_t>(randint(0, 256, {300}, DType::UInt8, Device::cpu(), &b)));
  CHECK(to_vector<int64_t>(arange(10, DType::Int64, gpu)) == to_vector<int64_t>(arange(10, DType::Int64)));
}

TEST_CASE("in-place ops and zero-size tensors on the GPU") {
  const Device gpu = test_device();
  Tensor host = randn({4, 5});
  Tensor dev = to(host, gpu);
  Tensor dev_columns = slice(dev, 1, 0, 5, 2), host_columns = slice(host, 1, 0, 5, 2);  // views
  add_(dev_columns, 1.0), add_(host_columns, 1.0);
  CHECK_CLOSE(to_cpu(dev), host, 0, 0);
  mul_(dev, dev), mul_(host, host);
  CHECK_CLOSE(to_cpu(dev), host, 1e-6, 1e-6);
  Tensor dev_row = select(dev, 0, 2), host_row = select(host, 0, 2);
  zero_(dev_row), zero_(host_row);
  CHECK_CLOSE(to_cpu(dev), host, 0, 0);
  Tensor empty_gpu = zeros({0, 3}, DType::Float32, gpu);
  CHECK(to_cpu(sum(empty_gpu, {0})).shape() == Shape{3});
  CHECK(sum(empty_gpu).item() == 0);
  CHECK(to_cpu(exp(empty_gpu)).numel() == 0);
  CHECK(to_cpu(matmul(zeros({0, 4}, DType::Float32, gpu), zeros({4, 2}, DType::Float32, gpu))).shape() == Shape{0, 2});
}
