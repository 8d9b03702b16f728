// Ember's first demo: reverse-mode autograd fits a line by gradient descent, and the result is
// checked against the closed-form least-squares answer. (Exercise 2's first step, on the engine.)
//
//   data:   x ~ U(-1, 1) (1000x1),  y = 3.14 + 6.28 x + N(0, 1)
//   model:  yhat = b0 + b1 x        loss = mean((yhat - y)^2)
//   update: b <- b - 0.1 * dloss/db, 100 epochs, gradients from ember::backward
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "autograd/ops.h"

using namespace ember;

static void usage() {
  std::printf(
      "usage: ember_demo [--seed N] [--epochs N] [--lr X]\n"
      "Fits y = b0 + b1 x to noisy samples of y = 3.14 + 6.28 x with Ember's autograd and compares\n"
      "the result with the least-squares solution.\n");
}

int main(int argc, char** argv) {
  uint64_t seed = 43052;
  int epochs = 100;
  double lr = 0.1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ember_demo: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--help" || arg == "-h") return usage(), 0;
      if (arg == "--seed")
        seed = std::stoull(value("--seed"));
      else if (arg == "--epochs")
        epochs = std::stoi(value("--epochs"));
      else if (arg == "--lr")
        lr = std::stod(value("--lr"));
      else {
        std::fprintf(stderr, "ember_demo: unknown flag '%s'\n", arg.c_str());
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "ember_demo: %s expects a number, got '%s'\n", arg.c_str(), argv[i]);
      return 2;
    }
  }
  if (epochs < 1 || !(lr > 0)) {
    std::fprintf(stderr, "ember_demo: --epochs must be >= 1 and --lr > 0\n");
    return 2;
  }

  manual_seed(seed);
  Tensor x = uniform({1000, 1}, -1, 1);
  Tensor y = 3.14 + 6.28 * x + randn({1000, 1});
  std::printf("data: x %s, y %s   (y = 3.14 + 6.28 x + noise)\n", x.shape().str().c_str(), y.shape().str().c_str());
  std::printf("x[:3] = %s\n\n", slice(x, 0, 0, 3).str().c_str());

  Tensor w = zeros({2, 1}).requires_grad_();  // w = [b0, b1]
  Tensor X = cat({ones({1000, 1}), x}, 1);    // (1000, 2): the column of ones carries b0
  std::printf("epoch  loss      b0      b1\n");
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    Tensor loss = mean(square(matmul(X, w) - y));
    backward(loss);
    {
      NoGradGuard no_grad;
      Tensor step = w.grad() * lr;
      sub_(w, step);
      Tensor g = w.grad();
      zero_(g);
    }
    if (epoch == 1 || epoch % 10 == 0 || epoch == epochs) {
      auto b = to_vector<float>(w);
      std::printf("%5d  %.5f  %.4f  %.4f\n", epoch, loss.item(), b[0], b[1]);
    }
  }

  // Least squares: w* = (X^T X)^-1 X^T y, solved here for the 2x2 case by Cramer's rule.
  auto xtx = to_vector<double>(matmul(mT(X), X));
  auto xty = to_vector<double>(matmul(mT(X), y));
  double det = xtx[0] * xtx[3] - xtx[1] * xtx[2];
  double b0 = (xtx[3] * xty[0] - xtx[1] * xty[1]) / det, b1 = (xtx[0] * xty[1] - xtx[2] * xty[0]) / det;
  auto fit = to_vector<float>(w);
  std::printf("\ngradient descent: b0 = %.4f  b1 = %.4f\n", fit[0], fit[1]);
  std::printf("least squares:    b0 = %.4f  b1 = %.4f\n", b0, b1);
  std::printf("truth:            b0 = 3.1400  b1 = 6.2800\n\n");
  std::printf("w after training:\n%s\n", w.str().c_str());
  std::printf("one more forward pass, with its graph: %s\n", mean(square(matmul(X, w) - y)).str().c_str());
  return 0;
}
