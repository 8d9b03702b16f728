// See exercise_cases.h. Each timed repeat runs kSteps full training iterations.
#include "bench/exercise_cases.h"

#include <memory>

#include "nn/adam.h"
#include "nn/losses.h"
#include "nn/nn.h"
#include "nn/sgd.h"

namespace bench {
using namespace ember;

namespace {

constexpr int kSteps = 1000;

Case ex2_case() {
  Case c;
  c.name = "ex2_sgd_step";
  c.work = {Unit::NsPerStep, double(kSteps)};
  c.make = [] {
    manual_seed(43052);
    Tensor x = uniform({1000, 1}, -1, 1);
    Tensor y = 3.14 + 6.28 * x + randn({1000, 1});
    auto net = std::make_shared<nn::Linear>(1, 1);
    auto optimizer = std::make_shared<nn::SGD>(net->parameters(), nn::SgdOptions{.lr = 0.1});
    return std::function<void()>([x, y, net, optimizer] {
      for (int i = 0; i < kSteps; ++i) {
        Tensor loss = mean(square((*net)(x)-y));
        backward(loss);
        optimizer->step();
        optimizer->zero_grad();
      }
    });
  };
  return c;
}

Case ex3_case() {
  Case c;
  c.name = "ex3_adam_step";
  c.work = {Unit::NsPerStep, double(kSteps)};
  c.make = [] {
    manual_seed(43052);
    Tensor X = add(rand({150, 4}), scalar_tensor(1.0));  // iris-like magnitudes; the time does not depend on values
    auto net = std::make_shared<nn::Sequential>(
        nn::Sequential::List{std::make_shared<nn::Linear>(4, 2, false), std::make_shared<nn::Linear>(2, 4, false)});
    auto optimizer = std::make_shared<nn::Adam>(net->parameters());
    return std::function<void()>([X, net, optimizer] {
      nn::MSELoss loss_fn;
      for (int i = 0; i < kSteps; ++i) {
        Tensor Z = (*net)[0](X);
        Tensor Xhat = (*net)[1](Z);
        Tensor loss = loss_fn(Xhat, X);
        backward(loss);
        optimizer->step();
        optimizer->zero_grad();
      }
    });
  };
  return c;
}

}  // namespace

void add_exercise_cases(std::vector<Case>& cases) {
  cases.push_back(ex2_case());
  cases.push_back(ex3_case());
}

}  // namespace bench
