// See resnet.h.
#include "nn/models/resnet.h"

#include "autograd/elementwise.h"
#include "autograd/views.h"
#include "nn/init.h"

namespace ember::nn {

namespace {

std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride) {
  return std::make_shared<Conv2d>(in, out, 3, stride, 1, /*bias=*/false);
}

std::shared_ptr<Sequential> make_layer(int64_t& in_planes, int64_t planes, int64_t blocks, int64_t stride) {
  auto layer = std::make_shared<Sequential>();
  for (int64_t i = 0; i < blocks; ++i) {
    layer->push_back(std::make_shared<BasicBlock>(in_planes, planes, i == 0 ? stride : 1));
    in_planes = planes;
  }
  return layer;
}

}  // namespace

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride) : Module("BasicBlock") {
  conv1 = register_module("conv1", conv3x3(in_planes, planes, stride));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  relu = register_module("relu", std::make_shared<ReLU>());
  conv2 = register_module("conv2", conv3x3(planes, planes, 1));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  if (stride != 1 || in_planes != planes)
    downsample =
        register_module("downsample", std::make_shared<Sequential>(Sequential::List{
                                          std::make_shared<Conv2d>(in_planes, planes, 1, stride, 0, /*bias=*/false),
                                          std::make_shared<BatchNorm2d>(planes)}));
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = (*relu)((*bn1)((*conv1)(x)));
  out = (*bn2)((*conv2)(out));
  const Tensor identity = downsample ? (*downsample)(x) : x;
  return (*relu)(add(out, identity));
}

ResNet::ResNet(const std::array<int64_t, 4>& blocks, int64_t num_classes) : Module("ResNet") {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(3, 64, 7, 2, 3, /*bias=*/false));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(64));
  relu = register_module("relu", std::make_shared<ReLU>());
  maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
  int64_t in_planes = 64;
  layer1 = register_module("layer1", make_layer(in_planes, 64, blocks[0], 1));
  layer2 = register_module("layer2", make_layer(in_planes, 128, blocks[1], 2));
  layer3 = register_module("layer3", make_layer(in_planes, 256, blocks[2], 2));
  layer4 = register_module("layer4", make_layer(in_planes, 512, blocks[3], 2));
  avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(1));
  fc = register_module("fc", std::make_shared<Linear>(512, num_classes));
  // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu") for every conv; BatchNorm
  // already starts at weight 1, bias 0.
  apply([](Module& m) {
    if (auto* conv = dynamic_cast<Conv2d*>(&m)) init::kaiming_normal_(conv->weight, 0, init::FanMode::FanOut, "relu");
  });
}

Tensor ResNet::forward(const Tensor& x) {
  Tensor y = (*maxpool)((*relu)((*bn1)((*conv1)(x))));
  y = (*layer4)((*layer3)((*layer2)((*layer1)(y))));
  return (*fc)(flatten((*avgpool)(y), 1));  // (N, 512, 1, 1) -> (N, 512) -> (N, num_classes)
}

std::shared_ptr<Sequential> ResNet::body() const {
  return std::make_shared<Sequential>(Sequential::List{conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4});
}

std::shared_ptr<ResNet> resnet18(int64_t num_classes) {
  return std::make_shared<ResNet>(std::array<int64_t, 4>{2, 2, 2, 2}, num_classes);
}
std::shared_ptr<ResNet> resnet34(int64_t num_classes) {
  return std::make_shared<ResNet>(std::array<int64_t, 4>{3, 4, 6, 3}, num_classes);
}

}  // namespace ember::nn
