// printf-style formatting into a std::string, for the apps' printed lines:
//   print(app::format("gradient descent: b0 = %.4f  b1 = %.4f", b0, b1));
// The compiler checks the arguments against the format, as it does for printf.
#pragma once
#include <string>

namespace ember::app {

std::string format(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace ember::app
