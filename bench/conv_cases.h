// The convolutional-network cases: the layers of a ResNet alone and ResNet34 whole, on the CPU and
// (in a build with CUDA) on the GPU, plus the CPU's measured FMA peak that the table divides the
// GFLOP/s by. Their PyTorch twins are in torch_bench.py, with the same names.
//
//   fma_peak                     the FMA throughput of the --threads N threads: a register-only loop
//                                of independent fused multiply-adds (no twin: the "% of FMA peak" yardstick)
//   conv3x3_64_8x56[_fwdbwd]     Conv2d(64, 64, 3, padding 1, no bias) on x (8, 64, 56, 56)
//   conv7x7s2_8x224[_fwdbwd]     Conv2d(3, 64, 7, stride 2, padding 3, no bias) on x (8, 3, 224, 224)
//   bn2d_8x64x112[_fwdbwd]       BatchNorm2d(64), training mode, on x (8, 64, 112, 112)
//   maxpool3x3s2_8x64x112[_fwdbwd]  MaxPool2d(3, 2, 1) on x (8, 64, 112, 112)
//   relu_8x64x112                relu(x) on x (8, 64, 112, 112)
//   resnet34_fwd_b8_{128,224}    eval mode, no grad: logits = model(x), x (8, 3, S, S)
//   resnet34_train_b8_{128,224}  train mode: forward, cross entropy, backward, SGD(0.01, momentum 0.9)
//                                step, zero_grad
// "_fwdbwd" = forward, then backward of a fixed upstream gradient dy into the input and every
// parameter (gradients are dropped, set to none, before each repeat, as zero_grad does).
//
// GPU cases (cuda_ + the same name + _ember or _cudnn): each layer case and resnet34 training at
// batch 8 and 64 (224 x 224) run twice, on Ember's own CUDA kernels and on cuDNN
// (cuda::set_dnn_backend); every repeat ends with cuda::synchronize().
#pragma once
#include <vector>

#include "bench/harness.h"

namespace bench {

void add_conv_cases(std::vector<Case>& cases);       // the CPU cases above
void add_cuda_conv_cases(std::vector<Case>& cases);  // the cuda_* cases (nothing in a build without CUDA)

}  // namespace bench
