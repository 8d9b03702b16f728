// Ember's one exception type. Messages name the op, the shapes / dtypes / devices involved and
// what was expected, so the reader can fix the call without opening a debugger.
#pragma once
#include <stdexcept>
#include <string>

namespace ember {

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// EMBER_CHECK(cond, "op: message " + detail) throws ember::Error when cond is false.
#define EMBER_CHECK(cond, message)              \
  do {                                          \
    if (!(cond)) throw ::ember::Error(message); \
  } while (0)

}  // namespace ember
