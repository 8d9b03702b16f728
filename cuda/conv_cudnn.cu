// The kernel table's conv2d / conv2d_backward: cuDNN when dnn_backend() is Cudnn (EMBER_DNN=cudnn
// or set_dnn_backend), Ember's own kernels (conv.cu) otherwise. cuDNN is the alternative backend and
// the yardstick Ember's kernels are measured against. Same contracts as the kernel table (tensor/kernels.h): outputs
// overwritten, bias and any gradient output may be undefined, float32 and float64, groups, stride, padding, dilation.
//
// cuDNN's legacy convolution API, one call per direction:
//   forward        y  = conv(x, w)                 cudnnConvolutionForward       (+ cudnnAddTensor for the bias)
//   backward data  dx = conv_transpose(dy, w)      cudnnConvolutionBackwardData
//   backward filt. dw = correlate(x, dy)           cudnnConvolutionBackwardFilter
//   bias           db[c] = sum over n, h, w of dy  cudnnConvolutionBackwardBias
// Each direction's algorithm comes from cuDNN's heuristics (cudnnGet*Algorithm_v7), restricted to
// FMA arithmetic (CUDNN_FMA_MATH: no TF32 tensor cores), so float32 is computed like Ember's kernels
// and cuBLAS's default mode. The descriptors and chosen algorithms are cached per shape; workspaces
// come from Ember's caching allocator (a uint8 tensor), so steady-state training asks the driver for
// nothing. All work runs on Ember's stream (cudnn_handle() is bound to it). Shapes cuDNN's int
// descriptors cannot take (an empty extent, a tensor over 2^31 - 1 elements) run Ember's kernels.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuda/context.h"
#include "cuda/conv.cuh"
#include "cuda/cuda_kernels.h"
#include "cuda/dnn_backend.h"

namespace ember::cuda {

#ifdef EMBER_HAVE_CUDNN
namespace {

// The host scalars alpha = 1 and beta = 0 of every call: double for double data, float otherwise.
struct Scalars {
  float one_f = 1, zero_f = 0;
  double one_d = 1, zero_d = 0;
  bool is_double;
  explicit Scalars(DType dtype) : is_double(dtype == DType::Float64) {}
  const void* one() const { return is_double ? static_cast<const void*>(&one_d) : &one_f; }
  const void* zero() const { return is_double ? static_cast<const void*>(&zero_d) : &zero_f; }
};

int to_int(int64_t v, const char* what) {
  EMBER_CHECK(v >= 0 && v <= INT32_MAX, std::string("conv2d (cuDNN): ") + what + " = " + std::to_string(v) +
                                            " does not fit cuDNN's int arguments");
  return static_cast<int>(v);
}

// Everything cuDNN needs for one shape: descriptors and, once asked, each direction's algorithm.
struct ConvPlan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool have_forward = false, have_backward_data = false, have_backward_filter = false;
  cudnnConvolutionFwdAlgo_t forward_algo{};
  cudnnConvolutionBwdDataAlgo_t backward_data_algo{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter_algo{};
  size_t forward_workspace = 0, backward_data_workspace = 0, backward_filter_workspace = 0;
};

// The output shape follows from these, so they name the shape.
using PlanKey = std::array<int64_t, 16>;

PlanKey key_of(const ConvShape& s, const Conv2dGeometry& g, DType dtype, int device) {
  return {device,       static_cast<int64_t>(dtype),
          s.N,          s.C_in,
          s.H,          s.W,
          s.C_out,      s.KH,
          s.KW,         g.stride_h,
          g.stride_w,   g.pad_h,
          g.pad_w,      g.dilation_h,
          g.dilation_w, g.groups};
}

// Guards the plan cache and the algorithm choices stored in the plans.
std::mutex& plan_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::unique_ptr<ConvPlan> make_plan(const ConvShape& s, const Conv2dGeometry& g, DType dtype) {
  auto plan = std::make_unique<ConvPlan>();
  const cudnnDataType_t type = cudnn_data_type(dtype);
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->x));
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->y));
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->bias));
  EMBER_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  EMBER_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, type, to_int(s.N, "N"),
                                               to_int(s.C_in, "C_in"), to_int(s.H, "H"), to_int(s.W, "W")));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, type, to_int(s.N, "N"),
                                               to_int(s.C_out, "C_out"), to_int(s.OH, "OH"), to_int(s.OW, "OW")));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->bias, CUDNN_TENSOR_NCHW, type, 1, to_int(s.C_out, "C_out"), 1, 1));
  EMBER_CUDNN_CHECK(cudnnSetFilter4dDescriptor(plan->w, type, CUDNN_TENSOR_NCHW, to_int(s.C_out, "C_out"),
                                               to_int(s.C_in_g, "C_in / groups"), to_int(s.KH, "KH"),
                                               to_int(s.KW, "KW")));
  EMBER_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(plan->conv, to_int(g.pad_h, "pad_h"), to_int(g.pad_w, "pad_w"),
                                                    to_int(g.stride_h, "stride_h"), to_int(g.stride_w, "stride_w"),
                                                    to_int(g.dilation_h, "dilation_h"),
                                                    to_int(g.dilation_w, "dilation_w"), CUDNN_CROSS_CORRELATION, type));
  EMBER_CUDNN_CHECK(cudnnSetConvolutionGroupCount(plan->conv, to_int(g.groups, "groups")));
  EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, CUDNN_FMA_MATH));
  // cuDNN must agree with the output shape the op computed
  int n = 0, c = 0, h = 0, w = 0;
  EMBER_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->x, plan->w, &n, &c, &h, &w));
  EMBER_CHECK(n == s.N && c == s.C_out && h == s.OH && w == s.OW,
              "conv2d (cuDNN): cuDNN computes an output of (" + std::to_string(n) + ", " + std::to_string(c) + ", " +
                  std::to_string(h) + ", " + std::to_string(w) + "), the op expected (" + std::to_string(s.N) + ", " +
                  std::to_string(s.C_out) + ", " + std::to_string(s.OH) + ", " + std::to_string(s.OW) + ")");
  return plan;
}

// The plan of this shape, made on first use. Plans (and their descriptors) live as long as the
// program, like the handles (never freed: they may be used from static destructors' tensors).
ConvPlan& plan_for(const ConvShape& s, const Conv2dGeometry& g, DType dtype, int device) {
  static auto* plans = new std::map<PlanKey, std::unique_ptr<ConvPlan>>;
  std::lock_guard<std::mutex> lock(plan_mutex());
  std::unique_ptr<ConvPlan>& plan = (*plans)[key_of(s, g, dtype, device)];
  if (!plan) plan = make_plan(s, g, dtype);
  return *plan;
}

// Of cuDNN's candidates (best first by its heuristics), the first that runs with FMA arithmetic.
// The descriptor's CUDNN_FMA_MATH makes the heuristics label the float32 candidates CUDNN_FMA_MATH
// (PyTorch asserts exactly this when TF32 is off); CUDNN_DEFAULT_MATH would permit TF32 tensor cores
// on Ampere and later, so for float32 only FMA candidates are taken. float64 has no reduced-precision
// mode (its tensor-core DMMA is IEEE double), so DEFAULT is fine there too.
constexpr size_t kMaxWorkspace = size_t{2} << 30;
template <typename Perf>
bool usable(const Perf& perf, DType dtype) {
  const bool fma = perf.mathType == CUDNN_FMA_MATH || (dtype == DType::Float64 && perf.mathType == CUDNN_DEFAULT_MATH);
  return perf.status == CUDNN_STATUS_SUCCESS && fma && perf.memory <= kMaxWorkspace;
}

void choose_forward(cudnnHandle_t handle, ConvPlan& plan, DType dtype) {
  std::lock_guard<std::mutex> lock(plan_mutex());
  if (plan.have_forward) return;
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  EMBER_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, plan.x, plan.w, plan.conv, plan.y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
  for (int i = 0; i < returned; ++i) {
    if (!usable(perf[i], dtype)) continue;
    size_t bytes = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(handle, plan.x, plan.w, plan.conv, plan.y, perf[i].algo, &bytes) !=
        CUDNN_STATUS_SUCCESS)
      continue;
    plan.forward_algo = perf[i].algo, plan.forward_workspace = bytes, plan.have_forward = true;
    return;
  }
  throw Error("conv2d (cuDNN): cudnnGetConvolutionForwardAlgorithm_v7 offers no FMA algorithm for this shape");
}

void choose_backward_data(cudnnHandle_t handle, ConvPlan& plan, DType dtype) {
  std::lock_guard<std::mutex> lock(plan_mutex());
  if (plan.have_backward_data) return;
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int returned = 0;
  EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
      handle, plan.w, plan.y, plan.conv, plan.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
  for (int i = 0; i < returned; ++i) {
    if (!usable(perf[i], dtype)) continue;
    size_t bytes = 0;
    if (cudnnGetConvolutionBackwardDataWorkspaceSize(handle, plan.w, plan.y, plan.conv, plan.x, perf[i].algo, &bytes) !=
        CUDNN_STATUS_SUCCESS)
      continue;
    plan.backward_data_algo = perf[i].algo, plan.backward_data_workspace = bytes, plan.have_backward_data = true;
    return;
  }
  throw Error("conv2d_backward (cuDNN): cudnnGetConvolutionBackwardDataAlgorithm_v7 offers no FMA algorithm");
}

void choose_backward_filter(cudnnHandle_t handle, ConvPlan& plan, DType dtype) {
  std::lock_guard<std::mutex> lock(plan_mutex());
  if (plan.have_backward_filter) return;
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int returned = 0;
  EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
      handle, plan.x, plan.y, plan.conv, plan.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
  for (int i = 0; i < returned; ++i) {
    if (!usable(perf[i], dtype)) continue;
    size_t bytes = 0;
    if (cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, plan.x, plan.y, plan.conv, plan.w, perf[i].algo,
                                                       &bytes) != CUDNN_STATUS_SUCCESS)
      continue;
    plan.backward_filter_algo = perf[i].algo, plan.backward_filter_workspace = bytes;
    plan.have_backward_filter = true;
    return;
  }
  throw Error("conv2d_backward (cuDNN): cudnnGetConvolutionBackwardFilterAlgorithm_v7 offers no FMA algorithm");
}

// Can cuDNN's legacy API take this convolution? Its descriptors are int and reject an empty
// extent, and its kernels index a tensor with int (PyTorch splits the batch beyond 2^31 - 1
// elements). Anything else (no input channels, an empty batch, a huge tensor) runs Ember's kernels.
bool cudnn_takes(const ConvShape& s) {
  for (int64_t extent : {s.N, s.C_in, s.H, s.W, s.C_out, s.KH, s.KW, s.OH, s.OW})
    if (extent <= 0) return false;
  return s.N * s.C_in * s.H * s.W <= INT32_MAX && s.N * s.C_out * s.OH * s.OW <= INT32_MAX &&
         s.C_out * s.K <= INT32_MAX;
}

// A workspace of `bytes` from the caching allocator (kept alive by the returned tensor until the
// calls that use it are queued; stream order makes its reuse safe).
Tensor workspace(size_t bytes, Device device) {
  return bytes == 0 ? Tensor() : empty({static_cast<int64_t>(bytes)}, DType::UInt8, device);
}
void* pointer(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

}  // namespace

void conv2d_cudnn(const Tensor& out, const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in,
                  const Conv2dGeometry& g) {
  const DType dtype = out.dtype();
  EMBER_CHECK(out.is_contiguous(), "conv2d (cuDNN): expected a contiguous output of shape " + out.shape().str());
  const Tensor input = contiguous_as(input_in, dtype), weight = contiguous_as(weight_in, dtype);
  const ConvShape s = conv_shape(input, weight, out, g);
  if (out.numel() == 0) return;
  prepare(out);
  const cudnnHandle_t handle = cudnn_handle();
  ConvPlan& plan = plan_for(s, g, dtype, out.device().index);
  choose_forward(handle, plan, dtype);
  const Tensor space = workspace(plan.forward_workspace, out.device());
  const Scalars scalar(dtype);
  EMBER_CUDNN_CHECK(cudnnConvolutionForward(handle, scalar.one(), plan.x, input.raw_data(), plan.w, weight.raw_data(),
                                            plan.conv, plan.forward_algo, pointer(space), plan.forward_workspace,
                                            scalar.zero(), plan.y, out.raw_data()));
  if (bias_in.defined()) {  // y += bias broadcast over (N, ., OH, OW)
    const Tensor bias = contiguous_as(bias_in, dtype);
    EMBER_CUDNN_CHECK(
        cudnnAddTensor(handle, scalar.one(), plan.bias, bias.raw_data(), scalar.one(), plan.y, out.raw_data()));
  }
}

void conv2d_backward_cudnn(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_out_in, const Tensor& input_in, const Tensor& weight_in,
                           const Conv2dGeometry& g) {
  const DType dtype = grad_out_in.dtype();
  for (const Tensor* t : {&grad_input, &grad_weight, &grad_bias})
    EMBER_CHECK(!t->defined() || t->is_contiguous(),
                "conv2d_backward (cuDNN): expected contiguous gradient outputs, got one of shape " + t->shape().str());
  const Tensor input = contiguous_as(input_in, dtype), weight = contiguous_as(weight_in, dtype);
  const Tensor grad_out = contiguous_as(grad_out_in, dtype);
  const ConvShape s = conv_shape(input, weight, grad_out, g);
  if (s.N == 0 || s.P == 0) {  // cuDNN rejects empty tensors; every gradient is an empty sum
    for (const Tensor* t : {&grad_input, &grad_weight, &grad_bias})
      if (t->defined()) fill(*t, 0);
    return;
  }
  prepare(grad_out);
  const cudnnHandle_t handle = cudnn_handle();
  ConvPlan& plan = plan_for(s, g, dtype, grad_out.device().index);
  const Scalars scalar(dtype);
  if (grad_bias.defined())
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, scalar.one(), plan.y, grad_out.raw_data(), scalar.zero(),
                                                   plan.bias, grad_bias.raw_data()));
  if (grad_weight.defined()) {
    choose_backward_filter(handle, plan, dtype);
    const Tensor space = workspace(plan.backward_filter_workspace, grad_out.device());
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, scalar.one(), plan.x, input.raw_data(), plan.y,
                                                     grad_out.raw_data(), plan.conv, plan.backward_filter_algo,
                                                     pointer(space), plan.backward_filter_workspace, scalar.zero(),
                                                     plan.w, grad_weight.raw_data()));
  }
  if (grad_input.defined()) {
    choose_backward_data(handle, plan, dtype);
    const Tensor space = workspace(plan.backward_data_workspace, grad_out.device());
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, scalar.one(), plan.w, weight.raw_data(), plan.y,
                                                   grad_out.raw_data(), plan.conv, plan.backward_data_algo,
                                                   pointer(space), plan.backward_data_workspace, scalar.zero(), plan.x,
                                                   grad_input.raw_data()));
  }
}

#endif  // EMBER_HAVE_CUDNN

// ---- the entries of the kernel table -------------------------------------------------------------------
void conv2d(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
            const Conv2dGeometry& geometry) {
  if (dnn_backend() == DnnBackend::Cudnn) {  // never true in a build without cuDNN (selecting it throws)
#ifdef EMBER_HAVE_CUDNN
    if (cudnn_takes(conv_shape(input, weight, out, geometry))) return conv2d_cudnn(out, input, weight, bias, geometry);
#endif
  }
  conv2d_ember(out, input, weight, bias, geometry);
}

void conv2d_backward(const Tensor& grad_input, const Tensor& grad_weight, const Tensor& grad_bias,
                     const Tensor& grad_out, const Tensor& input, const Tensor& weight,
                     const Conv2dGeometry& geometry) {
  if (dnn_backend() == DnnBackend::Cudnn) {
#ifdef EMBER_HAVE_CUDNN
    if (cudnn_takes(conv_shape(input, weight, grad_out, geometry)))
      return conv2d_backward_cudnn(grad_input, grad_weight, grad_bias, grad_out, input, weight, geometry);
#endif
  }
  conv2d_backward_ember(grad_input, grad_weight, grad_bias, grad_out, input, weight, geometry);
}

}  // namespace ember::cuda
