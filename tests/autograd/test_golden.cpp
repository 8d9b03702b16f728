// Golden tests: every case in tests/data/golden_ops.safetensors (written by PyTorch, see
// tests/golden/make_fixtures.py) is recomputed by Ember in float32 and compared: the output and
// the gradient of every float input for the same upstream gradient. PyTorch's printed forms of
// some tensors are compared character for character.
//
// The same file is compiled into the GPU tests with EMBER_GOLDEN_ON_CUDA: there the inputs live on
// cuda:0, so every op, forward and backward, is checked against PyTorch on the GPU as well.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "../test_util.h"

using namespace ember;
using namespace ember::test;
using Inputs = std::vector<Tensor>;
using Op = std::function<Tensor(const Inputs&)>;

#ifdef EMBER_GOLDEN_ON_CUDA
#include "../cuda/cuda_test_util.h"
static const Device kDevice = test_device();
#define GOLDEN "golden on cuda: "
#else
static const Device kDevice = Device::cpu();
#define GOLDEN "golden: "
#endif

static const SafetensorsFile& fixtures() {
  static SafetensorsFile file = load_safetensors(std::string(EMBER_TEST_DATA) + "/golden_ops.safetensors");
  return file;
}

// One entry per case of make_fixtures.py, the same expression written with Ember's ops.
static const std::map<std::string, Op>& golden_ops() {
  static const std::map<std::string, Op> ops = {
      {"add_broadcast", [](const Inputs& x) { return x[0] + x[1]; }},
      {"sub_broadcast", [](const Inputs& x) { return x[0] - x[1]; }},
      {"mul_broadcast", [](const Inputs& x) { return x[0] * x[1]; }},
      {"div", [](const Inputs& x) { return x[0] / x[1]; }},
      {"pow_tensor", [](const Inputs& x) { return pow(x[0], x[1]); }},
      {"pow_scalar", [](const Inputs& x) { return pow(x[0], 2.5); }},
      {"scalar_ops", [](const Inputs& x) { return (2.0 - x[0]) * 3.0 / 4.0 + 1.5; }},
      {"neg", [](const Inputs& x) { return -x[0]; }},
      {"exp", [](const Inputs& x) { return exp(x[0]); }},
      {"log", [](const Inputs& x) { return log(x[0]); }},
      {"sqrt", [](const Inputs& x) { return sqrt(x[0]); }},
      {"abs", [](const Inputs& x) { return abs(x[0]); }},
      {"square", [](const Inputs& x) { return square(x[0]); }},
      {"clamp", [](const Inputs& x) { return clamp(x[0], -0.5, 0.5); }},
      {"relu", [](const Inputs& x) { return relu(x[0]); }},
      {"sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }},
      {"tanh", [](const Inputs& x) { return tanh(x[0]); }},
      {"where", [](const Inputs& x) { return where(gt(x[0], x[1]), x[0], x[1] * 2.0); }},
      {"sum_all", [](const Inputs& x) { return sum(x[0]); }},
      {"sum_dims",
       [](const Inputs& x) {
         return sum(x[0], {0, 2});
       }},
      {"sum_keepdim", [](const Inputs& x) { return sum(x[0], {1}, true); }},
      {"mean_all", [](const Inputs& x) { return mean(x[0]); }},
      {"mean_dim", [](const Inputs& x) { return mean(x[0], {-1}); }},
      {"amax", [](const Inputs& x) { return amax(x[0], {1}); }},
      {"amin_keepdim",
       [](const Inputs& x) {
         return amin(x[0], {0, 1}, true);
       }},
      {"max_dim", [](const Inputs& x) { return max(x[0], 1).first; }},
      {"min_dim_keepdim", [](const Inputs& x) { return min(x[0], 0, true).first; }},
      {"var_unbiased", [](const Inputs& x) { return var(x[0], {1}); }},
      {"var_all", [](const Inputs& x) { return var(x[0]); }},
      {"std_biased", [](const Inputs& x) { return stddev(x[0], {0}, 0); }},
      {"logsumexp", [](const Inputs& x) { return logsumexp(x[0], {1}); }},
      {"softmax", [](const Inputs& x) { return softmax(x[0], 1); }},
      {"softmax_dim0", [](const Inputs& x) { return softmax(x[0], 0); }},
      {"log_softmax", [](const Inputs& x) { return log_softmax(x[0], -1); }},
      {"matmul_2d", [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul_batched", [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul_broadcast", [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul_vec_mat", [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul_mat_vec", [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul_dot", [](const Inputs& x) { return matmul(x[0], x[1]); }},
      {"matmul_transposed", [](const Inputs& x) { return matmul(mT(x[0]), mT(x[1])); }},
      {"einsum_cam", [](const Inputs& x) { return einsum("cb,abij->acij", x); }},
      {"einsum_bilinear", [](const Inputs& x) { return einsum("ij,jk->ik", x); }},
      {"einsum_trace_like_sum", [](const Inputs& x) { return einsum("ijk->ki", x); }},
      {"permute_reshape",
       [](const Inputs& x) {
         return reshape(permute(x[0], {2, 0, 1}), {4, 6}) * 2.0;
       }},
      {"transpose_contiguous", [](const Inputs& x) { return contiguous(transpose(x[0], 0, 1)) * 1.5; }},
      {"slice_step", [](const Inputs& x) { return slice(x[0], 1, 1, 6, 2) * 3.0; }},
      {"select", [](const Inputs& x) { return select(x[0], 1, 2) * 3.0; }},
      {"expand",
       [](const Inputs& x) {
         return expand(x[0], {3, 4}) * 2.0;
       }},
      {"squeeze_unsqueeze", [](const Inputs& x) { return unsqueeze(squeeze(x[0], 1), 0) * 2.0; }},
      {"cat",
       [](const Inputs& x) {
         return cat({x[0], x[1] * 2.0}, 1);
       }},
      {"stack",
       [](const Inputs& x) {
         return stack({x[0], x[1] * 2.0}, 1);
       }},
      {"index_select", [](const Inputs& x) { return index_select(x[0], 0, x[1]); }},
      {"gather", [](const Inputs& x) { return gather(x[0], 1, x[1]); }},
      {"chain_mlp", [](const Inputs& x) { return log_softmax(matmul(relu(matmul(x[0], x[1])), x[2]), 1); }},
  };
  return ops;
}

static std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, sep);) parts.push_back(part);
  return parts;
}

// A GPU tensor prints as the CPU one plus a device='cuda:0' suffix (after ", " or, when the line
// would pass 80 columns, after ",\n" and the indent). Where that suffix goes is device-independent
// code checked on the CPU; on the GPU this checks that the values printed are the right ones.
static std::string without_device_suffix(std::string text) {
  for (const std::string& suffix : {std::string(",\n       device='cuda:0'"), std::string(", device='cuda:0'")}) {
    size_t at = text.find(suffix);
    if (at != std::string::npos) return text.erase(at, suffix.size());
  }
  return text + " (no device suffix)";
}

TEST_CASE(GOLDEN "the fixture and the C++ table name the same cases") {
  std::set<std::string> in_file, in_table;
  for (const auto& name : split(fixtures().metadata.at("cases"), ',')) in_file.insert(name);
  for (const auto& [name, op] : golden_ops()) in_table.insert(name);
  CHECK(in_file.size() >= 50);
  CHECK(in_file == in_table);
}

TEST_CASE(GOLDEN "outputs and gradients match PyTorch") {
  const auto& tensors = fixtures().tensors;
  for (const auto& [name, op] : golden_ops()) {
    CAPTURE(name);
    if (!tensors.count(name + "/out")) {
      FAIL_CHECK("missing fixture for " << name);
      continue;
    }
    Inputs inputs;
    for (int k = 0; tensors.count(name + "/in" + std::to_string(k)); ++k) {
      Tensor t = to(clone(tensors.at(name + "/in" + std::to_string(k))), kDevice).detach();
      if (is_floating(t.dtype())) t.requires_grad_();
      inputs.push_back(t);
    }
    Tensor out = op(inputs);
    CHECK(out.device() == kDevice);
    CHECK_CLOSE(out, tensors.at(name + "/out"), 1e-5, 1e-4);
    backward(out, to(tensors.at(name + "/gout"), kDevice));
    for (size_t k = 0; k < inputs.size(); ++k) {
      std::string key = name + "/grad" + std::to_string(k);
      if (!tensors.count(key)) continue;
      CAPTURE(key);
      REQUIRE(inputs[k].grad().defined());
      CHECK_CLOSE(inputs[k].grad(), tensors.at(key), 1e-5, 1e-4);
    }
  }
}

TEST_CASE(GOLDEN "tensors print exactly as PyTorch prints them") {
  const auto& file = fixtures();
  int compared = 0;
  for (const auto& [key, text] : file.metadata) {
    if (key.rfind("print/", 0) != 0 || key == "print/grad_fn") continue;
    Tensor t = to(file.tensors.at(key), kDevice).detach();
    if (key == "print/requires_grad") t.requires_grad_();

    CAPTURE(key);
    CHECK((kDevice.is_cuda() ? without_device_suffix(t.str()) : t.str()) == text);
    ++compared;
  }
  CHECK(compared >= 15);
  Tensor a = to(from_vector(std::vector<float>{1, 2}), kDevice).detach().requires_grad_();
  std::string printed = kDevice.is_cuda() ? without_device_suffix((a + a).str()) : (a + a).str();
  CHECK(printed == file.metadata.at("print/grad_fn"));
}
