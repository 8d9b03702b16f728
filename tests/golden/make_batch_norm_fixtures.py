#!/usr/bin/python3
"""Writes tests/data/golden_batch_norm.safetensors: BatchNorm1d/2d in train and eval mode.

    /usr/bin/python3 tests/golden/make_batch_norm_fixtures.py

Per case (float64): the module's state before ("<case>/before/<key>"), the input "<case>/x", the
output "<case>/out", an upstream gradient "<case>/gout", the gradients "<case>/gx", "<case>/gweight",
"<case>/gbias", and the state after the forward ("<case>/after/<key>": running statistics and
num_batches_tracked).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(77)

# name: (module, input shape, train mode)
CASES = {
    "bn2d_train": (lambda: torch.nn.BatchNorm2d(3), (4, 3, 5, 6), True),
    "bn2d_eval": (lambda: torch.nn.BatchNorm2d(3), (2, 3, 4, 4), False),
    "bn1d_train": (lambda: torch.nn.BatchNorm1d(5), (6, 5), True),
    "bn1d_train_3d": (lambda: torch.nn.BatchNorm1d(4, momentum=0.3), (3, 4, 7), True),
    "bn2d_offset_train": (lambda: torch.nn.BatchNorm2d(2), (3, 2, 4, 4), True),  # large mean, small spread
}


def main():
    tensors, metadata = {}, {}
    for name, (make, shape, train) in CASES.items():
        m = make().double()
        with torch.no_grad():  # non-trivial parameters and running statistics
            m.weight.copy_(torch.rand(m.num_features, dtype=torch.float64) + 0.5)
            m.bias.copy_(torch.randn(m.num_features, dtype=torch.float64))
            m.running_mean.copy_(torch.randn(m.num_features, dtype=torch.float64))
            m.running_var.copy_(torch.rand(m.num_features, dtype=torch.float64) + 0.5)
        for key, value in m.state_dict().items():
            tensors[f"{name}/before/{key}"] = value.clone()
        m.train(train)
        x = torch.randn(shape, dtype=torch.float64)
        if name == "bn2d_offset_train":
            x = x * 1e-2 + 10  # a one-pass E[x^2] - E[x]^2 in float32 would lose most digits here
        x.requires_grad_(True)
        out = m(x)
        gout = torch.randn(out.shape, dtype=torch.float64)
        out.backward(gout)
        tensors.update({f"{name}/x": x.detach(), f"{name}/out": out.detach(), f"{name}/gout": gout,
                        f"{name}/gx": x.grad, f"{name}/gweight": m.weight.grad, f"{name}/gbias": m.bias.grad})
        for key, value in m.state_dict().items():
            tensors[f"{name}/after/{key}"] = value.clone()
        metadata[f"{name}/train"] = "1" if train else "0"
        metadata[f"{name}/momentum"] = str(m.momentum)
    metadata["cases"] = ",".join(CASES)
    write_safetensors(os.path.join(os.path.dirname(__file__), "..", "data", "golden_batch_norm.safetensors"), tensors,
                      metadata)


if __name__ == "__main__":
    main()
