// fastai's classifier head for a CNN body, and fastai's split of a ResNet learner into three
// parameter groups (reference spec, section 6: fastai/vision/learner.py create_head, _resnet_split).
//
//   create_head(512, n_out):  (N, 512, h, w)
//     0 AdaptiveConcatPool2d   -> (N, 1024, 1, 1)   max, then avg
//     1 Flatten                -> (N, 1024)
//     2 BatchNorm1d(1024)  3 Dropout(0.25)  4 Linear(1024, 512, bias=False)  5 ReLU
//     6 BatchNorm1d(512)   7 Dropout(0.5)   8 Linear(512, n_out, bias=False)  -> (N, n_out)
// Init as fastai: kaiming_normal_ (fan_in, relu gain) for the Linear weights; the head's BatchNorm
// layers start at weight 1, bias 1e-3.
#pragma once
#include <memory>
#include <vector>

#include "nn/sequential.h"

namespace ember::nn {

std::shared_ptr<Sequential> create_head(int64_t nf, int64_t n_out);

// fastai's _resnet_split for model = Sequential(body, head): body[0:6] (conv1 bn1 relu maxpool
// layer1 layer2), body[6:] (layer3 layer4), and the head.
std::vector<std::vector<Tensor>> resnet_split(const Sequential& body, const Module& head);

}  // namespace ember::nn
