// What every emulator harness shares: the check counters and EXPECT, poisoned outputs, and the
// closeness test. Each harness is its own program, so the counters are per program.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "tensor/creation.h"
#include "tensor/tensor.h"

namespace emu_harness {
inline int failures = 0, checks = 0;
}  // namespace emu_harness

// Counts a check; on failure prints "FAIL file:line: " and the printf-style message.
#define EXPECT(cond, ...)                              \
  do {                                                 \
    ++emu_harness::checks;                             \
    if (!(cond)) {                                     \
      ++emu_harness::failures;                         \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      std::printf(__VA_ARGS__);                        \
      std::printf("\n");                               \
    }                                                  \
  } while (0)

// An output tensor filled with 0xFF bytes, so an element a kernel forgets to write shows up.
inline ember::Tensor poisoned(const ember::Shape& shape, ember::DType dtype) {
  ember::Tensor t = ember::empty(shape, dtype);
  std::memset(t.raw_data(), 0xFF, t.numel() * ember::dtype_size(dtype));
  return t;
}

// |a - e| <= atol + rtol |e| everywhere; NaN matches NaN when nan_matches (and inf matches inf).
// On a miss, `why` names the element and both values.
inline bool close(const ember::Tensor& a, const ember::Tensor& e, double atol, double rtol, std::string& why,
                  bool nan_matches = true) {
  if (a.shape() != e.shape()) return why = "shape " + a.shape().str() + " vs " + e.shape().str(), false;
  auto va = ember::to_vector<double>(a), ve = ember::to_vector<double>(e);
  for (size_t i = 0; i < va.size(); ++i) {
    if (nan_matches && std::isnan(va[i]) && std::isnan(ve[i])) continue;
    if (va[i] == ve[i]) continue;
    if (!(std::fabs(va[i] - ve[i]) <= atol + rtol * std::fabs(ve[i]))) {
      why = "at " + std::to_string(i) + ": " + std::to_string(va[i]) + " vs " + std::to_string(ve[i]);
      return false;
    }
  }
  return true;
}
