#!/usr/bin/python3
"""Writes tests/data/golden_conv.safetensors: torch.nn.functional.conv2d outputs and gradients.

    /usr/bin/python3 tests/golden/make_conv_fixtures.py

Per case: "<case>/x", "<case>/w", "<case>/b" (when the case has a bias), the output "<case>/out",
a random upstream gradient "<case>/gout" and the gradients "<case>/gx", "<case>/gw", "<case>/gb".
The metadata holds each case's geometry ("<case>/geometry": stride_h,stride_w,pad_h,pad_w,
dilation_h,dilation_w,groups), the list of cases, and PyTorch's printed form of a few Conv2d modules.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(31)

# name: (x shape, w shape, bias, stride, padding, dilation, groups)
CASES = {
    "basic": ((2, 3, 7, 6), (4, 3, 3, 3), True, (1, 1), (0, 0), (1, 1), 1),
    "stride2_pad1": ((2, 3, 9, 8), (5, 3, 3, 3), False, (2, 2), (1, 1), (1, 1), 1),
    "dilation2": ((1, 2, 8, 8), (3, 2, 3, 3), True, (1, 1), (2, 2), (2, 2), 1),
    "groups2": ((2, 4, 6, 6), (6, 2, 3, 3), True, (1, 1), (1, 1), (1, 1), 2),
    "pointwise": ((2, 8, 5, 5), (4, 8, 1, 1), False, (1, 1), (0, 0), (1, 1), 1),
    "downsample": ((2, 4, 8, 8), (6, 4, 1, 1), False, (2, 2), (0, 0), (1, 1), 1),
    "stem7x7": ((1, 3, 20, 20), (8, 3, 7, 7), False, (2, 2), (3, 3), (1, 1), 1),
    "rect": ((2, 3, 9, 7), (4, 3, 3, 2), True, (2, 1), (1, 0), (1, 2), 1),
}
MODULES = {
    "stem": lambda: torch.nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
    "block": lambda: torch.nn.Conv2d(64, 64, kernel_size=3, stride=1, padding=1, bias=False),
    "fancy": lambda: torch.nn.Conv2d(4, 6, (3, 3), dilation=2, groups=2),
}


def main():
    tensors, metadata = {}, {}
    for name, (xs, ws, has_bias, stride, padding, dilation, groups) in CASES.items():
        x = torch.randn(xs, dtype=torch.float64, requires_grad=True)
        w = torch.randn(ws, dtype=torch.float64, requires_grad=True)
        b = torch.randn(ws[0], dtype=torch.float64, requires_grad=True) if has_bias else None
        out = F.conv2d(x, w, b, stride, padding, dilation, groups)
        gout = torch.randn(out.shape, dtype=torch.float64)
        out.backward(gout)
        tensors.update({f"{name}/x": x.detach(), f"{name}/w": w.detach(), f"{name}/out": out.detach(),
                        f"{name}/gout": gout, f"{name}/gx": x.grad, f"{name}/gw": w.grad})
        if has_bias:
            tensors.update({f"{name}/b": b.detach(), f"{name}/gb": b.grad})
        metadata[f"{name}/geometry"] = ",".join(str(v) for v in (*stride, *padding, *dilation, groups))
    metadata["cases"] = ",".join(CASES)
    for name, make in MODULES.items():
        metadata[f"print/{name}"] = str(make())
    write_safetensors(os.path.join(os.path.dirname(__file__), "..", "data", "golden_conv.safetensors"), tensors,
                      metadata)


if __name__ == "__main__":
    main()
