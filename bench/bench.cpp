// ember_bench: times a few representative Ember workloads (see bench/README.md).
//
//   ember_bench [--filter SUBSTR] [--repeat N] [--threads N] [--json] [--list] [--help]
//
// Three families of cases:
//  - GEMM (compute-bound): gemm_f32_<N>_<route>, C = matmul(A, B) on float32 NxN, once per GEMM
//    route compiled into Ember (tensor/cpu/gemm.h); GFLOP/s = 2 N^3 / t.
//  - memory-bound: add_f32_16M (c = a + b) and sum_f32_16M (sum(a)); GB/s of the bytes that must
//    move between memory and the cores.
//  - overhead: ops on 1-element tensors, where the time is all bookkeeping (allocation, dispatch,
//    the autograd graph), reported in ns per op.
// bench/torch_bench.py runs the same cases in PyTorch; keep the case names stable, it matches on them.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "bench/harness.h"
#include "tensor/cpu/gemm.h"
#include "tensor/parallel.h"

using namespace ember;
using bench::Case;
using bench::Unit;
using bench::Work;

// ---- GEMM routes ---------------------------------------------------------------------------------
// Ember's own threads (packed, eigen) run first and OpenBLAS last: after a call, OpenBLAS's worker
// threads keep spinning for a while (about 0.1 s) and would steal the cores from the OpenMP
// threads of whatever route ran next, which is a measurement artefact, not the route's speed.
const std::vector<GemmBackend> kGemmRoutes = {GemmBackend::Packed, GemmBackend::Eigen, GemmBackend::Blas};

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
      set_gemm_backend(route);  // cheap; keeps each case on its own route whatever ran before
      Tensor product = matmul(a, b);
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
  return cases;
}

// ---- command line --------------------------------------------------------------------------------
struct Options {
  std::string filter;
  int repeats = 0;  // 0: chosen per case from the warm-up
  int threads = 0;  // 0: leave Ember's default (EMBER_NUM_THREADS or all cores)
  bool json = false;
  bool list = false;
};

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ember_bench [--filter SUBSTR] [--repeat N] [--threads N] [--json] [--list] [--help]\n"
               "  --filter SUBSTR  run only the cases whose name contains SUBSTR\n"
               "  --repeat N       timed repeats per case (default: enough for about %.0f s per case, at least %d)\n"
               "  --threads N      threads for Ember's loops, Eigen and OpenBLAS (default: EMBER_NUM_THREADS or all "
               "cores)\n"
               "  --json           one JSON object per case and line instead of a table\n"
               "  --list           print the case names and exit\n"
               "  --help           this text\n"
               "GEMM cases run once per route (gemm_f32_<N>_<route>); EMBER_GEMM picks the default route.\n",
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
    else if (arg == "--repeat")
      options.repeats = parse_positive(arg, value());
    else if (arg == "--threads")
      options.threads = parse_positive(arg, value());
    else if (arg == "--json")
      options.json = true;
    else if (arg == "--list")
      options.list = true;
    else
      usage_error("unknown option '" + arg + "'");
  }
  return options;
}

// ---- main ----------------------------------------------------------------------------------------
int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (options.threads > 0) set_num_threads(options.threads);
  std::vector<Case> selected;
  for (Case& c : all_cases())
    if (c.name.find(options.filter) != std::string::npos) selected.push_back(std::move(c));
  if (selected.empty()) usage_error("no case name contains '" + options.filter + "'");
  if (options.list) {
    for (const Case& c : selected) std::printf("%s\n", c.name.c_str());
    return 0;
  }
  if (!options.json) {
    std::printf("ember_bench: %d threads, default GEMM route %s\n", num_threads(), gemm_backend_name(gemm_backend()));
    bench::print_table_header();
  }
  for (const Case& c : selected) {
    bench::Result result = bench::run_case(c, options.repeats);
    if (options.json)
      bench::print_json_line(c, result, num_threads());
    else
      bench::print_table_row(c, result);
  }
  return 0;
}
