// See fastai_head.h.
#include "nn/models/fastai_head.h"

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "nn/batch_norm.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/pooling.h"

namespace ember::nn {

namespace {

// fastai's BatchNorm(..., init): weight 1, bias 1e-3.
std::shared_ptr<BatchNorm1d> head_batch_norm(int64_t features) {
  auto bn = std::make_shared<BatchNorm1d>(features);
  NoGradGuard no_grad;
  fill_(bn->bias, 1e-3);
  return bn;
}

std::shared_ptr<Linear> head_linear(int64_t in, int64_t out) {
  auto linear = std::make_shared<Linear>(in, out, /*bias=*/false);
  init::kaiming_normal_(linear->weight, 0, init::FanMode::FanIn, "relu");  // fastai's apply_init
  return linear;
}

}  // namespace

std::shared_ptr<Sequential> create_head(int64_t nf, int64_t n_out) {
  return std::make_shared<Sequential>(
      Sequential::List{std::make_shared<AdaptiveConcatPool2d>(1), std::make_shared<Flatten>(), head_batch_norm(2 * nf),
                       std::make_shared<Dropout>(0.25), head_linear(2 * nf, 512), std::make_shared<ReLU>(),
                       head_batch_norm(512), std::make_shared<Dropout>(0.5), head_linear(512, n_out)});
}

std::vector<std::vector<Tensor>> resnet_split(const Sequential& body, const Module& head) {
  EMBER_CHECK(body.size() == 8,
              "resnet_split: expected a ResNet body of 8 modules (conv1 bn1 relu maxpool "
              "layer1..layer4), got " +
                  std::to_string(body.size()));
  std::vector<std::vector<Tensor>> groups(3);
  for (int64_t i = 0; i < 8; ++i)
    for (const Tensor& p : body[i].parameters()) groups[i < 6 ? 0 : 1].push_back(p);
  groups[2] = head.parameters();
  return groups;
}

}  // namespace ember::nn
