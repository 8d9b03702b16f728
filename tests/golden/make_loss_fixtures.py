#!/usr/bin/python3
"""Writes tests/data/golden_losses.safetensors: losses and their gradients computed by PyTorch.

Run once with Debian's PyTorch (scripts/setup --torch installs it), from the repository root:

    /usr/bin/python3 tests/golden/make_loss_fixtures.py

For every case: the inputs "<case>/in<k>" (input / logits, target, and pos_weight where used), the
loss "<case>/out", a random upstream gradient "<case>/gout" (a 0-d tensor for the reduced losses)
and the gradient of every input that takes part in autograd "<case>/grad<k>" (from
out.backward(gout)). The metadata lists the cases ("cases"), so tests/nn/test_losses.cpp can check
that it knows every one; each case's call (loss, reduction, ignore_index) is written there again
with Ember's API. The file is written by safetensors_writer.py, shared by all fixture scripts.
"""
import os
import sys

import torch
import torch.nn.functional as F

from safetensors_writer import write_safetensors

torch.manual_seed(2024)


def r(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


def labels(classes, *shape):
    return torch.randint(0, classes, shape)


def with_ignored(target, positions, value):
    target = target.clone()
    target.view(-1)[positions] = value
    return target


def probabilities(*shape, dtype=torch.float32):
    return torch.rand(*shape, dtype=dtype)


# The (N,C) targets of the ignore_index cases, fixed here so that some rows are ignored.
ce_ignored = with_ignored(labels(5, 8), [1, 4, 5], -100)
ce_ignore_2 = labels(5, 8)  # ignore_index=2: whichever rows happen to be class 2
ce_ignore_2[0] = 2
large = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 1000.0, -1000.0]])

# name: (function, float inputs that require grad, other inputs). Inputs are passed in the order
# float inputs, then the others. The C++ test has one entry per name.
CASES = {
    # mse_loss: gradients for input and target
    "mse_mean": (lambda x, t: F.mse_loss(x, t), [r(3, 4), r(3, 4)], []),
    "mse_sum": (lambda x, t: F.mse_loss(x, t, reduction="sum"), [r(3, 4), r(3, 4)], []),
    "mse_none": (lambda x, t: F.mse_loss(x, t, reduction="none"), [r(2, 3, 2), r(2, 3, 2)], []),
    "mse_mean_f64": (lambda x, t: F.mse_loss(x, t), [r(5, dtype=torch.float64), r(5, dtype=torch.float64)], []),
    # cross_entropy: gradient for the logits
    "ce_mean": (lambda x, t: F.cross_entropy(x, t), [r(8, 5) * 3], [labels(5, 8)]),
    "ce_sum": (lambda x, t: F.cross_entropy(x, t, reduction="sum"), [r(8, 5) * 3], [labels(5, 8)]),
    "ce_none": (lambda x, t: F.cross_entropy(x, t, reduction="none"), [r(8, 5) * 3], [labels(5, 8)]),
    "ce_ignore_mean": (lambda x, t: F.cross_entropy(x, t), [r(8, 5)], [ce_ignored]),
    "ce_ignore_none": (lambda x, t: F.cross_entropy(x, t, reduction="none"), [r(8, 5)], [ce_ignored]),
    "ce_ignore_index_2": (lambda x, t: F.cross_entropy(x, t, ignore_index=2), [r(8, 5)], [ce_ignore_2]),
    "ce_one_sample": (lambda x, t: F.cross_entropy(x, t), [r(6)], [torch.tensor(4)]),
    "ce_spatial_mean": (lambda x, t: F.cross_entropy(x, t), [r(2, 4, 3, 3)], [labels(4, 2, 3, 3)]),
    "ce_spatial_none": (lambda x, t: F.cross_entropy(x, t, reduction="none"), [r(2, 4, 3)], [labels(4, 2, 3)]),
    "ce_large_logits": (lambda x, t: F.cross_entropy(x, t, reduction="none"), [large], [torch.tensor([0, 1, 2])]),
    "ce_mean_f64": (lambda x, t: F.cross_entropy(x, t), [r(6, 7, dtype=torch.float64)], [labels(7, 6)]),
    # nll_loss on log-probabilities
    "nll_mean": (lambda x, t: F.nll_loss(x, t), [F.log_softmax(r(8, 5), 1)], [labels(5, 8)]),
    "nll_sum": (lambda x, t: F.nll_loss(x, t, reduction="sum"), [F.log_softmax(r(8, 5), 1)], [labels(5, 8)]),
    "nll_none": (lambda x, t: F.nll_loss(x, t, reduction="none"), [F.log_softmax(r(8, 5), 1)], [labels(5, 8)]),
    "nll_ignore_mean": (lambda x, t: F.nll_loss(x, t), [F.log_softmax(r(8, 5), 1)], [ce_ignored]),
    "nll_spatial_mean": (lambda x, t: F.nll_loss(x, t), [F.log_softmax(r(2, 4, 3), 1)], [labels(4, 2, 3)]),
    # binary_cross_entropy_with_logits: gradients for input and target
    "bce_mean": (lambda x, t: F.binary_cross_entropy_with_logits(x, t), [r(4, 3) * 3, probabilities(4, 3)], []),
    "bce_sum": (lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
                [r(4, 3) * 3, probabilities(4, 3)], []),
    "bce_none": (lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
                 [r(4, 3) * 3, probabilities(4, 3)], []),
    "bce_pos_weight": (lambda x, t, p: F.binary_cross_entropy_with_logits(x, t, pos_weight=p),
                       [r(4, 3) * 3, probabilities(4, 3)], [torch.tensor([0.5, 2.0, 3.0])]),
    "bce_large_logits": (lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
                         [torch.tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0]),
                          torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5])], []),
    "bce_mean_f64": (lambda x, t: F.binary_cross_entropy_with_logits(x, t),
                     [r(6, dtype=torch.float64) * 3, probabilities(6, dtype=torch.float64)], []),
}


def add(tensors, name, t):
    tensors[name] = t.detach().contiguous()


def main():
    tensors, cases = {}, []
    for name, (fn, float_inputs, other_inputs) in CASES.items():
        float_inputs = [t.detach().clone().requires_grad_() for t in float_inputs]
        out = fn(*float_inputs, *other_inputs)
        gout = torch.randn(out.shape, dtype=out.dtype)
        out.backward(gout)
        for k, t in enumerate(float_inputs):
            add(tensors, f"{name}/in{k}", t)
            add(tensors, f"{name}/grad{k}", t.grad)
        for k, t in enumerate(other_inputs, start=len(float_inputs)):
            add(tensors, f"{name}/in{k}", t)
        add(tensors, f"{name}/out", out)
        add(tensors, f"{name}/gout", gout)
        cases.append(name)
    metadata = {"cases": ",".join(cases), "torch_version": torch.__version__}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden_losses.safetensors")
    write_safetensors(path, tensors, metadata)




if __name__ == "__main__":
    if sys.byteorder != "little":
        sys.exit("this script writes little-endian data; run it on a little-endian machine")
    main()
