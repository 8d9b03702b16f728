// See conv_cases.h. The work each case counts, so its metric means the same on both sides:
//
//  - convolutions and ResNet34 report GFLOP/s from exact FLOP counts: 2 x the multiply-adds of every
//    convolution and Linear, MACs = N * C_out * OH * OW * (C_in * KH * KW) per conv, N * in * out
//    per Linear; BatchNorm, ReLU, pooling and the residual adds are not counted (well under 1% of
//    ResNet34's work). A backward costs two forwards (dL/dx and dL/dW are each one GEMM as large as
//    the forward's), so _fwdbwd and the training step count 3 x the forward's FLOPs (the training
//    step's first conv needs no dL/dx, but the convention counts it anyway, as the usual "model
//    FLOPs utilisation" estimates do).
//  - BatchNorm, max-pool and ReLU are memory-bound and report GB/s of the bytes that must move
//    (float32, 4 bytes per element), not counting the re-reads a kernel chooses to do:
//      bn2d     forward: read x, write y (8 B per element); _fwdbwd adds read dy, read x, write dx (12 B)
//      maxpool  forward: read x, write y (4 B per input + 4 B per output element); _fwdbwd adds read
//               dy, write dx (the same again)
//      relu     forward: read x, write y (8 B per element)
#include "bench/conv_cases.h"

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "autograd/ops.h"
#include "nn/batch_norm.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/models/resnet.h"
#include "nn/pooling.h"
#include "nn/sgd.h"
#include "tensor/parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#ifdef EMBER_HAVE_CUDA
#include "cuda/cuda_api.h"
#endif

namespace bench {
using namespace ember;

namespace {

// ---- the FMA peak -------------------------------------------------------------------------------
// kChains independent chains acc = acc * a + b, 8 floats wide: an FMA has a latency of 4-5 cycles
// and a core issues 2 per cycle, so at least 8-10 chains must be in flight to keep both FMA units
// busy; 12 accumulators + a + b fit in the 16 ymm registers. Nothing touches memory inside the loop.
// With a = 1 - 1e-7 and b = 1e-7 every chain tends to 1: no overflow, no denormals.
constexpr int kChains = 12;
constexpr int kLanes = 8;                      // floats per 256-bit register
constexpr int64_t kFmaIterations = 1LL << 23;  // per thread and repeat: 8.4M x 12 x 8 x 2 = 1.6 GFLOP
constexpr float kFmaA = 1.0f - 1e-7f, kFmaB = 1e-7f;

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iterations) {
  __m256 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(1.0f + 0.01f * j);
  const __m256 a = _mm256_set1_ps(kFmaA), b = _mm256_set1_ps(kFmaB);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  __m256 total = acc[0];
  for (int j = 1; j < kChains; ++j) total = _mm256_add_ps(total, acc[j]);
  return _mm256_cvtss_f32(total);
}

bool cpu_has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
bool cpu_has_avx2_fma() { return false; }
#endif

// Without AVX2: the same chains on plain float arrays; std::fma becomes the machine's FMA
// instruction (vectorised where the compiler can), so this measures what portable code gets.
float fma_chains_portable(int64_t iterations) {
  float acc[kChains][kLanes];
  for (int j = 0; j < kChains; ++j)
    for (int l = 0; l < kLanes; ++l) acc[j][l] = 1.0f + 0.01f * j;
  for (int64_t i = 0; i < iterations; ++i)
    for (int j = 0; j < kChains; ++j)
      for (int l = 0; l < kLanes; ++l) acc[j][l] = std::fma(acc[j][l], kFmaA, kFmaB);
  float total = 0;
  for (int j = 0; j < kChains; ++j)
    for (int l = 0; l < kLanes; ++l) total += acc[j][l];
  return total;
}

volatile float g_fma_sink;  // the chains' result goes somewhere, so the loop cannot be dropped

Case fma_peak_case() {
  const int threads = num_threads();  // --threads is applied before the cases are made
  const bool avx2 = cpu_has_avx2_fma();
  Case c;
  c.name = "fma_peak";
  c.work = {Unit::GflopPerSecond, 2.0 * kLanes * kChains * double(kFmaIterations) * threads};  // 2 FLOPs per FMA lane
  c.make = [threads, avx2] {
    return std::function<void()>([threads, avx2] {
      float sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
      {
#if defined(__x86_64__) || defined(__i386__)
        sum += avx2 ? fma_chains_avx2(kFmaIterations) : fma_chains_portable(kFmaIterations);
#else
        sum += fma_chains_portable(kFmaIterations);
#endif
      }
      g_fma_sink = sum;
    });
  };
  return c;
}

// ---- where a case runs ----------------------------------------------------------------------------
// On the CPU; or on the GPU with one DNN backend, "ember" (Ember's own CUDA kernels) or "cudnn".
// A GPU repeat selects its backend first (cheap; whatever case ran before leaves its own set) and
// waits for the GPU at its end, as the GEMM cases do.
struct Target {
  Device device = Device::cpu();
  std::string route;  // "" on the CPU
  bool default_route = false;
};

std::string case_name(const Target& target, const std::string& base) {
  return target.device.is_cuda() ? "cuda_" + base + "_" + target.route : base;
}

void begin_repeat(const Target& target) {
#ifdef EMBER_HAVE_CUDA
  if (target.device.is_cuda()) cuda::set_dnn_backend(cuda::parse_dnn_backend(target.route));
#endif
}

void end_repeat(const Target& target) {
#ifdef EMBER_HAVE_CUDA
  if (target.device.is_cuda()) cuda::synchronize();
#endif
}

// A case on `target`: make_body(device) allocates the inputs on the device and returns the work of
// one repeat; the repeat is wrapped in begin_repeat / end_repeat.
using BodyMaker = std::function<std::function<void()>(Device)>;

Case make_case(const Target& target, const std::string& base, Work work, BodyMaker make_body) {
  Case c;
  c.name = case_name(target, base);
  c.work = work;
  c.route = target.route;
  c.default_route = target.default_route;
  c.make = [target, make_body] {
#ifdef EMBER_HAVE_CUDA
    if (target.route == "cudnn" && !cuda::cudnn_available())
      throw std::runtime_error("this build has no cuDNN (cuda::cudnn_available() is false)");
#endif
    begin_repeat(target);  // modules built below may look at the backend
    std::function<void()> body = make_body(target.device);
    end_repeat(target);
    return std::function<void()>([target, body] {
      begin_repeat(target);
      body();
      end_repeat(target);
    });
  };
  return c;
}

// ---- one layer -----------------------------------------------------------------------------------
// Forward only (under no_grad: no graph is recorded), or forward and backward of the upstream
// gradient dy into x and every parameter of the layer; the gradients of the previous repeat are
// dropped first (set to none), so every repeat allocates and writes them afresh, on both sides.
std::function<void()> layer_repeat(std::shared_ptr<nn::Module> layer, const Shape& x_shape, Device device,
                                   bool with_backward) {
  Tensor x = randn(x_shape, DType::Float32, device);
  if (!with_backward)
    return [layer, x] {
      NoGradGuard no_grad;
      Tensor y = (*layer)(x);
    };
  x.requires_grad_();
  Tensor dy;
  {
    NoGradGuard no_grad;
    dy = randn((*layer)(x).shape(), DType::Float32, device);
  }
  return [layer, x, dy] {
    x.set_grad(Tensor());
    layer->zero_grad();
    Tensor y = (*layer)(x);
    backward(y, dy);
  };
}

std::string layer_name(const std::string& base, bool with_backward) { return with_backward ? base + "_fwdbwd" : base; }

// A convolution without bias on x (batch, in, size, size).
struct ConvSpec {
  int64_t batch, in, out, size, kernel, stride, padding;
  int64_t output_size() const { return (size + 2 * padding - kernel) / stride + 1; }
  int64_t macs() const { return batch * out * output_size() * output_size() * in * kernel * kernel; }
};

Case conv_case(const Target& target, const std::string& base, ConvSpec spec, bool with_backward) {
  double flops = 2.0 * double(spec.macs()) * (with_backward ? 3 : 1);
  return make_case(
      target, layer_name(base, with_backward), {Unit::GflopPerSecond, flops}, [spec, with_backward](Device device) {
        auto conv =
            std::make_shared<nn::Conv2d>(spec.in, spec.out, spec.kernel, spec.stride, spec.padding, /*bias=*/false);
        conv->to(device);
        return layer_repeat(conv, {spec.batch, spec.in, spec.size, spec.size}, device, with_backward);
      });
}

// BatchNorm2d, max-pool and ReLU all run on the output of ResNet's stem conv: (8, 64, 112, 112).
const Shape kStemOutput = {8, 64, 112, 112};
constexpr double kStemElements = 8.0 * 64 * 112 * 112;

Case bn_case(const Target& target, bool with_backward) {
  double bytes = (with_backward ? 20.0 : 8.0) * kStemElements;
  return make_case(target, layer_name("bn2d_8x64x112", with_backward), {Unit::GBPerSecond, bytes},
                   [with_backward](Device device) {
                     auto bn = std::make_shared<nn::BatchNorm2d>(64);  // training mode: batch statistics
                     bn->to(device);
                     return layer_repeat(bn, kStemOutput, device, with_backward);
                   });
}

Case maxpool_case(const Target& target, bool with_backward) {
  const double output_elements = kStemElements / 4;  // (8, 64, 56, 56)
  double bytes = 4.0 * (kStemElements + output_elements) * (with_backward ? 2 : 1);
  return make_case(target, layer_name("maxpool3x3s2_8x64x112", with_backward), {Unit::GBPerSecond, bytes},
                   [with_backward](Device device) {
                     return layer_repeat(std::make_shared<nn::MaxPool2d>(3, 2, 1), kStemOutput, device, with_backward);
                   });
}

Case relu_case(const Target& target) {
  return make_case(target, "relu_8x64x112", {Unit::GBPerSecond, 8.0 * kStemElements}, [](Device device) {
    return layer_repeat(std::make_shared<nn::ReLU>(), kStemOutput, device, false);
  });
}

const ConvSpec kConv3x3 = {8, 64, 64, 56, 3, 1, 1};  // a layer1 conv of ResNet34 at 224
const ConvSpec kConv7x7 = {8, 3, 64, 224, 7, 2, 3};  // ResNet's stem

void add_layer_cases(std::vector<Case>& cases, const Target& target) {
  for (bool with_backward : {false, true})
    cases.push_back(conv_case(target, "conv3x3_64_8x56", kConv3x3, with_backward));
  for (bool with_backward : {false, true})
    cases.push_back(conv_case(target, "conv7x7s2_8x224", kConv7x7, with_backward));
  for (bool with_backward : {false, true}) cases.push_back(bn_case(target, with_backward));
  for (bool with_backward : {false, true}) cases.push_back(maxpool_case(target, with_backward));
}

// ---- ResNet34 ------------------------------------------------------------------------------------
const std::vector<int64_t> kResNet34Blocks = {3, 4, 6, 3};
constexpr int64_t kClasses = 1000;

int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  return (size + 2 * padding - kernel) / stride + 1;
}

// Multiply-adds of one image through a torchvision ResNet with BasicBlocks (nn/models/resnet.h):
// the stem conv 7x7/2 (3 -> 64), then per block two 3x3 convs (the first with the layer's stride)
// and, where the shape changes, a 1x1 downsample conv; then fc (512 -> classes). Square images.
int64_t resnet_forward_macs(const std::vector<int64_t>& blocks_per_layer, int64_t image_size) {
  int64_t size = conv_output_size(image_size, 7, 2, 3);
  int64_t macs = 64 * size * size * 3 * 7 * 7;
  size = conv_output_size(size, 3, 2, 1);  // maxpool
  int64_t in_planes = 64;
  for (size_t layer = 0; layer < blocks_per_layer.size(); ++layer) {
    const int64_t planes = 64 << layer;
    for (int64_t block = 0; block < blocks_per_layer[layer]; ++block) {
      const int64_t stride = (layer > 0 && block == 0) ? 2 : 1;
      const int64_t out = conv_output_size(size, 3, stride, 1);
      macs += planes * out * out * in_planes * 9;                                      // conv1
      macs += planes * out * out * planes * 9;                                         // conv2
      if (stride != 1 || in_planes != planes) macs += planes * out * out * in_planes;  // downsample 1x1
      in_planes = planes;
      size = out;
    }
  }
  return macs + in_planes * kClasses;  // fc
}

double resnet34_forward_flops(int64_t batch, int64_t image_size) {
  return 2.0 * double(batch) * double(resnet_forward_macs(kResNet34Blocks, image_size));
}

std::string resnet_name(const char* kind, int64_t batch, int64_t image_size) {
  return std::string("resnet34_") + kind + "_b" + std::to_string(batch) + "_" + std::to_string(image_size);
}

// Eval mode, no grad: logits = model(x), x (batch, 3, size, size).
Case resnet_forward_case(const Target& target, int64_t batch, int64_t image_size) {
  return make_case(target, resnet_name("fwd", batch, image_size),
                   {Unit::GflopPerSecond, resnet34_forward_flops(batch, image_size)},
                   [batch, image_size](Device device) {
                     auto model = nn::resnet34(kClasses);
                     model->to(device);
                     model->eval();
                     Tensor x = randn({batch, 3, image_size, image_size}, DType::Float32, device);
                     return std::function<void()>([model, x] {
                       NoGradGuard no_grad;
                       Tensor logits = (*model)(x);
                     });
                   });
}

// One training step, as a PyTorch training loop writes it.
Case resnet_train_case(const Target& target, int64_t batch, int64_t image_size) {
  return make_case(
      target, resnet_name("train", batch, image_size),
      {Unit::GflopPerSecond, 3 * resnet34_forward_flops(batch, image_size)}, [batch, image_size](Device device) {
        auto model = nn::resnet34(kClasses);
        model->to(device);
        model->train();
        auto optimizer = std::make_shared<nn::SGD>(model->parameters(), nn::SgdOptions{.lr = 0.01, .momentum = 0.9});
        Tensor x = randn({batch, 3, image_size, image_size}, DType::Float32, device);
        Tensor labels = randint(0, kClasses, {batch}, DType::Int64, device);
        return std::function<void()>([model, optimizer, x, labels] {
          Tensor logits = (*model)(x);
          Tensor loss = nn::cross_entropy(logits, labels);
          backward(loss);
          optimizer->step();
          optimizer->zero_grad();
        });
      });
}

}  // namespace

void add_conv_cases(std::vector<Case>& cases) {
  const Target cpu;
  cases.push_back(fma_peak_case());
  add_layer_cases(cases, cpu);
  cases.push_back(relu_case(cpu));
  for (int64_t size : {128, 224}) cases.push_back(resnet_forward_case(cpu, 8, size));
  for (int64_t size : {128, 224}) cases.push_back(resnet_train_case(cpu, 8, size));
}

void add_cuda_conv_cases(std::vector<Case>& cases) {
#ifdef EMBER_HAVE_CUDA
  const cuda::DnnBackend default_backend = cuda::dnn_backend();  // EMBER_DNN, or ember
  std::vector<Target> targets;
  for (cuda::DnnBackend backend : {cuda::DnnBackend::Ember, cuda::DnnBackend::Cudnn})
    targets.push_back({Device::cuda(), cuda::dnn_backend_name(backend), backend == default_backend});
  std::vector<Case> layers;
  for (const Target& target : targets) add_layer_cases(layers, target);
  // Interleaved, ember then cudnn per op, so the two routes of one op sit next to each other.
  const size_t per_target = layers.size() / targets.size();
  for (size_t i = 0; i < per_target; ++i)
    for (size_t t = 0; t < targets.size(); ++t) cases.push_back(layers[t * per_target + i]);
  for (int64_t batch : {8, 64})
    for (const Target& target : targets) cases.push_back(resnet_train_case(target, batch, 224));
#endif
}

}  // namespace bench
