#!/usr/bin/python3
"""Ember vs PyTorch: runs bench/bench.cpp's cases in PyTorch and prints one comparison table.

    /usr/bin/python3 bench/torch_bench.py [--device cpu|cuda] [--threads N] [--filter SUBSTR] [--repeat N]
                                          [--ember build/bench/ember_bench | --ember-json FILE]
                                          [--save results.json]

Both sides use N threads (default os.cpu_count()): OMP/OpenBLAS/MKL_NUM_THREADS are set before
torch is imported, torch.set_num_threads(N) is called, and Ember gets `--threads N`. Ember runs
first, as a subprocess with `--json`; then the PyTorch twins of the cases it ran. The timing
policy is the harness's (bench/harness.h): untimed warm-up repeats for at least 0.2 s, then R
timed repeats (--repeat, or enough for about 1 s, at least 3), median/min/max over them.

ratio = PyTorch median / Ember median, so ratio > 1 means Ember is faster. Ember's GEMM cases are
named gemm_f32_<N>_<route>; every route is compared against the same PyTorch gemm_f32_<N> row.

--device cuda compares the GPU cases (cuda_*) instead: PyTorch's twins run on cuda:0 and every
repeat ends with torch.cuda.synchronize(), as Ember's ends with cuda::synchronize(). The table then
has three columns per op: Ember's kernel, the vendor library (cuBLAS for GEMM, cudaMemcpy's copy
bandwidth for the memory-bound ops) and PyTorch; ratios are Ember's throughput over the other's
(> 1: Ember is faster). --ember-json reads Ember's results from a file that `ember_bench --json`
wrote (scripts/gpu-check does that) instead of running the binary. Without a usable PyTorch on the
GPU the table still shows Ember's and the vendor's columns.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

WARMUP_SECONDS = 0.2  # the same policy as bench/harness.h
TARGET_SECONDS = 1.0
MIN_REPEATS = 3
MAX_REPEATS = 5000

BIG = 16 * 1024 * 1024  # elements of the memory-bound cases
TINY_OPS = 100000  # tiny ops per timed repeat
TRAIN_STEPS = 10000  # training steps per timed repeat
OPS_PER_TRAIN_STEP = 8  # mul, sub, square, sum, backward(), mul, sub_, zero_ (as in bench.cpp)

# The GPU cases, as in bench.cpp's "GPU cases"
GPU_GEMM_SIZES = (512, 1024, 2048, 4096, 8192)
GPU_COPY = 256 * 1024 * 1024  # elements of the copy cases (1 GiB of float32)
GPU_BIG = 64 * 1024 * 1024  # elements of the add and sum cases
GPU_TINY_OPS = 1000  # tiny adds per repeat, one synchronize at the end
GPU_TRAIN_STEPS = 100  # training steps per repeat of cuda_alloc_steady


def parse_args():
    parser = argparse.ArgumentParser(description="Compare ember_bench with the same cases in PyTorch.")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: the CPU cases (default); cuda: the GPU cases (cuda_*) on cuda:0")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    parser.add_argument("--filter", default="", help="run only the cases whose name contains SUBSTR")
    parser.add_argument("--repeat", type=int, default=0, help="timed repeats per case (default: about 1 s per case)")
    parser.add_argument("--ember", default="build/bench/ember_bench", help="path of the ember_bench binary")
    parser.add_argument("--ember-json", metavar="FILE",
                        help="read Ember's results from FILE (ember_bench --json output) instead of running it")
    parser.add_argument("--save", metavar="PATH", help="also write both sides' results to PATH as JSON")
    args = parser.parse_args()
    if args.threads is None or args.threads < 1:
        parser.error("--threads must be a positive integer")
    if args.repeat < 0:
        parser.error("--repeat must be a positive integer")
    return args


def import_torch(threads, device):
    """Sets the thread environment, then imports torch (the variables are read at import time).

    On the GPU a missing torch, or one without CUDA, is only a warning: returns None, and the table
    shows Ember and the vendor library alone."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    try:
        import torch
    except ImportError as error:
        if device == "cuda":
            print(f"torch_bench.py: warning: cannot import torch ({error}); no PyTorch column", file=sys.stderr)
            return None
        sys.exit(f"torch_bench.py: cannot import torch ({error}); on Debian run it with /usr/bin/python3 "
                 "(python3-torch), or install PyTorch for this interpreter")
    torch.set_num_threads(threads)
    if device == "cuda":
        if not torch.cuda.is_available():
            print(f"torch_bench.py: warning: torch {torch.__version__} sees no CUDA GPU; no PyTorch column",
                  file=sys.stderr)
            return None
        # Plain FP32 GEMM (no TF32 tensor cores), the same arithmetic as Ember's SGEMM and cuBLAS's sgemm.
        torch.set_float32_matmul_precision("highest")
    return torch


# ---- Ember ------------------------------------------------------------------------------------


def read_ember_lines(text):
    """ember_bench --json output -> a list of dicts; a failed case is a line with an "error"."""
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def run_ember(args):
    """Runs ember_bench --json (or reads --ember-json) and returns its result lines as dicts, in its order."""
    if args.ember_json:
        with open(args.ember_json) as lines:
            return read_ember_lines(lines.read())
    if not os.path.isfile(args.ember) or not os.access(args.ember, os.X_OK):
        sys.exit(f"torch_bench.py: no ember_bench binary at '{args.ember}'; build it with\n"
                 "  cmake --build build --target ember_bench\nor pass --ember PATH")
    command = [args.ember, "--json", "--threads", str(args.threads), "--device", args.device]
    if args.filter:
        command += ["--filter", args.filter]
    if args.repeat:
        command += ["--repeat", str(args.repeat)]
    print("running:", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    results = read_ember_lines(done.stdout)
    if done.returncode != 0:  # 1: some cases failed (they are lines with an "error"), the rest ran
        if done.returncode != 1 or not results:
            sys.exit(f"torch_bench.py: ember_bench failed with exit code {done.returncode}")
        print("torch_bench.py: warning: some Ember cases failed (see above)", file=sys.stderr)
    return results


def torch_name(ember_case):
    """The PyTorch case an Ember case is compared with: gemm_f32_512_blas -> gemm_f32_512,
    cuda_gemm_f32_512_hand -> cuda_gemm_f32_512."""
    match = re.fullmatch(r"((?:cuda_)?gemm_f32_\d+)_\w+", ember_case)
    return match.group(1) if match else ember_case


# ---- PyTorch cases ----------------------------------------------------------------------------
# Each make_* allocates the inputs and returns (repeat, metrics): repeat() is the timed unit of
# work and metrics turns its time in seconds into [(value, unit), ...], as bench.cpp does.


def make_gemm(torch, n):
    a, b = torch.randn(n, n), torch.randn(n, n)

    def repeat():
        torch.matmul(a, b)

    return repeat, lambda s: [(2.0 * n**3 / s / 1e9, "GFLOP/s")]


def make_add(torch):
    a, b = torch.randn(BIG), torch.randn(BIG)

    def repeat():
        a + b

    return repeat, lambda s: [(3 * 4 * BIG / s / 1e9, "GB/s")]


def make_sum(torch):
    a = torch.randn(BIG)

    def repeat():
        torch.sum(a)

    return repeat, lambda s: [(4 * BIG / s / 1e9, "GB/s")]


def make_tiny_add(torch, a_requires_grad):
    a, b = torch.ones(1, requires_grad=a_requires_grad), torch.ones(1)

    def repeat():
        for _ in range(TINY_OPS):
            a + b

    return repeat, lambda s: [(s * 1e9 / TINY_OPS, "ns/op")]


def make_train_step(torch):
    w = torch.full((1, 1), 0.5, requires_grad=True)
    x, y = torch.full((1, 1), 2.0), torch.full((1, 1), 3.0)

    def repeat():
        for _ in range(TRAIN_STEPS):
            loss = torch.sum(torch.square(w * x - y))
            loss.backward()
            with torch.no_grad():
                w.sub_(w.grad * 0.1)  # w -= 0.1 * grad, in place (mul, sub_)
                w.grad.zero_()

    return repeat, lambda s: [(s * 1e9 / TRAIN_STEPS, "ns/step"),
                              (s * 1e9 / (TRAIN_STEPS * OPS_PER_TRAIN_STEP), "ns/op")]


EXERCISE_STEPS = 1000  # training iterations per timed repeat (bench/exercise_cases.cpp's kSteps)


def make_ex2_step(torch):
    """Exercise 2, model (1): Linear(1,1) on x (1000,1), mean((yhat-y)**2), SGD lr 0.1."""
    torch.manual_seed(43052)
    x = torch.rand([1000, 1]) * 2 - 1
    y = 3.14 + 6.28 * x + torch.randn([1000, 1])
    net = torch.nn.Linear(1, 1)
    optimizr = torch.optim.SGD(net.parameters(), lr=0.1)

    def repeat():
        for _ in range(EXERCISE_STEPS):
            yhat = net(x)
            loss = torch.mean((yhat - y) ** 2)
            loss.backward()
            optimizr.step()
            optimizr.zero_grad()

    return repeat, lambda s: [(s * 1e9 / EXERCISE_STEPS, "ns/step")]


def make_ex3_step(torch):
    """Exercise 3's autoencoder: X (150,4) -> Linear(4,2,bias=False) -> Linear(2,4,bias=False), MSE, Adam."""
    torch.manual_seed(43052)
    X = torch.rand([150, 4]) + 1
    net = torch.nn.Sequential(torch.nn.Linear(4, 2, bias=False), torch.nn.Linear(2, 4, bias=False))
    optimizr = torch.optim.Adam(net.parameters())
    loss_fn = torch.nn.MSELoss()

    def repeat():
        for _ in range(EXERCISE_STEPS):
            Z = net[0](X)
            Xhat = net[1](Z)
            loss = loss_fn(Xhat, X)
            loss.backward()
            optimizr.step()
            optimizr.zero_grad()

    return repeat, lambda s: [(s * 1e9 / EXERCISE_STEPS, "ns/step")]


# ---- PyTorch cases on the GPU -----------------------------------------------------------------
# Every repeat ends with torch.cuda.synchronize(), so its time covers the GPU's work. A make_* may
# return a third function, counters(): cumulative counts read before and after the timed repeats.


def make_cuda_gemm(torch, n):
    a, b = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")

    def repeat():
        torch.mm(a, b)
        torch.cuda.synchronize()

    return repeat, lambda s: [(2.0 * n**3 / s / 1e9, "GFLOP/s")]


def make_cuda_copy(torch):
    src, dst = torch.randn(GPU_COPY, device="cuda"), torch.empty(GPU_COPY, device="cuda")

    def repeat():
        dst.copy_(src)
        torch.cuda.synchronize()

    return repeat, lambda s: [(2 * 4 * GPU_COPY / s / 1e9, "GB/s")]


def make_cuda_add(torch):
    a, b = torch.randn(GPU_BIG, device="cuda"), torch.randn(GPU_BIG, device="cuda")

    def repeat():
        a + b
        torch.cuda.synchronize()

    return repeat, lambda s: [(3 * 4 * GPU_BIG / s / 1e9, "GB/s")]


def make_cuda_sum(torch):
    a = torch.randn(GPU_BIG, device="cuda")

    def repeat():
        torch.sum(a)
        torch.cuda.synchronize()

    return repeat, lambda s: [(4 * GPU_BIG / s / 1e9, "GB/s")]


def make_cuda_tiny_add(torch):
    a, b = torch.ones(1, device="cuda"), torch.ones(1, device="cuda")

    def repeat():
        for _ in range(GPU_TINY_OPS):
            a + b
        torch.cuda.synchronize()

    return repeat, lambda s: [(s * 1e9 / GPU_TINY_OPS, "ns/op")]


def make_cuda_alloc_steady(torch):
    """bench.cpp's cuda_alloc_steady; PyTorch's caching allocator counts its cudaMalloc calls as
    segment.all.allocated."""
    w = torch.randn(256, 256, device="cuda", requires_grad=True)
    x, y = torch.randn(64, 256, device="cuda"), torch.randn(64, 256, device="cuda")

    def repeat():
        for _ in range(GPU_TRAIN_STEPS):
            loss = torch.sum(torch.square(x @ w - y))
            loss.backward()
            with torch.no_grad():
                w.sub_(w.grad * 0.001)
                w.grad.zero_()
        torch.cuda.synchronize()

    def counters():
        return {"cuda_malloc_calls": torch.cuda.memory_stats().get("segment.all.allocated", 0)}

    return repeat, lambda s: [(s * 1e9 / GPU_TRAIN_STEPS, "ns/step")], counters


def torch_cases(torch, device="cpu"):
    """name -> make(), for every PyTorch twin of an Ember case on `device`."""
    if device == "cuda":
        cases = {f"cuda_gemm_f32_{n}": (lambda n=n: make_cuda_gemm(torch, n)) for n in GPU_GEMM_SIZES}
        cases["cuda_copy_f32_256M"] = lambda: make_cuda_copy(torch)
        cases["cuda_add_f32_64M"] = lambda: make_cuda_add(torch)
        cases["cuda_sum_f32_64M"] = lambda: make_cuda_sum(torch)
        cases["cuda_tiny_add"] = lambda: make_cuda_tiny_add(torch)
        cases["cuda_alloc_steady"] = lambda: make_cuda_alloc_steady(torch)
        return cases  # (cuda_memcpy_f32_256M is the vendor's yardstick: no PyTorch twin)
    cases = {f"gemm_f32_{n}": (lambda n=n: make_gemm(torch, n)) for n in (256, 512, 1024, 2048)}
    cases["add_f32_16M"] = lambda: make_add(torch)
    cases["sum_f32_16M"] = lambda: make_sum(torch)
    cases["tiny_add_nograd"] = lambda: make_tiny_add(torch, False)
    cases["tiny_add_autograd"] = lambda: make_tiny_add(torch, True)
    cases["tiny_train_step"] = lambda: make_train_step(torch)
    cases["ex2_sgd_step"] = lambda: make_ex2_step(torch)
    cases["ex3_adam_step"] = lambda: make_ex3_step(torch)
    return cases


def seconds_of(repeat):
    start = time.perf_counter()
    repeat()
    return time.perf_counter() - start


def warm_up(repeat):
    """Repeats for at least WARMUP_SECONDS; returns the average time of one repeat."""
    total, count = 0.0, 0
    while count == 0 or total < WARMUP_SECONDS:
        total += seconds_of(repeat)
        count += 1
    return total / count


def run_torch_case(make, repeats):
    """The harness's policy: warm-up, then R timed repeats; returns median, min, max and the metrics
    (and, for a case with counters, how much each grew during the timed repeats)."""
    repeat, metrics, *rest = make()
    counters = rest[0] if rest else (lambda: {})
    one_repeat = warm_up(repeat)
    if repeats <= 0:
        repeats = int(min(max(math.ceil(TARGET_SECONDS / max(one_repeat, 1e-9)), MIN_REPEATS), MAX_REPEATS))
    before = counters()
    times = [seconds_of(repeat) for _ in range(repeats)]
    after = counters()
    median = statistics.median(times)
    result = {"median_s": median, "min_s": min(times), "max_s": max(times), "repeats": repeats,
              "metrics": metrics(median)}
    if after:
        result["counters"] = {name: after[name] - before[name] for name in after}
    return result


# ---- the table --------------------------------------------------------------------------------


def format_time(seconds):
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds * 1e6:.1f} us"


def ember_metrics(result):
    text = f"{result['metric']:.2f} {result['unit']}"
    if "extra_metric" in result:
        text += f", {result['extra_metric']:.2f} {result['extra_unit']}"
    return text


def print_table(ember_results, torch_results, threads):
    header = ["case", "Ember median", "PyTorch median", "ratio", "Ember metric", "PyTorch metric"]
    rows = []
    for e in ember_results:
        name = e["case"]
        if "error" in e:
            rows.append([name, "failed", "-", "-", e["error"][:60], "-"])
            continue
        if e.get("route") and e.get("default_route"):
            name += " (default)"
        t = torch_results.get(torch_name(e["case"]))
        if t is None:
            rows.append([name, format_time(e["median_s"]), "-", "-", ember_metrics(e), "-"])
            continue
        torch_metrics = ", ".join(f"{value:.2f} {unit}" for value, unit in t["metrics"])
        ratio = f"{t['median_s'] / e['median_s']:.2f}"
        rows.append([name, format_time(e["median_s"]), format_time(t["median_s"]), ratio, ember_metrics(e),
                     torch_metrics])
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    print(f"\nEmber vs PyTorch, {threads} threads (ratio = PyTorch time / Ember time; > 1: Ember is faster)")
    for row in [header, ["-" * w for w in widths]] + rows:
        cells = (cell.ljust(w) if i in (0, 4, 5) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        print(" | ".join(cells).rstrip())


# ---- the GPU table -----------------------------------------------------------------------------


def gpu_cell(result, label=""):
    """'label 1.234 ms, 45.60 TFLOP/s' for a result of either side: time and rate for a throughput
    (GEMM rates in TFLOP/s), the time per item alone for a per-op or per-step case."""
    if result is None:
        return "-"
    if "error" in result:
        return "failed: " + result["error"][:50]
    if "metrics" in result:  # PyTorch's
        value, unit = result["metrics"][0]
    else:  # Ember's
        value, unit = result["metric"], result["unit"]
    if unit.startswith("ns/"):
        text = f"{value / 1000:.2f} us/{unit[3:]}" if value >= 1000 else f"{value:.0f} {unit}"
    else:
        if unit == "GFLOP/s":
            value, unit = value / 1000, "TFLOP/s"
        text = f"{format_time(result['median_s'])}, {value:.{1 if value >= 100 else 2}f} {unit}"
    return f"{label} {text}" if label else text


def rate(result):
    """Work per second of a result (higher is better), or None when it has none."""
    if result is None or "error" in result:
        return None
    value, unit = result["metrics"][0] if "metrics" in result else (result["metric"], result["unit"])
    return 1 / value if unit.startswith("ns/") else value


def ratio(mine, other):
    """Ember's throughput over the other's, '0.87'; '-' when either is missing."""
    a, b = rate(mine), rate(other)
    return f"{a / b:.2f}" if a and b else "-"


def target(met, text):
    return f"{text}: {'met' if met else 'NOT met'}"


def gpu_rows(ember, torch_results):
    """The rows of the GPU table: op, Ember, vendor, PyTorch, Ember/vendor, Ember/PyTorch, target."""
    e = {r["case"]: r for r in ember}
    t = torch_results
    rows = []
    for n in GPU_GEMM_SIZES:
        hand, cublas = e.get(f"cuda_gemm_f32_{n}_hand"), e.get(f"cuda_gemm_f32_{n}_cublas")
        if hand is None and cublas is None:
            continue
        torch_mm = t.get(f"cuda_gemm_f32_{n}")
        goal = "-"
        if n == 4096 and rate(hand) and rate(cublas):
            goal = target(rate(hand) >= 0.6 * rate(cublas), ">= 0.60 of cuBLAS")
        rows.append([f"gemm f32 {n}", gpu_cell(hand), gpu_cell(cublas, "cuBLAS"), gpu_cell(torch_mm, "torch.mm"),
                     ratio(hand, cublas), ratio(hand, torch_mm), goal])
    memcpy = e.get("cuda_memcpy_f32_256M")
    vendor_copy = gpu_cell(memcpy, "cudaMemcpy")
    vendor_bandwidth = f"cudaMemcpy {rate(memcpy):.1f} GB/s" if rate(memcpy) else "-"
    if "cuda_copy_f32_256M" in e or memcpy:
        copy = e.get("cuda_copy_f32_256M")
        rows.append(["copy f32 256M", gpu_cell(copy), vendor_copy, gpu_cell(t.get("cuda_copy_f32_256M"), "copy_"),
                     ratio(copy, memcpy), ratio(copy, t.get("cuda_copy_f32_256M")), "-"])
    if "cuda_add_f32_64M" in e:
        add = e["cuda_add_f32_64M"]
        goal = target(rate(add) >= 0.8 * rate(memcpy), ">= 0.80 of copy GB/s") if rate(add) and rate(memcpy) else "-"
        rows.append(["add f32 64M", gpu_cell(add), vendor_bandwidth, gpu_cell(t.get("cuda_add_f32_64M"), "a + b"),
                     ratio(add, memcpy), ratio(add, t.get("cuda_add_f32_64M")), goal])
    if "cuda_sum_f32_64M" in e:
        total = e["cuda_sum_f32_64M"]
        rows.append(["sum f32 64M", gpu_cell(total), vendor_bandwidth, gpu_cell(t.get("cuda_sum_f32_64M"), "sum"),
                     ratio(total, memcpy), ratio(total, t.get("cuda_sum_f32_64M")), "-"])
    if "cuda_tiny_add" in e:
        tiny = e["cuda_tiny_add"]
        rows.append(["tiny add (1 element)", gpu_cell(tiny), "-", gpu_cell(t.get("cuda_tiny_add"), "a + b"), "-",
                     ratio(tiny, t.get("cuda_tiny_add")), "-"])
    if "cuda_alloc_steady" in e:
        steady, torch_steady = e["cuda_alloc_steady"], t.get("cuda_alloc_steady")
        mallocs = steady.get("counters", {}).get("cuda_malloc_calls")
        ember_text = gpu_cell(steady) if mallocs is None else f"{gpu_cell(steady)}, {mallocs:.0f} cudaMalloc"
        torch_text = gpu_cell(torch_steady)
        if torch_steady and "counters" in torch_steady:
            torch_text += f", {torch_steady['counters']['cuda_malloc_calls']:.0f} cudaMalloc"
        goal = target(mallocs == 0, "0 cudaMalloc in steady state") if mallocs is not None else "-"
        rows.append(["train loop (allocator)", ember_text, "-", torch_text, "-", ratio(steady, torch_steady), goal])
    return rows


def print_gpu_table(ember_results, torch_results, title):
    header = ["op", "Ember", "vendor", "PyTorch", "Ember/vendor", "Ember/PyTorch", "target"]
    rows = gpu_rows(ember_results, torch_results)
    failed = [r["case"] for r in ember_results if "error" in r]
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    print(f"\n{title}")
    print("ratios: Ember's throughput / the other's (> 1: Ember is faster); times are medians; "
          "GEMM in plain FP32 (no TF32)")
    for row in [header, ["-" * w for w in widths]] + rows:
        cells = (cell.rjust(w) if i in (4, 5) else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        print(" | ".join(cells).rstrip())
    if failed:
        print("failed Ember cases: " + ", ".join(failed))


def main():
    args = parse_args()
    torch = import_torch(args.threads, args.device)  # first: it checks torch and sets the environment
    ember_results = run_ember(args)
    if args.device == "cuda":  # only the GPU cases, also when --ember-json holds more
        ember_results = [e for e in ember_results if e["case"].startswith("cuda_")]
    else:
        ember_results = [e for e in ember_results if not e["case"].startswith("cuda_")]
    cases = torch_cases(torch, args.device) if torch else {}
    wanted = []  # PyTorch cases to run: twins of Ember's, in Ember's order, each once
    for e in ember_results:
        name = torch_name(e["case"])
        if name in cases and name not in wanted:
            wanted.append(name)
    torch_results = {}
    for name in wanted:
        print(f"torch: {name}", file=sys.stderr, flush=True)
        try:
            torch_results[name] = run_torch_case(cases[name], args.repeat)
        except Exception as error:  # e.g. out of memory: report it, keep going
            print(f"torch: {name} failed: {error}", file=sys.stderr)
            torch_results[name] = {"error": str(error)}
    versions = f"torch {torch.__version__}" if torch else "no PyTorch on this device"
    if args.device == "cuda":
        gpu = torch.cuda.get_device_name(0) if torch else "the GPU"
        if torch:
            print(f"{versions}, {gpu}", file=sys.stderr)
        print_gpu_table(ember_results, torch_results, f"Ember vs vendor library vs PyTorch on {gpu} ({versions})")
    else:
        print(f"{versions}, {torch.get_num_threads()} threads", file=sys.stderr)
        print_table(ember_results, {k: v for k, v in torch_results.items() if "error" not in v}, args.threads)
    if args.save:
        with open(args.save, "w") as out:
            json.dump({"device": args.device, "threads": args.threads, "torch_version": versions,
                       "ember": ember_results, "torch": torch_results}, out, indent=1)


if __name__ == "__main__":
    main()
