#!/usr/bin/python3
"""Writes tests/data/golden_ops.safetensors: inputs, outputs and gradients computed by PyTorch.

Run once with Debian's PyTorch (scripts/setup --torch installs it), from the repository root:

    /usr/bin/python3 tests/golden/make_fixtures.py

For every case: inputs "<case>/in<k>", the output "<case>/out", a random upstream gradient
"<case>/gout" and the gradient of every float input "<case>/grad<k>" (from out.backward(gout)).
The metadata holds PyTorch's printed form of some tensors ("print/<name>") and the list of cases,
so the C++ test can check that it knows every case. The safetensors file is written by hand here
(8-byte little-endian header length, JSON header, raw little-endian data) so this script needs
nothing but torch, and the C++ reader is checked against an independent writer.
"""
import os
import sys

import torch

from safetensors_writer import write_safetensors

torch.manual_seed(1234)


def r(*shape):
    return torch.randn(*shape)


def pos(*shape):
    return torch.rand(*shape) + 0.5


def idx(high, *shape):
    return torch.randint(0, high, shape)


# name: (function, inputs). The C++ test (tests/autograd/test_golden.cpp) has one entry per name.
CASES = {
    "add_broadcast": (lambda a, b: a + b, [r(3, 4), r(4)]),
    "sub_broadcast": (lambda a, b: a - b, [r(2, 3, 1), r(3, 4)]),
    "mul_broadcast": (lambda a, b: a * b, [r(3, 1), r(1, 4)]),
    "div": (lambda a, b: a / b, [r(3, 4), pos(3, 4)]),
    "pow_tensor": (lambda a, b: torch.pow(a, b), [pos(3, 4), r(3, 4)]),
    "pow_scalar": (lambda a: torch.pow(a, 2.5), [pos(3, 4)]),
    "scalar_ops": (lambda a: (2.0 - a) * 3.0 / 4.0 + 1.5, [r(5)]),
    "neg": (lambda a: -a, [r(3, 4)]),
    "exp": (torch.exp, [r(3, 4)]),
    "log": (torch.log, [pos(3, 4)]),
    "sqrt": (torch.sqrt, [pos(3, 4)]),
    "abs": (torch.abs, [r(3, 4)]),
    "square": (torch.square, [r(3, 4)]),
    "clamp": (lambda a: torch.clamp(a, -0.5, 0.5), [r(4, 5)]),
    "relu": (torch.relu, [r(4, 5)]),
    "sigmoid": (torch.sigmoid, [r(4, 5) * 4]),
    "tanh": (torch.tanh, [r(4, 5) * 2]),
    "where": (lambda a, b: torch.where(a > b, a, b * 2), [r(3, 4), r(4)]),
    "sum_all": (lambda a: a.sum(), [r(3, 4)]),
    "sum_dims": (lambda a: a.sum(dim=(0, 2)), [r(2, 3, 4)]),
    "sum_keepdim": (lambda a: a.sum(dim=1, keepdim=True), [r(2, 3, 4)]),
    "mean_all": (lambda a: a.mean(), [r(3, 4)]),
    "mean_dim": (lambda a: a.mean(dim=-1), [r(2, 3, 4)]),
    "amax": (lambda a: torch.amax(a, dim=1), [r(3, 5)]),
    "amin_keepdim": (lambda a: torch.amin(a, dim=(0, 1), keepdim=True), [r(3, 5, 2)]),
    "max_dim": (lambda a: torch.max(a, dim=1).values, [r(4, 6)]),
    "min_dim_keepdim": (lambda a: torch.min(a, dim=0, keepdim=True).values, [r(4, 6)]),
    "var_unbiased": (lambda a: torch.var(a, dim=1), [r(4, 6)]),
    "var_all": (lambda a: torch.var(a), [r(4, 6)]),
    "std_biased": (lambda a: torch.std(a, dim=0, unbiased=False), [r(4, 6)]),
    "logsumexp": (lambda a: torch.logsumexp(a, dim=1), [r(3, 7) * 5]),
    "softmax": (lambda a: torch.softmax(a, dim=1), [r(3, 7)]),
    "softmax_dim0": (lambda a: torch.softmax(a, dim=0), [r(3, 7)]),
    "log_softmax": (lambda a: torch.log_softmax(a, dim=-1), [r(2, 3, 7)]),
    "matmul_2d": (torch.matmul, [r(3, 4), r(4, 5)]),
    "matmul_batched": (torch.matmul, [r(2, 3, 4), r(4, 5)]),
    "matmul_broadcast": (torch.matmul, [r(2, 1, 3, 4), r(3, 4, 2)]),
    "matmul_vec_mat": (torch.matmul, [r(4), r(4, 5)]),
    "matmul_mat_vec": (torch.matmul, [r(3, 4), r(4)]),
    "matmul_dot": (torch.matmul, [r(4), r(4)]),
    "matmul_transposed": (lambda a, b: a.t() @ b.t(), [r(4, 3), r(5, 4)]),
    "einsum_cam": (lambda w, f: torch.einsum("cb,abij->acij", w, f), [r(2, 3), r(4, 3, 5, 5)]),
    "einsum_bilinear": (lambda a, b: torch.einsum("ij,jk->ik", a, b), [r(3, 4), r(4, 2)]),
    "einsum_trace_like_sum": (lambda a: torch.einsum("ijk->ki", a), [r(2, 3, 4)]),
    "permute_reshape": (lambda a: a.permute(2, 0, 1).reshape(4, 6) * 2, [r(2, 3, 4)]),
    "transpose_contiguous": (lambda a: a.transpose(0, 1).contiguous() * 1.5, [r(3, 4)]),
    "slice_step": (lambda a: a[:, 1:6:2] * 3, [r(3, 7)]),
    "select": (lambda a: a[:, 2] * 3, [r(3, 4)]),
    "expand": (lambda a: a.expand(3, 4) * 2, [r(3, 1)]),
    "squeeze_unsqueeze": (lambda a: a.squeeze(1).unsqueeze(0) * 2, [r(3, 1, 4)]),
    "cat": (lambda a, b: torch.cat([a, b * 2], dim=1), [r(2, 3), r(2, 4)]),
    "stack": (lambda a, b: torch.stack([a, b * 2], dim=1), [r(2, 3), r(2, 3)]),
    "index_select": (lambda a, i: torch.index_select(a, 0, i), [r(5, 3), torch.tensor([4, 0, 4, 2])]),
    "gather": (lambda a, i: torch.gather(a, 1, i), [r(3, 5), idx(5, 3, 4)]),
    "chain_mlp": (lambda x, w1, w2: torch.log_softmax(torch.relu(x @ w1) @ w2, dim=1), [r(4, 3), r(3, 5), r(5, 2)]),
}

# Printed forms: PyTorch's repr of these tensors must be reproduced exactly.
PRINTS = {
    "float_ints": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
    "float_decimals": torch.tensor([0.1, 2.5, -3.25]),
    "float_sci": torch.tensor([1e-5, 1.0, 12345.0]),
    "float64": torch.tensor([1.0, 2.5], dtype=torch.float64),
    "int64": torch.tensor([[1, -20], [300, 4]]),
    "bool": torch.tensor([True, False, True]),
    "uint8": torch.tensor([0, 7, 255], dtype=torch.uint8),
    "scalar": torch.tensor(3.5),
    "empty": torch.zeros(0),
    "empty_2d": torch.zeros(0, 3),
    "three_d": torch.arange(12.0).reshape(2, 2, 3),
    "summarized": torch.arange(2000.0),
    "summarized_2d": torch.arange(3000).reshape(100, 30),
    "wide_row": torch.arange(30.0) / 7,
    "requires_grad": torch.tensor([1.0, 2.0], requires_grad=True),
    "nan_inf": torch.tensor([float("nan"), float("inf"), -1.5]),
}


def add(tensors, name, t):
    tensors[name] = t.detach().contiguous()


def main():
    tensors, cases = {}, []
    for name, (fn, inputs) in CASES.items():
        inputs = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
        out = fn(*inputs)
        gout = torch.randn(out.shape)
        out.backward(gout)
        for k, t in enumerate(inputs):
            add(tensors, f"{name}/in{k}", t)
            if t.is_floating_point():
                add(tensors, f"{name}/grad{k}", t.grad)
        add(tensors, f"{name}/out", out)
        add(tensors, f"{name}/gout", gout)
        cases.append(name)
    metadata = {"cases": ",".join(cases), "torch_version": torch.__version__}
    for name, t in PRINTS.items():
        add(tensors, f"print/{name}", t)
        metadata[f"print/{name}"] = str(t)
    # A grad_fn name in print: PyTorch names the node of a + b AddBackward0.
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    metadata["print/grad_fn"] = str(a + a)
    write_safetensors(os.path.join(os.path.dirname(__file__), "..", "data", "golden_ops.safetensors"), tensors, metadata)


if __name__ == "__main__":
    if sys.byteorder != "little":
        sys.exit("this script writes little-endian data; run it on a little-endian machine")
    main()
