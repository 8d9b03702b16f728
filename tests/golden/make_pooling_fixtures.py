#!/usr/bin/python3
"""Writes tests/data/golden_pooling.safetensors: pooling outputs and input gradients from PyTorch.

Run once with Debian's PyTorch (scripts/setup --torch installs it), from the repository root:

    /usr/bin/python3 tests/golden/make_pooling_fixtures.py

For every case: the input "<case>/in", the output "<case>/out", a random upstream gradient
"<case>/gout" of the output's shape and the input's gradient "<case>/grad" (from
out.backward(gout)). The metadata lists the cases ("cases"), so tests/nn/test_pooling.cpp can check
that it knows every one; each case's call is written there again with Ember's API. Inputs are
random normals, so max pooling meets no ties.
"""
import os
import sys

import torch
import torch.nn.functional as F

from safetensors_writer import write_safetensors

torch.manual_seed(2025)


def r(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def concat_pool(x, size):
    """fastai's AdaptiveConcatPool2d: max first, then avg, along the channels."""
    return torch.cat([F.adaptive_max_pool2d(x, size), F.adaptive_avg_pool2d(x, size)], 1)


# name: (function, input). The C++ test has one entry per name.
CASES = {
    "max_3x3_s2_p1": (lambda x: F.max_pool2d(x, 3, 2, 1), r(2, 3, 9, 9)),  # ResNet's stem pool
    "max_3x3_s2_p1_f64": (lambda x: F.max_pool2d(x, 3, 2, 1), r(2, 3, 9, 9, dtype=torch.float64)),
    "max_2x2": (lambda x: F.max_pool2d(x, 2), r(2, 3, 8, 7)),
    "max_2x3_s1x2_p1x0": (lambda x: F.max_pool2d(x, (2, 3), (1, 2), (1, 0)), r(2, 2, 6, 7)),
    "max_chw": (lambda x: F.max_pool2d(x, 3, 2, 1), r(3, 9, 8)),
    "avg_3x3_s2_p1": (lambda x: F.avg_pool2d(x, 3, 2, 1), r(2, 3, 9, 9)),
    "avg_2x2": (lambda x: F.avg_pool2d(x, 2), r(2, 3, 8, 7)),
    "avg_2x3_s1x2_p1x0_f64": (lambda x: F.avg_pool2d(x, (2, 3), (1, 2), (1, 0)), r(2, 2, 6, 7, dtype=torch.float64)),
    "adaptive_avg_1": (lambda x: F.adaptive_avg_pool2d(x, 1), r(2, 3, 7, 5)),
    "adaptive_avg_3x2": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), r(2, 3, 7, 5)),
    "adaptive_avg_5x4_chw": (lambda x: F.adaptive_avg_pool2d(x, (5, 4)), r(3, 7, 5)),  # overlapping bins
    "adaptive_max_1": (lambda x: F.adaptive_max_pool2d(x, 1), r(2, 3, 7, 5)),
    "adaptive_max_3x2": (lambda x: F.adaptive_max_pool2d(x, (3, 2)), r(2, 3, 7, 5)),
    "adaptive_max_5x4_f64": (lambda x: F.adaptive_max_pool2d(x, (5, 4)), r(2, 3, 7, 5, dtype=torch.float64)),
    "concat_1": (lambda x: concat_pool(x, 1), r(2, 3, 7, 5)),
    "concat_3x2": (lambda x: concat_pool(x, (3, 2)), r(2, 3, 7, 5)),
}


def add(tensors, name, t):
    tensors[name] = t.detach().contiguous()


def main():
    tensors, cases = {}, []
    for name, (fn, x) in CASES.items():
        x = x.detach().clone().requires_grad_()
        out = fn(x)
        gout = torch.randn(out.shape, dtype=out.dtype)
        out.backward(gout)
        add(tensors, f"{name}/in", x)
        add(tensors, f"{name}/out", out)
        add(tensors, f"{name}/gout", gout)
        add(tensors, f"{name}/grad", x.grad)
        cases.append(name)
    metadata = {"cases": ",".join(cases), "torch_version": torch.__version__}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden_pooling.safetensors")
    write_safetensors(path, tensors, metadata)


if __name__ == "__main__":
    if sys.byteorder != "little":
        sys.exit("this script writes little-endian data; run it on a little-endian machine")
    main()
