// ember_bench: times a few representative Ember workloads (see bench/README.md).
//
//   ember_bench [--filter SUBSTR] [--device cpu|cuda|all] [--repeat N] [--threads N] [--json] [--list]
//               [--peak-rss]
//
// Three families of CPU cases here, and two more in their own files (the exercise training loops,
// exercise_cases.cpp; convolutions, BatchNorm, pooling and ResNet34, conv_cases.cpp):
//  - GEMM (compute-bound): gemm_f32_<N>_<route>, C = matmul(A, B) on float32 NxN, once per GEMM
//    route compiled into Ember (tensor/cpu/gemm.h); GFLOP/s = 2 N^3 / t.
//  - memory-bound: add_f32_16M (c = a + b) and sum_f32_16M (sum(a)); GB/s of the bytes that must
//    move between memory and the cores.
//  - overhead: ops on 1-element tensors, where the time is all bookkeeping (allocation, dispatch,
//    the autograd graph), reported in ns per op.
// and, in a build with CUDA, the same families on the GPU (cuda_*, see "GPU cases" below), each
// next to its yardstick: cuBLAS for the GEMM, cudaMemcpy for the memory-bound kernels.
// bench/torch_bench.py runs the same cases in PyTorch; keep the case names stable, it matches on them.
#include <sys/resource.h>  // getrusage: the peak resident memory of --peak-rss

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "bench/conv_cases.h"
#include "bench/exercise_cases.h"
#include "bench/harness.h"
#include "tensor/cpu/gemm.h"
#include "tensor/device.h"
#include "tensor/kernels.h"
#include "tensor/parallel.h"

#ifdef EMBER_HAVE_CUDA
#include <cuda_runtime.h>  // cudaMemcpyAsync, the yardstick of the memory-bound GPU cases

#include <stdexcept>

#include "cuda/cuda_api.h"
#endif

using namespace ember;
using bench::Case;
using bench::Unit;
using bench::Work;

// ---- GEMM routes ---------------------------------------------------------------------------------
// Ember's own threads (packed, eigen) run first and OpenBLAS last: after a call, OpenBLAS's worker
// threads keep spinning for a while (about 0.1 s) and would steal the cores from the OpenMP
// threads of whatever route ran next, which is a measurement artefact, not the route's speed.
// (A build without OpenBLAS has no blas route.)
const std::vector<GemmBackend> kGemmRoutes = {GemmBackend::Packed, GemmBackend::Eigen,
#ifdef EMBER_HAVE_BLAS
                                              GemmBackend::Blas
#endif
};

// ---- cases ---------------------------------------------------------------------------------------
constexpr int64_t kBig = 16 * 1024 * 1024;  // elements of the memory-bound cases (64 MiB of float32)
constexpr int kTinyOps = 100000;            // tiny ops per timed repeat
constexpr int kTrainSteps = 10000;          // training steps per timed repeat
// Ops in one training step, as written in train_step() below: forward mul, sub, square, sum (4);
// the backward() call (1; it runs the 4 backward nodes and the gradient accumulation); the update
// mul, sub_ and zero_ (3). 8 in all; torch_bench.py's step has the same 8.
constexpr int kOpsPerTrainStep = 8;

Case gemm_case(int64_t n, GemmBackend route, GemmBackend default_route) {
  Case c;
  c.name = "gemm_f32_" + std::to_string(n) + "_" + gemm_backend_name(route);
  c.work = {Unit::GflopPerSecond, 2.0 * n * n * n};
  c.route = gemm_backend_name(route);
  c.default_route = route == default_route;
  c.make = [n, route] {
    Tensor a = randn({n, n}), b = randn({n, n});
    return std::function<void()>([a, b, route] {
      // Each GEMM case runs on its own route and then puts the default back: the cases after it
      // (convolutions, ResNet34) must not inherit, say, OpenBLAS, whose own threads would fight
      // Ember's for the cores inside the convolution's parallel loop.
      const GemmBackend previous = gemm_backend();
      set_gemm_backend(route);
      Tensor product = matmul(a, b);
      set_gemm_backend(previous);
    });
  };
  return c;
}

Case add_case() {
  Case c;
  c.name = "add_f32_16M";
  c.work = {Unit::GBPerSecond, 3.0 * 4 * kBig};  // read a, read b, write c
  c.make = [] {
    Tensor a = randn({kBig}), b = randn({kBig});
    return std::function<void()>([a, b] { Tensor out = a + b; });
  };
  return c;
}

Case sum_case() {
  Case c;
  c.name = "sum_f32_16M";
  c.work = {Unit::GBPerSecond, 4.0 * kBig};  // read a
  c.make = [] {
    Tensor a = randn({kBig});
    return std::function<void()>([a] { Tensor s = sum(a); });
  };
  return c;
}

// a + b on 1-element tensors, kTinyOps times; with `a_requires_grad` each add records a graph node.
Case tiny_add_case(const std::string& name, bool a_requires_grad) {
  Case c;
  c.name = name;
  c.work = {Unit::NsPerOp, double(kTinyOps)};
  c.make = [a_requires_grad] {
    Tensor a = ones({1}), b = ones({1});
    a.requires_grad_(a_requires_grad);
    return std::function<void()>([a, b] {
      for (int i = 0; i < kTinyOps; ++i) Tensor out = a + b;
    });
  };
  return c;
}

// One step of gradient descent on loss = sum((w x - y)^2) with 1x1 tensors (kOpsPerTrainStep ops).
void train_step(Tensor& w, const Tensor& x, const Tensor& y) {
  Tensor loss = sum(square(w * x - y));
  backward(loss);
  NoGradGuard no_grad;
  Tensor step = w.grad() * 0.1;
  w -= step;
  Tensor grad = w.grad();
  zero_(grad);
}

Case train_step_case() {
  Case c;
  c.name = "tiny_train_step";
  c.work = {Unit::NsPerStep, double(kTrainSteps)};
  c.extra = Work{Unit::NsPerOp, double(kTrainSteps) * kOpsPerTrainStep};
  c.make = [] {
    Tensor w = full({1, 1}, 0.5), x = full({1, 1}, 2.0), y = full({1, 1}, 3.0);
    w.requires_grad_();
    return std::function<void()>([w, x, y]() mutable {
      for (int i = 0; i < kTrainSteps; ++i) train_step(w, x, y);
    });
  };
  return c;
}

// ---- GPU cases (a build with CUDA only) -----------------------------------------------------------
// Every repeat ends with cuda::synchronize(): kernels are queued asynchronously, so without it the
// clock would stop when the launches return, not when the GPU is done. Inputs are made on the GPU
// and synchronized before the first repeat. Each case sits next to its yardstick:
//  - cuda_gemm_f32_<N>_hand / _cublas: matmul on float32 N x N with Ember's own SGEMM, then with
//    cuBLAS (cuda::set_gemm_backend); TFLOP/s = 2 N^3 / t (reported in GFLOP/s);
//  - cuda_copy_f32_256M: Ember's copy kernel (kernels::copy, a contiguous 1 GiB tensor into another)
//    and cuda_memcpy_f32_256M, cudaMemcpyAsync device-to-device of the same bytes, the copy
//    bandwidth the memory-bound kernels are measured against; GB/s counts read + write;
//  - cuda_add_f32_64M (c = a + b, 3 arrays of 256 MiB) and cuda_sum_f32_64M (sum(a)): GB/s;
//  - cuda_tiny_add: 1000 adds of 1-element tensors, one synchronize at the end: launch overhead;
//  - cuda_alloc_steady: a small training loop on the GPU; its counter cuda_malloc_calls is how often
//    the caching allocator had to call cudaMalloc during the timed (steady-state) steps: must be 0.
#ifdef EMBER_HAVE_CUDA
constexpr int64_t kGpuCopyElements = 256LL * 1024 * 1024;  // 1 GiB of float32
constexpr int64_t kGpuBig = 64LL * 1024 * 1024;            // 256 MiB of float32
constexpr int kGpuTinyOps = 1000;                          // tiny adds per repeat (one sync)
constexpr int kGpuTrainSteps = 100;                        // training steps per repeat (one sync)

Tensor gpu_randn(const Shape& shape) { return randn(shape, DType::Float32, Device::cuda()); }

const char* gpu_route_name(cuda::GemmBackend backend) { return backend == cuda::GemmBackend::Hand ? "hand" : "cublas"; }

Case cuda_gemm_case(int64_t n, cuda::GemmBackend route, cuda::GemmBackend default_route) {
  Case c;
  c.name = "cuda_gemm_f32_" + std::to_string(n) + "_" + gpu_route_name(route);
  c.work = {Unit::GflopPerSecond, 2.0 * n * n * n};
  c.route = gpu_route_name(route);
  c.default_route = route == default_route;
  c.make = [n, route] {
    Tensor a = gpu_randn({n, n}), b = gpu_randn({n, n});
    cuda::synchronize();
    return std::function<void()>([a, b, route] {
      cuda::set_gemm_backend(route);
      Tensor product = matmul(a, b);
      cuda::synchronize();
    });
  };
  return c;
}

Case cuda_copy_case() {
  Case c;
  c.name = "cuda_copy_f32_256M";
  c.work = {Unit::GBPerSecond, 2.0 * 4 * kGpuCopyElements};  // read src, write dst
  c.make = [] {
    Tensor src = gpu_randn({kGpuCopyElements}), dst = empty({kGpuCopyElements}, DType::Float32, Device::cuda());
    cuda::synchronize();
    return std::function<void()>([src, dst] {
      kernels::copy(dst, src);
      cuda::synchronize();
    });
  };
  return c;
}

// The yardstick: the driver's own device-to-device copy of the same bytes, on the default stream.
Case cuda_memcpy_case() {
  Case c;
  c.name = "cuda_memcpy_f32_256M";
  c.work = {Unit::GBPerSecond, 2.0 * 4 * kGpuCopyElements};
  c.make = [] {
    Tensor src = gpu_randn({kGpuCopyElements}), dst = empty({kGpuCopyElements}, DType::Float32, Device::cuda());
    cuda::synchronize();  // Ember's stream made src; the copy below runs on another stream
    return std::function<void()>([src, dst] {
      cudaError_t status = cudaMemcpyAsync(dst.raw_data(), src.raw_data(), 4 * size_t(kGpuCopyElements),
                                           cudaMemcpyDeviceToDevice, nullptr);
      if (status == cudaSuccess) status = cudaStreamSynchronize(nullptr);
      if (status != cudaSuccess)
        throw std::runtime_error(std::string("cudaMemcpyAsync: ") + cudaGetErrorString(status));
    });
  };
  return c;
}

Case cuda_add_case() {
  Case c;
  c.name = "cuda_add_f32_64M";
  c.work = {Unit::GBPerSecond, 3.0 * 4 * kGpuBig};  // read a, read b, write c
  c.make = [] {
    Tensor a = gpu_randn({kGpuBig}), b = gpu_randn({kGpuBig});
    cuda::synchronize();
    return std::function<void()>([a, b] {
      Tensor out = a + b;
      cuda::synchronize();
    });
  };
  return c;
}

Case cuda_sum_case() {
  Case c;
  c.name = "cuda_sum_f32_64M";
  c.work = {Unit::GBPerSecond, 4.0 * kGpuBig};  // read a
  c.make = [] {
    Tensor a = gpu_randn({kGpuBig});
    cuda::synchronize();
    return std::function<void()>([a] {
      Tensor s = sum(a);
      cuda::synchronize();
    });
  };
  return c;
}

Case cuda_tiny_add_case() {
  Case c;
  c.name = "cuda_tiny_add";
  c.work = {Unit::NsPerOp, double(kGpuTinyOps)};
  c.make = [] {
    Tensor a = ones({1}, DType::Float32, Device::cuda()), b = ones({1}, DType::Float32, Device::cuda());
    cuda::synchronize();
    return std::function<void()>([a, b] {
      for (int i = 0; i < kGpuTinyOps; ++i) Tensor out = a + b;
      cuda::synchronize();
    });
  };
  return c;
}

// loss = sum((x w - y)^2) for a 256 x 256 weight and a batch of 64, one step of gradient descent:
// forward, backward (two matmuls), update. After the warm-up every block this loop needs is in the
// allocator's cache, so the timed steps must not call cudaMalloc at all.
Case cuda_alloc_steady_case(cuda::GemmBackend default_route) {
  Case c;
  c.name = "cuda_alloc_steady";
  c.work = {Unit::NsPerStep, double(kGpuTrainSteps)};
  c.make = [default_route] {
    Tensor w = gpu_randn({256, 256}), x = gpu_randn({64, 256}), y = gpu_randn({64, 256});
    w.requires_grad_();
    cuda::synchronize();
    return std::function<void()>([w, x, y, default_route]() mutable {
      cuda::set_gemm_backend(default_route);  // the GEMM cases before it leave theirs set
      for (int i = 0; i < kGpuTrainSteps; ++i) {
        Tensor loss = sum(square(matmul(x, w) - y));
        backward(loss);
        NoGradGuard no_grad;
        Tensor step = w.grad() * 0.001;
        w -= step;
        Tensor grad = w.grad();
        zero_(grad);
      }
      cuda::synchronize();
    });
  };
  c.counters = [] {
    cuda::AllocatorStats stats = cuda::allocator_stats();
    return std::vector<bench::Counter>{{"cuda_malloc_calls", double(stats.cuda_malloc_calls)},
                                       {"cache_hits", double(stats.cache_hits)}};
  };
  return c;
}

void add_gpu_cases(std::vector<Case>& cases) {
  const cuda::GemmBackend default_route = cuda::gemm_backend();  // EMBER_CUDA_GEMM, or hand
  for (int64_t n : {512, 1024, 2048, 4096, 8192})
    for (cuda::GemmBackend route : {cuda::GemmBackend::Hand, cuda::GemmBackend::Cublas})
      cases.push_back(cuda_gemm_case(n, route, default_route));
  cases.push_back(cuda_copy_case());
  cases.push_back(cuda_memcpy_case());
  cases.push_back(cuda_add_case());
  cases.push_back(cuda_sum_case());
  cases.push_back(cuda_tiny_add_case());
  cases.push_back(cuda_alloc_steady_case(default_route));
}
#endif

bool is_gpu_case(const Case& c) { return c.name.rfind("cuda_", 0) == 0; }

std::vector<Case> all_cases() {
  GemmBackend default_route = gemm_backend();  // EMBER_GEMM, or Ember's default
  std::vector<Case> cases;
  for (GemmBackend route : kGemmRoutes)
    for (int64_t n : {256, 512, 1024, 2048}) cases.push_back(gemm_case(n, route, default_route));
  cases.push_back(add_case());
  cases.push_back(sum_case());
  cases.push_back(tiny_add_case("tiny_add_nograd", false));
  cases.push_back(tiny_add_case("tiny_add_autograd", true));
  cases.push_back(train_step_case());
  bench::add_exercise_cases(cases);
  bench::add_conv_cases(cases);
#ifdef EMBER_HAVE_CUDA
  add_gpu_cases(cases);
  bench::add_cuda_conv_cases(cases);
#endif
  return cases;
}

// ---- command line --------------------------------------------------------------------------------
struct Options {
  std::string filter;
  std::string device = "all";  // cpu: the CPU cases, cuda: the GPU cases (cuda_*), all: both
  int repeats = 0;             // 0: chosen per case from the warm-up
  int threads = 0;             // 0: leave Ember's default (EMBER_NUM_THREADS or all cores)
  bool json = false;
  bool list = false;
  bool peak_rss = false;  // report the process's peak resident memory after each case
};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ember_bench [--filter SUBSTR] [--device cpu|cuda|all] [--repeat N] [--threads N] [--json] "
               "[--list] [--peak-rss] [--help]\n"
               "  --filter SUBSTR  run only the cases whose name contains SUBSTR\n"
               "  --device D       cpu: the CPU cases, cuda: the GPU cases (cuda_*; a build with CUDA), all (default)\n"
               "  --repeat N       timed repeats per case (default: enough for about %.0f s per case, at least %d)\n"
               "  --threads N      threads for Ember's loops, Eigen and OpenBLAS (default: EMBER_NUM_THREADS or all "
               "cores)\n"
               "  --json           one JSON object per case and line instead of a table\n"
               "  --list           print the names of the cases that would run, and exit\n"
               "  --peak-rss       after each case, the process's peak resident memory so far (getrusage's\n"
               "                   ru_maxrss); run one case alone to get that case's peak\n"
               "  --help           this text\n"
               "GEMM cases run once per route (gemm_f32_<N>_<route>); EMBER_GEMM picks the default route.\n"
               "GPU convolution/BN/pooling/ResNet cases run once per backend (cuda_<case>_ember, _cudnn).\n"
               "Without a usable GPU the cuda_* cases are skipped (with a message on stderr).\n",
               bench::kTargetSeconds, bench::kMinRepeats);
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "ember_bench: %s (see --help)\n", message.c_str());
  std::exit(2);
}

int parse_positive(const std::string& flag, const char* text) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 1 || value > 1000000)
    usage_error(flag + " expects a positive integer, got '" + text + "'");
  return static_cast<int>(value);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(arg + " expects a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      print_usage(stdout);
      std::exit(0);
    } else if (arg == "--filter")
      options.filter = value();
    else if (arg == "--device") {
      options.device = value();
      if (options.device != "cpu" && options.device != "cuda" && options.device != "all")
        usage_error("--device expects cpu, cuda or all, got '" + options.device + "'");
    } else if (arg == "--repeat")
      options.repeats = parse_positive(arg, value());
    else if (arg == "--threads")
      options.threads = parse_positive(arg, value());
    else if (arg == "--json")
      options.json = true;
    else if (arg == "--list")
      options.list = true;
    else if (arg == "--peak-rss")
      options.peak_rss = true;
    else
      usage_error("unknown option '" + arg + "'");
  }
  return options;
}

// ---- main ----------------------------------------------------------------------------------------
// The high-water mark of this process's resident memory, in MiB: VmHWM from /proc/self/status.
// Not getrusage's ru_maxrss: Linux carries that over exec from the process that forked us, so a
// benchmark started by torch_bench.py would report the Python parent's size (~880 MiB with torch
// loaded) instead of its own. ru_maxrss (KiB) only where /proc is missing.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;  // "VmHWM:  123456 kB"
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024;
}

// Without a usable GPU the cuda_* cases are dropped with a message (a CPU-only build has none).
void drop_gpu_cases_without_gpu(std::vector<Case>& selected) {
  size_t gpu_cases = 0;
  for (const Case& c : selected) gpu_cases += is_gpu_case(c);
  if (gpu_cases == 0 || cuda_is_available()) return;
  std::string reason = "this build has no CUDA backend";
#ifdef EMBER_HAVE_CUDA
  reason = cuda::unavailable_reason();
#endif
  std::fprintf(stderr, "ember_bench: no usable CUDA GPU (%s): skipping %zu GPU case(s)\n", reason.c_str(), gpu_cases);
  std::erase_if(selected, is_gpu_case);
}

int run(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (options.threads > 0) set_num_threads(options.threads);
  std::vector<Case> selected;
  for (Case& c : all_cases()) {
    bool device_wanted = options.device == "all" || (options.device == "cuda") == is_gpu_case(c);
    if (device_wanted && c.name.find(options.filter) != std::string::npos) selected.push_back(std::move(c));
  }
  if (selected.empty())
    usage_error("no " + (options.device == "all" ? std::string() : options.device + " ") + "case name contains '" +
                options.filter + "'");
  drop_gpu_cases_without_gpu(selected);
  if (options.list) {
    for (const Case& c : selected) std::printf("%s\n", c.name.c_str());
    return 0;
  }
  if (!options.json) {
    std::printf("ember_bench: %d threads, default GEMM route %s\n", num_threads(), gemm_backend_name(gemm_backend()));
#ifdef EMBER_HAVE_CUDA
    if (cuda_is_available())
      std::printf("ember_bench: GPU %s, default GPU GEMM %s\n", cuda::device_name(0).c_str(),
                  gpu_route_name(cuda::gemm_backend()));
#endif
    bench::print_table_header();
  }
  // A case that throws (a GPU kernel not written yet, out of memory) is reported and the others
  // still run; the exit status is then 1.
  int failures = 0;
  for (const Case& c : selected) {
    try {
      bench::Result result = bench::run_case(c, options.repeats);
      if (options.peak_rss) result.peak_rss_mib = peak_rss_mib();
      if (options.json)
        bench::print_json_line(c, result, num_threads());
      else
        bench::print_table_row(c, result);
    } catch (const std::exception& error) {
      ++failures;
      std::fprintf(stderr, "ember_bench: %s failed: %s\n", c.name.c_str(), error.what());
      if (options.json) bench::print_json_error(c, error.what());
    }
  }
  return failures ? 1 : 0;
}

// An error outside a case (EMBER_GEMM=blas in a build without OpenBLAS, say) ends the program
// with its message rather than with std::terminate.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ember_bench: %s\n", error.what());
    return 2;
  }
}
