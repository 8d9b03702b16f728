// CPU optimiser steps: one fused loop per parameter that reads the grad and the state once and
// writes the param and the state once (the unfused version would be 4-8 elementwise ops, each a
// pass over memory). The formulas are next to the table entries in tensor/kernels.h; the classes
// that call these are nn/sgd.h and nn/adam.h.
//
// Tiny tensors (a 1-element bias) run a plain loop on the caller's thread: a training step over
// two tiny params must cost well under a microsecond. Big tensors are split across threads.
#include <cmath>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/strided_loop.h"
#include "tensor/parallel.h"

namespace ember::cpu {

using SgdStepArgs = DeviceKernels::SgdStepArgs;
using AdamStepArgs = DeviceKernels::AdamStepArgs;

// body(begin, end) over [0, n): inline below the elementwise grain, else across threads.
template <typename Body>
static void for_elements(int64_t n, Body&& body) {
  if (n <= kElementwiseGrain) return body(0, n);
  parallel_for(0, n, kElementwiseGrain, body);
}

// ---- SGD -----------------------------------------------------------------------------------------

// Parameter i of the list, (n) elements, all contiguous.
template <typename T>
static void sgd_update(const SgdStepArgs& args, int64_t i) {
  T* p = static_cast<T*>(args.params[i]->raw_data());
  const T* grad = static_cast<const T*>(args.grads[i]->raw_data());
  const bool use_momentum = args.momentum != 0;
  T* buf = use_momentum ? static_cast<T*>(args.momentum_buffers[i]->raw_data()) : nullptr;
  const bool first_step = use_momentum && args.first_step[i];
  const bool nesterov = args.nesterov;
  const bool use_weight_decay = args.weight_decay != 0 && args.do_weight_decay[i];
  const T weight_decay = T(args.weight_decay), lr = T(args.lr), momentum = T(args.momentum);
  const T keep = T(1 - args.dampening);  // PyTorch computes 1 - dampening in double, then casts

  for_elements(args.params[i]->numel(), [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      T g = grad[e];
      if (use_weight_decay) g += weight_decay * p[e];  // g = grad + wd p
      T d = g;
      if (use_momentum) {
        const T b = first_step ? g : momentum * buf[e] + keep * g;  // b = mu b + (1 - dampening) g
        buf[e] = b;
        d = nesterov ? g + momentum * b : b;  // nesterov looks ahead along the new buffer
      }
      p[e] -= lr * d;
    }
  });
}

void sgd_step(const SgdStepArgs& args) {
  for (int64_t i = 0; i < args.count; ++i) {
    if (args.params[i]->dtype() == DType::Float64)
      sgd_update<double>(args, i);
    else
      sgd_update<float>(args, i);
  }
}

// ---- Adam, AdamW, fastai's Adam ------------------------------------------------------------------

template <typename T>
static void adam_update(const AdamStepArgs& args, int64_t i) {
  T* p = static_cast<T*>(args.params[i]->raw_data());
  const T* grad = static_cast<const T*>(args.grads[i]->raw_data());
  T* m = static_cast<T*>(args.exp_avgs[i]->raw_data());
  T* v = static_cast<T*>(args.exp_avg_sqs[i]->raw_data());

  const bool use_weight_decay = args.weight_decay != 0 && args.do_weight_decay[i];
  const bool decay_param = use_weight_decay && args.decoupled_weight_decay;  // p *= 1 - lr wd
  const bool decay_grad = use_weight_decay && !args.decoupled_weight_decay;  // g += wd p
  const T param_scale = T(1 - args.lr * args.weight_decay), weight_decay = T(args.weight_decay);
  const T beta1 = T(args.beta1), one_minus_beta1 = T(1 - args.beta1);
  const T beta2 = T(args.beta2), one_minus_beta2 = T(1 - args.beta2);
  const T eps = T(args.eps), step_size = T(args.step_sizes[i]);
  const T bias_correction2 = T(args.bias_corrections2[i]);
  const T bias_correction2_sqrt = T(std::sqrt(args.bias_corrections2[i]));
  const bool debias_inside_sqrt = args.debias_inside_sqrt;

  for_elements(args.params[i]->numel(), [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      T pe = p[e], g = grad[e];
      if (decay_param) pe *= param_scale;
      if (decay_grad) g += weight_decay * pe;
      const T me = beta1 * m[e] + one_minus_beta1 * g;                                   // m = b1 m + (1 - b1) g
      const T ve = beta2 * v[e] + one_minus_beta2 * g * g;                               // v = b2 v + (1 - b2) g^2
      const T denom = debias_inside_sqrt ? std::sqrt(ve / bias_correction2) + eps        // fastai
                                         : std::sqrt(ve) / bias_correction2_sqrt + eps;  // PyTorch
      p[e] = pe - step_size * (me / denom);                                              // p -= lr / bc1 * m / denom
      m[e] = me;
      v[e] = ve;
    }
  });
}

void adam_step(const AdamStepArgs& args) {
  for (int64_t i = 0; i < args.count; ++i) {
    if (args.params[i]->dtype() == DType::Float64)
      adam_update<double>(args, i);
    else
      adam_update<float>(args, i);
  }
}

}  // namespace ember::cpu
