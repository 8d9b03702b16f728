// Helpers shared by the tests: random float64 leaves (contiguous or not) and a closeness check
// that reports the first mismatch.
#pragma once
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace ember::test {

// A fresh directory for one test ("<tmp>/ember_test_<name>_<pid>_<n>"), removed with everything in
// it at the end. create = false leaves only the path, for code that must create it itself.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name = "dir", bool create = true) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("ember_test_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    if (create) std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  // The names in the directory, sorted (to check that nothing but the expected files is left).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

// The names of the files in `folder`, sorted, leaving out `except` (e.g. a crawl's "manifest.csv").
inline std::vector<std::string> file_names(const std::filesystem::path& folder, const std::string& except = "") {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.path().filename() != except) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A float64 leaf that requires grad, filled with N(0,1) (shifted by `shift`).
inline Tensor leaf(const Shape& shape, double shift = 0) {
  Tensor t = add(randn(shape, DType::Float64), scalar_tensor(shift, DType::Float64)).detach();
  return t.requires_grad_();
}

// The same, but laid out transposed in memory (last two dims swapped): a non-contiguous leaf.
inline Tensor strided_leaf(const Shape& shape, double shift = 0) {
  Shape swapped = shape;
  std::swap(swapped[shape.size() - 1], swapped[shape.size() - 2]);
  Tensor base = add(randn(swapped, DType::Float64), scalar_tensor(shift, DType::Float64)).detach();
  Tensor t = transpose(base, -1, -2).detach();
  REQUIRE(!t.is_contiguous());
  return t.requires_grad_();
}

inline bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

// The message of the ember::Error that fn throws, or "(no error)".
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Calling fn must throw an ember::Error whose message contains every fragment.
inline void check_throws(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  const std::string message = error_of(fn);
  INFO("message: ", message);
  for (const std::string& fragment : fragments) {
    INFO("fragment: ", fragment);
    CHECK(message.find(fragment) != std::string::npos);
  }
}

// Empty string when |a - b| <= atol + rtol |b| everywhere, else a description of the first miss.
inline std::string mismatch(const Tensor& actual, const Tensor& expected, double atol = 1e-5, double rtol = 1e-4) {
  if (actual.shape() != expected.shape())
    return "shape " + actual.shape().str() + " != expected " + expected.shape().str();
  auto a = to_vector<double>(actual), e = to_vector<double>(expected);
  for (size_t i = 0; i < a.size(); ++i) {
    bool both_nan = std::isnan(a[i]) && std::isnan(e[i]);
    if (!both_nan && !(std::fabs(a[i] - e[i]) <= atol + rtol * std::fabs(e[i]))) {
      std::ostringstream os;
      os.precision(9);
      os << "element " << i << ": " << a[i] << " != expected " << e[i];
      return os.str();
    }
  }
  return "";
}

#define CHECK_CLOSE(actual, expected, ...)                                      \
  CHECK_MESSAGE(::ember::test::mismatch(actual, expected, ##__VA_ARGS__) == "", \
                ::ember::test::mismatch(actual, expected, ##__VA_ARGS__))

// Runs gradcheck and reports its message on failure.
#define CHECK_GRADS(fn, ...)                              \
  do {                                                    \
    auto result_ = ::ember::gradcheck(fn, {__VA_ARGS__}); \
    CHECK_MESSAGE(result_.ok, result_.message);           \
  } while (0)

}  // namespace ember::test
