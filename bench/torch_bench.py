#!/usr/bin/python3
"""Ember vs PyTorch: runs bench/bench.cpp's cases in PyTorch and prints one comparison table.

    /usr/bin/python3 bench/torch_bench.py [--threads N] [--filter SUBSTR] [--repeat N]
                                          [--ember build/bench/ember_bench] [--save results.json]

Both sides use N threads (default os.cpu_count()): OMP/OpenBLAS/MKL_NUM_THREADS are set before
torch is imported, torch.set_num_threads(N) is called, and Ember gets `--threads N`. Ember runs
first, as a subprocess with `--json`; then the PyTorch twins of the cases it ran. The timing
policy is the harness's (bench/harness.h): untimed warm-up repeats for at least 0.2 s, then R
timed repeats (--repeat, or enough for about 1 s, at least 3), median/min/max over them.

ratio = PyTorch median / Ember median, so ratio > 1 means Ember is faster. Ember's GEMM cases are
named gemm_f32_<N>_<route>; every route is compared against the same PyTorch gemm_f32_<N> row.
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


def parse_args():
    parser = argparse.ArgumentParser(description="Compare ember_bench with the same cases in PyTorch.")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both (default: all cores)")
    parser.add_argument("--filter", default="", help="run only the cases whose name contains SUBSTR")
    parser.add_argument("--repeat", type=int, default=0, help="timed repeats per case (default: about 1 s per case)")
    parser.add_argument("--ember", default="build/bench/ember_bench", help="path of the ember_bench binary")
    parser.add_argument("--save", metavar="PATH", help="also write both sides' results to PATH as JSON")
    args = parser.parse_args()
    if args.threads is None or args.threads < 1:
        parser.error("--threads must be a positive integer")
    if args.repeat < 0:
        parser.error("--repeat must be a positive integer")
    return args


def import_torch(threads):
    """Sets the thread environment, then imports torch (the variables are read at import time)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    try:
        import torch
    except ImportError as error:
        sys.exit(f"torch_bench.py: cannot import torch ({error}); on Debian run it with /usr/bin/python3 "
                 "(python3-torch), or install PyTorch for this interpreter")
    torch.set_num_threads(threads)
    return torch


# ---- Ember ------------------------------------------------------------------------------------


def run_ember(args):
    """Runs ember_bench --json and returns its result lines as dicts, in its order."""
    if not os.path.isfile(args.ember) or not os.access(args.ember, os.X_OK):
        sys.exit(f"torch_bench.py: no ember_bench binary at '{args.ember}'; build it with\n"
                 "  cmake --build build --target ember_bench\nor pass --ember PATH")
    command = [args.ember, "--json", "--threads", str(args.threads)]
    if args.filter:
        command += ["--filter", args.filter]
    if args.repeat:
        command += ["--repeat", str(args.repeat)]
    print("running:", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"torch_bench.py: ember_bench failed with exit code {done.returncode}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def torch_name(ember_case):
    """The PyTorch case an Ember case is compared with: gemm_f32_512_blas -> gemm_f32_512."""
    match = re.fullmatch(r"(gemm_f32_\d+)_\w+", ember_case)
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


def torch_cases(torch):
    """name -> make(), for every PyTorch twin of an Ember case."""
    cases = {f"gemm_f32_{n}": (lambda n=n: make_gemm(torch, n)) for n in (256, 512, 1024, 2048)}
    cases["add_f32_16M"] = lambda: make_add(torch)
    cases["sum_f32_16M"] = lambda: make_sum(torch)
    cases["tiny_add_nograd"] = lambda: make_tiny_add(torch, False)
    cases["tiny_add_autograd"] = lambda: make_tiny_add(torch, True)
    cases["tiny_train_step"] = lambda: make_train_step(torch)
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
    """The harness's policy: warm-up, then R timed repeats; returns median, min, max and the metrics."""
    repeat, metrics = make()
    one_repeat = warm_up(repeat)
    if repeats <= 0:
        repeats = int(min(max(math.ceil(TARGET_SECONDS / max(one_repeat, 1e-9)), MIN_REPEATS), MAX_REPEATS))
    times = [seconds_of(repeat) for _ in range(repeats)]
    median = statistics.median(times)
    return {"median_s": median, "min_s": min(times), "max_s": max(times), "metrics": metrics(median)}


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


def main():
    args = parse_args()
    torch = import_torch(args.threads)  # first: it checks torch is there and sets the environment
    ember_results = run_ember(args)
    cases = torch_cases(torch)
    wanted = []  # PyTorch cases to run: twins of Ember's, in Ember's order, each once
    for e in ember_results:
        name = torch_name(e["case"])
        if name in cases and name not in wanted:
            wanted.append(name)
    torch_results = {}
    for name in wanted:
        print(f"torch: {name}", file=sys.stderr, flush=True)
        torch_results[name] = run_torch_case(cases[name], args.repeat)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    print_table(ember_results, torch_results, args.threads)
    if args.save:
        with open(args.save, "w") as out:
            json.dump({"threads": args.threads, "ember": ember_results, "torch": torch_results}, out, indent=1)


if __name__ == "__main__":
    main()
