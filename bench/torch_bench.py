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

The GFLOP/s rows also get "% of FMA peak": each side's GFLOP/s over Ember's fma_peak case (the
measured FMA throughput of N threads, from its fastest repeat; run separately when --filter left
it out). The convolution
and ResNet34 FLOP counts of Ember (the "work" of its JSON lines) are checked against a count made
here with forward hooks on PyTorch's modules. --memory adds a row "peak RSS (MiB)": the peak
resident memory of a process that runs only resnet34_train_b8_224 (a few steps), Ember's
(ember_bench --peak-rss) and PyTorch's (this script in a subprocess), both with N threads.

--device cuda compares the GPU cases (cuda_*) instead: PyTorch's twins run on cuda:0 and every
repeat ends with torch.cuda.synchronize(), as Ember's ends with cuda::synchronize(). The table then
has three columns per op: Ember's kernel, the vendor library (cuBLAS for GEMM, cudaMemcpy's copy
bandwidth for the memory-bound ops) and PyTorch; ratios are Ember's throughput over the other's
(> 1: Ember is faster). --ember-json reads Ember's results from a file that `ember_bench --json`
wrote (scripts/gpu-check does that) instead of running the binary. Without a usable PyTorch on the
GPU the table still shows Ember's and the vendor's columns. The convolution, BatchNorm, pooling and
ResNet34 training cases get a second GPU table: Ember's own kernels, Ember on cuDNN, and PyTorch
(plain FP32 on both sides: TF32 is switched off for PyTorch's cuDNN convolutions too).
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
    parser.add_argument("--memory", action="store_true",
                        help=f"add the row 'peak RSS (MiB)': {MEMORY_CASE} alone in a fresh process, each side "
                             "(CPU; runs that slow case twice more)")
    parser.add_argument("--peak-rss-of", metavar="CASE", help=argparse.SUPPRESS)  # the PyTorch child of --memory
    args = parser.parse_args()
    if args.threads is None or args.threads < 1:
        parser.error("--threads must be a positive integer")
    if args.repeat < 0:
        parser.error("--repeat must be a positive integer")
    if args.memory and (args.device != "cpu" or args.ember_json):
        parser.error("--memory runs ember_bench on the CPU: it needs --device cpu and no --ember-json")
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
        # Plain FP32 GEMM and convolutions (no TF32 tensor cores), the same arithmetic as Ember's kernels,
        # cuBLAS's sgemm and cuDNN's FP32 convolutions (PyTorch's cuDNN convolutions default to TF32).
        torch.set_float32_matmul_precision("highest")
        torch.backends.cudnn.allow_tf32 = False
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
    return run_ember_binary(args, args.filter, args.repeat)


def run_ember_binary(args, case_filter, repeat, extra_flags=()):
    """Runs ember_bench --json on args.device with args.threads threads; returns its result lines."""
    if not os.path.isfile(args.ember) or not os.access(args.ember, os.X_OK):
        sys.exit(f"torch_bench.py: no ember_bench binary at '{args.ember}'; build it with\n"
                 "  cmake --build build --target ember_bench\nor pass --ember PATH")
    command = [args.ember, "--json", "--threads", str(args.threads), "--device", args.device, *extra_flags]
    if case_filter:
        command += ["--filter", case_filter]
    if repeat:
        command += ["--repeat", str(repeat)]
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
    cuda_gemm_f32_512_hand -> cuda_gemm_f32_512, cuda_conv3x3_64_8x56_cudnn -> cuda_conv3x3_64_8x56
    (the GPU DNN cases end in their backend: _ember, Ember's own kernels, or _cudnn)."""
    match = (re.fullmatch(r"((?:cuda_)?gemm_f32_\d+)_\w+", ember_case)
             or re.fullmatch(r"(cuda_\w+)_(?:ember|cudnn)", ember_case))
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


# ---- convolutional cases (bench/conv_cases.cpp) -----------------------------------------------
# The same names and work as Ember's: convolutions and ResNet34 in GFLOP/s from 2 x the
# multiply-adds of every Conv2d and Linear (x3 with a backward: dL/dx and dL/dW cost one forward
# each), counted here with forward hooks; BatchNorm, max-pool and ReLU in GB/s of the bytes that
# must move (4 bytes per element read or written, see conv_cases.cpp). A _fwdbwd case runs forward,
# then backward of a fixed dy into x and the layer's parameters, their grads set to None before.
# Every make_* takes the device; on the GPU each repeat ends with torch.cuda.synchronize().

STEM_OUTPUT = (8, 64, 112, 112)  # the shape BatchNorm, max-pool and ReLU run on: ResNet's stem output
STEM_ELEMENTS = 8 * 64 * 112 * 112
MEMORY_CASE = "resnet34_train_b8_224"  # the case whose peak RSS --memory measures


def conv_layer(torch, base):
    """(module, input shape) of a convolution case."""
    if base == "conv3x3_64_8x56":
        return torch.nn.Conv2d(64, 64, 3, padding=1, bias=False), (8, 64, 56, 56)
    if base == "conv7x7s2_8x224":
        return torch.nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), (8, 3, 224, 224)
    raise KeyError(base)


def count_macs(torch, model, input_shape):
    """Multiply-adds of every Conv2d and Linear in one forward of `model` (on the CPU, eval mode, no
    grad), from forward hooks: a conv's output element sums in/groups * kh * kw products, a Linear's
    in_features. Counted on one sample and scaled by the batch (the count is linear in it)."""
    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        total += output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]

    def linear_hook(module, inputs, output):
        nonlocal total
        total += output.numel() * module.in_features

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    handles += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape[1:]))
    model.train(was_training)
    for handle in handles:
        handle.remove()
    return total * input_shape[0]


_FLOPS = {}  # case name (without cuda_ and backend) -> FLOPs of one repeat


def case_flops(torch, name):
    """FLOPs of one repeat of a convolution or ResNet34 case, from count_macs; None for other cases."""
    name = re.sub(r"^cuda_", "", torch_name(name))
    if name in _FLOPS:
        return _FLOPS[name]
    conv = re.fullmatch(r"(conv\w+?)(_fwdbwd)?", name)
    resnet = re.fullmatch(r"resnet34_(fwd|train)_b(\d+)_(\d+)", name)
    if conv and conv.group(1) in ("conv3x3_64_8x56", "conv7x7s2_8x224"):
        layer, shape = conv_layer(torch, conv.group(1))
        flops = 2 * count_macs(torch, layer, shape) * (3 if conv.group(2) else 1)
    elif resnet:
        try:
            import torchvision
        except ImportError:  # no torchvision: no ResNet twin and nothing to check against
            return None
        batch, size = int(resnet.group(2)), int(resnet.group(3))
        macs = count_macs(torch, torchvision.models.resnet34(), (batch, 3, size, size))
        flops = 2 * macs * (3 if resnet.group(1) == "train" else 1)
    else:
        return None
    _FLOPS[name] = flops
    return flops


def synchronizer(torch, device):
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def layer_repeat(torch, layer, input_shape, with_backward, device):
    """One repeat of a layer case: forward under no_grad, or forward + backward of dy."""
    layer = layer.to(device)
    x = torch.randn(*input_shape, device=device)
    sync = synchronizer(torch, device)
    if not with_backward:
        def forward():
            with torch.no_grad():
                layer(x)
            sync()

        return forward
    x.requires_grad_()
    with torch.no_grad():
        dy = torch.randn_like(layer(x))

    def forward_backward():
        x.grad = None
        layer.zero_grad(set_to_none=True)
        layer(x).backward(dy)
        sync()

    return forward_backward


def make_conv(torch, base, with_backward, device="cpu"):
    layer, shape = conv_layer(torch, base)
    name = base + ("_fwdbwd" if with_backward else "")
    return layer_repeat(torch, layer, shape, with_backward, device), lambda s: [(case_flops(torch, name) / s / 1e9,
                                                                                  "GFLOP/s")]


def make_memory_bound_layer(torch, layer, bytes_moved, with_backward, device="cpu"):
    return layer_repeat(torch, layer, STEM_OUTPUT, with_backward, device), lambda s: [(bytes_moved / s / 1e9, "GB/s")]


def make_bn(torch, with_backward, device="cpu"):
    """BatchNorm2d(64) in training mode: 8 bytes per element forward, 20 with the backward."""
    return make_memory_bound_layer(torch, torch.nn.BatchNorm2d(64), (20 if with_backward else 8) * STEM_ELEMENTS,
                                   with_backward, device)


def make_maxpool(torch, with_backward, device="cpu"):
    """MaxPool2d(3, 2, 1): read x, write y (a quarter of x's size); the backward as much again."""
    bytes_moved = 4 * (STEM_ELEMENTS + STEM_ELEMENTS // 4) * (2 if with_backward else 1)
    return make_memory_bound_layer(torch, torch.nn.MaxPool2d(3, 2, 1), bytes_moved, with_backward, device)


def make_relu(torch, device="cpu"):
    return make_memory_bound_layer(torch, torch.nn.ReLU(), 8 * STEM_ELEMENTS, False, device)


def make_resnet34(torch, train, batch, size, device="cpu"):
    """torchvision's resnet34: eval-mode forward under no_grad, or one training step (train mode,
    CrossEntropyLoss, backward, SGD(lr 0.01, momentum 0.9).step(), zero_grad(set_to_none=True), as
    Ember's zero_grad and PyTorch 2's default do)."""
    import torchvision
    name = f"resnet34_{'train' if train else 'fwd'}_b{batch}_{size}"
    model = torchvision.models.resnet34().to(device)
    x = torch.randn(batch, 3, size, size, device=device)
    sync = synchronizer(torch, device)
    if train:
        model.train()
        labels = torch.randint(0, 1000, (batch,), device=device)
        loss_fn = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def repeat():
            loss = loss_fn(model(x), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync()
    else:
        model.eval()

        def repeat():
            with torch.no_grad():
                model(x)
            sync()

    return repeat, lambda s: [(case_flops(torch, name) / s / 1e9, "GFLOP/s")]  # (counted after the timing)


def conv_cases(torch, device):
    """The PyTorch twins of conv_cases.cpp's cases on `device` (names without the cuda_ prefix)."""
    cases = {}
    for fwdbwd, suffix in ((False, ""), (True, "_fwdbwd")):
        for base in ("conv3x3_64_8x56", "conv7x7s2_8x224"):
            cases[base + suffix] = lambda base=base, b=fwdbwd: make_conv(torch, base, b, device)
        cases["bn2d_8x64x112" + suffix] = lambda b=fwdbwd: make_bn(torch, b, device)
        cases["maxpool3x3s2_8x64x112" + suffix] = lambda b=fwdbwd: make_maxpool(torch, b, device)
    if device == "cuda":
        for batch in (8, 64):
            cases[f"resnet34_train_b{batch}_224"] = lambda batch=batch: make_resnet34(torch, True, batch, 224, device)
        return cases
    cases["relu_8x64x112"] = lambda: make_relu(torch, device)
    for size in (128, 224):
        cases[f"resnet34_fwd_b8_{size}"] = lambda size=size: make_resnet34(torch, False, 8, size, device)
        cases[f"resnet34_train_b8_{size}"] = lambda size=size: make_resnet34(torch, True, 8, size, device)
    return cases


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
        cases.update({"cuda_" + name: make for name, make in conv_cases(torch, "cuda").items()})
        return cases  # (cuda_memcpy_f32_256M is the vendor's yardstick: no PyTorch twin)
    cases = {f"gemm_f32_{n}": (lambda n=n: make_gemm(torch, n)) for n in (256, 512, 1024, 2048)}
    cases["add_f32_16M"] = lambda: make_add(torch)
    cases["sum_f32_16M"] = lambda: make_sum(torch)
    cases["tiny_add_nograd"] = lambda: make_tiny_add(torch, False)
    cases["tiny_add_autograd"] = lambda: make_tiny_add(torch, True)
    cases["tiny_train_step"] = lambda: make_train_step(torch)
    cases["ex2_sgd_step"] = lambda: make_ex2_step(torch)
    cases["ex3_adam_step"] = lambda: make_ex3_step(torch)
    cases.update(conv_cases(torch, "cpu"))  # (fma_peak is Ember's yardstick: no PyTorch twin)
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


def percent_of_peak(result, peak):
    """'41' (this result's GFLOP/s as a percentage of the FMA peak), '-' when not a GFLOP/s result."""
    if result is None or peak is None:
        return "-"
    value, unit = result["metrics"][0] if "metrics" in result else (result["metric"], result["unit"])
    return f"{100 * value / peak:.0f}" if unit == "GFLOP/s" else "-"


def print_table(ember_results, torch_results, threads, fma_peak=None, memory=None):
    """The CPU table. fma_peak: Ember's fma_peak result (the denominator of '% of FMA peak'), or None;
    memory: {'case', 'ember_mib', 'torch_mib'} from measure_peak_rss, or None."""
    peak = None
    if fma_peak and "error" not in fma_peak:  # a peak: from the fastest repeat (a busy neighbour only slows it)
        peak = fma_peak["work"] / fma_peak["min_s"] / 1e9 if "work" in fma_peak else fma_peak["metric"]
    header = ["case", "Ember median", "PyTorch median", "ratio", "Ember metric", "PyTorch metric"]
    if peak:
        header.append("% of FMA peak (Ember / PyTorch)")
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
            row = [name, format_time(e["median_s"]), "-", "-", ember_metrics(e), "-"]
        else:
            torch_metrics = ", ".join(f"{value:.2f} {unit}" for value, unit in t["metrics"])
            ratio = f"{t['median_s'] / e['median_s']:.2f}"
            row = [name, format_time(e["median_s"]), format_time(t["median_s"]), ratio, ember_metrics(e),
                   torch_metrics]
        if peak:
            mine, theirs = percent_of_peak(e, peak), percent_of_peak(t, peak)
            row.append("-" if mine == "-" else f"{mine} / {theirs}")
        rows.append(row)
    if memory:
        ember_mib, torch_mib = memory.get("ember_mib"), memory.get("torch_mib")
        ratio = f"{torch_mib / ember_mib:.2f}" if ember_mib and torch_mib else "-"
        rows.append([f"peak RSS (MiB), {memory['case']} alone", f"{ember_mib:.0f} MiB" if ember_mib else "failed",
                     f"{torch_mib:.0f} MiB" if torch_mib else "failed", ratio, "-", "-"] + (["-"] if peak else []))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    print(f"\nEmber vs PyTorch, {threads} threads (ratio = PyTorch time / Ember time; > 1: Ember is faster)")
    if peak:
        print(f"% of FMA peak: GFLOP/s at the median over Ember's fma_peak at its fastest repeat, {peak:.1f} GFLOP/s "
              f"on {threads} threads")
    if memory:
        print("peak RSS: ratio = PyTorch's / Ember's (> 1: Ember needs less); PyTorch's includes its import")
    left = (0, 4, 5)
    for row in [header, ["-" * w for w in widths]] + rows:
        cells = (cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        print(" | ".join(cells).rstrip())


def check_flop_counts(torch, ember_results):
    """Compares the FLOPs per repeat that Ember counts (its JSON "work") for the convolution and
    ResNet34 cases with the count made here from forward hooks on PyTorch's modules; prints one line
    per mismatch and a summary. Returns the number of mismatches."""
    checked, mismatches = 0, 0
    for e in ember_results:
        if "error" in e or "work" not in e:
            continue
        expected = case_flops(torch, e["case"])
        if expected is None:
            continue
        checked += 1
        if e["work"] != expected:
            mismatches += 1
            print(f"FLOP count MISMATCH for {e['case']}: Ember counts {e['work']:.0f}, "
                  f"PyTorch's forward hooks {expected:.0f}", file=sys.stderr)
    if checked:
        verdict = "all equal" if mismatches == 0 else f"{mismatches} differ (see above)"
        print(f"FLOP counts of the {checked} convolution/ResNet34 case(s), Ember's vs forward hooks on PyTorch's "
              f"modules: {verdict}", flush=True)
    return mismatches


# ---- peak memory (--memory) -------------------------------------------------------------------


def peak_rss_mib():
    """This process's peak resident memory so far, in MiB: VmHWM from /proc/self/status (Linux
    carries ru_maxrss over exec from the forking parent, which would report this script's parent's
    size); ru_maxrss (KiB) where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_peak_rss_child(torch, args):
    """--peak-rss-of CASE: this process runs only that PyTorch case (warm-up, then --repeat repeats,
    as ember_bench does) and prints its peak RSS as one JSON line (read before the FLOP count's
    extra model is built)."""
    repeat, *_ = torch_cases(torch, "cpu")[args.peak_rss_of]()
    warm_up(repeat)
    times = sorted(seconds_of(repeat) for _ in range(args.repeat or MIN_REPEATS))
    print(json.dumps({"case": args.peak_rss_of, "median_s": statistics.median(times), "peak_rss_mib": peak_rss_mib()}))


def measure_peak_rss(args):
    """Ember's and PyTorch's peak RSS for MEMORY_CASE, each a fresh process that runs only that
    case (warm-up and 2 timed steps) with args.threads threads."""
    ember = [e for e in run_ember_binary(args, MEMORY_CASE, 2, ["--peak-rss"]) if e["case"] == MEMORY_CASE]
    command = [sys.executable, os.path.abspath(__file__), "--threads", str(args.threads), "--repeat", "2",
               "--peak-rss-of", MEMORY_CASE]
    print("running:", " ".join(command), file=sys.stderr, flush=True)
    child = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    torch_lines = read_ember_lines(child.stdout) if child.returncode == 0 else []
    if child.returncode != 0:
        print(f"torch_bench.py: warning: the PyTorch memory run failed (exit code {child.returncode})",
              file=sys.stderr)
    return {"case": MEMORY_CASE,
            "ember_mib": ember[0].get("peak_rss_mib") if ember else None,
            "torch_mib": torch_lines[0]["peak_rss_mib"] if torch_lines else None}


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


# The DNN ops on the GPU, each run by Ember twice: on its own CUDA kernels (cases ending _ember) and on
# cuDNN (_cudnn), against PyTorch (which calls cuDNN). Targets: Ember on cuDNN within 10% of PyTorch
# (the overhead around the library calls), Ember's own kernels within 2x of PyTorch.
DNN_OPS = ["conv3x3_64_8x56", "conv3x3_64_8x56_fwdbwd", "conv7x7s2_8x224", "conv7x7s2_8x224_fwdbwd",
           "bn2d_8x64x112", "bn2d_8x64x112_fwdbwd", "maxpool3x3s2_8x64x112", "maxpool3x3s2_8x64x112_fwdbwd",
           "resnet34_train_b8_224", "resnet34_train_b64_224"]
CUDNN_TARGET = 0.9  # Ember on cuDNN: at least 0.9 of PyTorch's throughput
KERNELS_TARGET = 0.5  # Ember's own kernels: at least half of PyTorch's throughput


def dnn_rows(ember, torch_results):
    """Rows of the DNN table: op, Ember kernels, Ember + cuDNN, PyTorch, kernels/PyTorch, cuDNN/PyTorch, targets."""
    e = {r["case"]: r for r in ember}
    rows = []
    for op in DNN_OPS:
        kernels, cudnn = e.get(f"cuda_{op}_ember"), e.get(f"cuda_{op}_cudnn")
        if kernels is None and cudnn is None:
            continue
        torch_op = torch_results.get(f"cuda_{op}")
        goals = []
        if rate(cudnn) and rate(torch_op):
            met = rate(cudnn) >= CUDNN_TARGET * rate(torch_op)
            goals.append(target(met, f"cuDNN >= {CUDNN_TARGET:.2f} of PyTorch"))
        if rate(kernels) and rate(torch_op):
            met = rate(kernels) >= KERNELS_TARGET * rate(torch_op)
            goals.append(target(met, f"kernels >= {KERNELS_TARGET:.2f} of PyTorch"))
        rows.append([op, gpu_cell(kernels), gpu_cell(cudnn), gpu_cell(torch_op), ratio(kernels, torch_op),
                     ratio(cudnn, torch_op), "; ".join(goals) or "-"])
    return rows


def print_rows(header, rows, right_aligned):
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths]] + rows:
        cells = (cell.rjust(w) if i in right_aligned else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        print(" | ".join(cells).rstrip())


def print_gpu_table(ember_results, torch_results, title):
    header = ["op", "Ember", "vendor", "PyTorch", "Ember/vendor", "Ember/PyTorch", "target"]
    rows = gpu_rows(ember_results, torch_results)
    failed = [r["case"] for r in ember_results if "error" in r]
    print(f"\n{title}")
    print("ratios: Ember's throughput / the other's (> 1: Ember is faster); times are medians; "
          "GEMM in plain FP32 (no TF32)")
    if rows:
        print_rows(header, rows, (4, 5))
    rows = dnn_rows(ember_results, torch_results)
    if rows:
        print("\nDNN ops: Ember's own kernels and Ember on cuDNN (cuda::set_dnn_backend) vs PyTorch; "
              "plain FP32 on all three (no TF32); GFLOP/s from 2 x conv/linear MACs (x3 with backward)")
        print_rows(["op", "Ember kernels", "Ember + cuDNN", "PyTorch", "kernels/PyTorch", "cuDNN/PyTorch", "targets"],
                   rows, (4, 5))
    if failed:
        print("failed Ember cases: " + ", ".join(failed))


def main():
    args = parse_args()
    torch = import_torch(args.threads, args.device)  # first: it checks torch and sets the environment
    if args.peak_rss_of:
        run_peak_rss_child(torch, args)
        return
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
        fma_peak = next((e for e in ember_results if e["case"] == "fma_peak"), None)
        gflop_cases = any(e.get("unit") == "GFLOP/s" for e in ember_results)
        if fma_peak is None and gflop_cases and not args.ember_json:  # --filter left it out: the yardstick
            fma_peak = next((e for e in run_ember_binary(args, "fma_peak", 0) if e["case"] == "fma_peak"), None)
        memory = measure_peak_rss(args) if args.memory else None
        print(f"{versions}, {torch.get_num_threads()} threads", file=sys.stderr)
        print_table(ember_results, {k: v for k, v in torch_results.items() if "error" not in v}, args.threads,
                    fma_peak, memory)
    if torch:
        check_flop_counts(torch, ember_results)
    if args.save:
        with open(args.save, "w") as out:
            json.dump({"device": args.device, "threads": args.threads, "torch_version": versions,
                       "ember": ember_results, "torch": torch_results}, out, indent=1)


if __name__ == "__main__":
    main()
