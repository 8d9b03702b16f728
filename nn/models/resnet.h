// ResNet18 and ResNet34 exactly as torchvision builds them (torchvision/models/resnet.py), so a
// torchvision state_dict loads by key: conv1 bn1 relu maxpool layer1..layer4 avgpool fc, each layer a
// Sequential of BasicBlocks (conv1 bn1 relu conv2 bn2 [downsample = Sequential(conv 1x1, bn)]).
//
//   x (N, 3, H, W) -> conv1 7x7/2 (64) -> bn1 -> relu -> maxpool 3x3/2     (N, 64, H/4, W/4)
//     -> layer1 (64, stride 1) -> layer2 (128, /2) -> layer3 (256, /2) -> layer4 (512, /2)
//     -> avgpool to 1x1 -> flatten -> fc (512 -> num_classes)
// Blocks per layer: ResNet18 [2, 2, 2, 2], ResNet34 [3, 4, 6, 3]. The stride-2 blocks (first of
// layer2..4) put the stride on conv1 and on the 1x1 downsample conv.
#pragma once
#include <array>
#include <memory>

#include "nn/batch_norm.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/pooling.h"
#include "nn/sequential.h"

namespace ember::nn {

// out = relu(bn2(conv2(relu(bn1(conv1(x))))) + identity), identity = downsample(x) or x.
class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Sequential> downsample;  // null when shapes already match
};

class ResNet : public Module {
 public:
  ResNet(const std::array<int64_t, 4>& blocks_per_layer, int64_t num_classes = 1000);
  Tensor forward(const Tensor& x) override;

  // fastai's create_body(..., cut=-2): everything before avgpool, as a Sequential that shares
  // these modules (conv1, bn1, relu, maxpool, layer1..layer4 as children "0".."7").
  std::shared_ptr<Sequential> body() const;

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<MaxPool2d> maxpool;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<AdaptiveAvgPool2d> avgpool;
  std::shared_ptr<Linear> fc;
};

// torchvision's initialisation: convs kaiming_normal(fan_out, relu), BN weight 1 and bias 0, fc
// PyTorch's Linear default. (ImageNet weights: load a torchvision-named safetensors file.)
std::shared_ptr<ResNet> resnet18(int64_t num_classes = 1000);
std::shared_ptr<ResNet> resnet34(int64_t num_classes = 1000);

}  // namespace ember::nn
