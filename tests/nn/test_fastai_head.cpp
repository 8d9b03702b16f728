// fastai's head and parameter groups (reference spec, section 6): layout, sizes, init, forward.
#include <doctest/doctest.h>

#include "nn/models/fastai_head.h"
#include "nn/models/resnet.h"
#include "tests/test_util.h"

using namespace ember;
using namespace ember::test;

TEST_CASE("fastai head: 528,384 parameters for 2 classes, fastai's keys and init, (N, 2) out") {
  manual_seed(9);
  auto head = nn::create_head(512, 2);
  CHECK(head->num_parameters() == 528384);  // the spec's count
  std::vector<std::string> keys;
  for (const auto& [key, value] : head->state_dict()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"2.weight", "2.bias", "2.running_mean", "2.running_var",
                                         "2.num_batches_tracked", "4.weight", "6.weight", "6.bias", "6.running_mean",
                                         "6.running_var", "6.num_batches_tracked", "8.weight"});
  for (float b : to_vector<float>(head->state_dict()[1].second)) CHECK(b == doctest::Approx(1e-3));
  // kaiming_normal (fan_in = 1024, relu): std = sqrt(2 / 1024)
  auto w = to_vector<float>(head->at<nn::Linear>(4).weight);
  double s2 = 0;
  for (float v : w) s2 += double(v) * v;
  CHECK(std::sqrt(s2 / w.size()) == doctest::Approx(std::sqrt(2.0 / 1024)).epsilon(0.02));
  head->eval();
  CHECK((*head)(randn({3, 512, 4, 4})).shape() == Shape{3, 2});
}

TEST_CASE("fastai's _resnet_split: three groups, every parameter once") {
  auto model = nn::resnet34();
  auto body = model->body();
  auto head = nn::create_head(512, 2);
  auto groups = nn::resnet_split(*body, *head);
  REQUIRE(groups.size() == 3);
  int64_t counts[3] = {0, 0, 0};
  for (int g = 0; g < 3; ++g)
    for (const Tensor& p : groups[g]) counts[g] += p.numel();
  CHECK(counts[0] + counts[1] == 21284672);  // the body
  CHECK(counts[2] == 528384);
  CHECK(groups[0].front().is_same(model->conv1->weight));
  CHECK(groups[1].front().is_same(model->layer3->at<nn::BasicBlock>(0).conv1->weight));
  check_throws([&] { nn::resnet_split(*head, *head); }, {"expected a ResNet body of 8 modules", "got 9"});
}
