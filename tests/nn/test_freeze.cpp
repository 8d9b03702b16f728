// Freezing, as fastai's learn.freeze() does it: requires_grad_(false) on the body, so backward
// computes no gradient for it (and records no body graph at all), and the optimisers, which skip
// parameters without a gradient, leave it untouched even with momentum and weight decay; the head
// trains. Unfreezing brings the body back.
#include <doctest/doctest.h>

#include "nn/adam.h"
#include "nn/losses.h"
#include "nn/models/fastai_head.h"
#include "nn/models/resnet.h"
#include "nn/sgd.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;

namespace {

struct Model {
  std::shared_ptr<nn::Sequential> body, head, net;
};

Model fastai_resnet18(int64_t classes) {
  manual_seed(11);
  Model m;
  m.body = nn::resnet18()->body();
  m.head = nn::create_head(512, classes);
  m.net = std::make_shared<nn::Sequential>(nn::Sequential::List{m.body, m.head});
  return m;
}

std::vector<std::vector<float>> values_of(const std::vector<Tensor>& tensors) {
  std::vector<std::vector<float>> out;
  for (const Tensor& t : tensors) out.push_back(to_vector<float>(t));
  return out;
}

void train_step(Model& m, nn::Optimizer& optimizer, const Tensor& x, const Tensor& y) {
  Tensor loss = nn::CrossEntropyLoss()((*m.net)(x), y);
  backward(loss);
  optimizer.step();
  optimizer.zero_grad();
}

}  // namespace

TEST_CASE("freeze: a frozen body gets no gradients and no graph; SGD and Adam leave it untouched") {
  Model m = fastai_resnet18(3);
  Tensor x = randn({4, 3, 32, 32});
  Tensor y = from_vector(std::vector<int64_t>{0, 1, 2, 1});
  m.body->requires_grad_(false);
  for (const Tensor& p : m.body->parameters()) CHECK_FALSE(p.requires_grad());
  for (const Tensor& p : m.head->parameters()) CHECK(p.requires_grad());

  Tensor features = (*m.body)(x);
  CHECK_FALSE(features.requires_grad());  // nothing in the body was recorded
  CHECK(features.grad_fn() == nullptr);
  backward(nn::CrossEntropyLoss()((*m.head)(features), y));
  for (const auto& [name, p] : m.body->named_parameters()) {
    INFO(name);
    CHECK_FALSE(p.grad().defined());
  }
  for (const auto& [name, p] : m.head->named_parameters()) {
    INFO(name);
    CHECK(p.grad().defined());
  }
  m.net->zero_grad();

  const auto body_before = values_of(m.body->parameters());
  const auto head_before = values_of(m.head->parameters());
  nn::SGD sgd(m.net->parameters(), nn::SgdOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
  nn::Adam adam(m.net->parameters(), nn::AdamOptions{.lr = 1e-2, .weight_decay = 0.01});
  for (int i = 0; i < 2; ++i) train_step(m, sgd, x, y);
  for (int i = 0; i < 2; ++i) train_step(m, adam, x, y);
  CHECK(values_of(m.body->parameters()) == body_before);  // bit for bit
  const auto head_after = values_of(m.head->parameters());
  for (size_t i = 0; i < head_after.size(); ++i) CHECK(head_after[i] != head_before[i]);
}

TEST_CASE("freeze: the frozen body's batch norms still update their running statistics in train mode") {
  // PyTorch's behaviour (and fastai's, whose freeze keeps BN layers trainable): requires_grad only
  // stops gradients; train() vs eval() decides whether BN uses and updates batch statistics.
  Model m = fastai_resnet18(2);
  m.body->requires_grad_(false);
  auto bn1 = std::dynamic_pointer_cast<nn::BatchNorm2d>(m.body->ptr(1));
  REQUIRE(bn1);
  const auto before = to_vector<float>(bn1->running_mean);
  (*m.net)(randn({2, 3, 32, 32}));
  CHECK(to_vector<float>(bn1->running_mean) != before);
}

TEST_CASE("unfreeze: requires_grad_(true) gives the body its gradients back") {
  Model m = fastai_resnet18(2);
  m.body->requires_grad_(false);
  m.body->requires_grad_(true);
  backward(nn::CrossEntropyLoss()((*m.net)(randn({2, 3, 32, 32})), from_vector(std::vector<int64_t>{0, 1})));
  for (const auto& [name, p] : m.net->named_parameters()) {
    INFO(name);
    CHECK(p.grad().defined());
  }
}
