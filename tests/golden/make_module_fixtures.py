#!/usr/bin/python3
"""Writes tests/data/golden_modules.safetensors: PyTorch modules, saved with their own state_dict
key names, with an input, the output and the gradients of every parameter.

    /usr/bin/python3 tests/golden/make_module_fixtures.py

The C++ test (tests/nn/test_module_golden.cpp) builds the same modules in Ember, loads the
"<model>/state/<key>" tensors with load_state_dict (so PyTorch's key names must match Ember's),
runs "<model>/x" through them and compares the output with "<model>/out" and, after
backward(out, "<model>/gout"), every parameter's gradient with "<model>/grad/<key>".
Models (all in float64, so the comparison is tight):
  autoencoder: Sequential(Linear(4,2,bias=False), Linear(2,4,bias=False))      (exercise 3)
  classifier:  Sequential(Linear(2,16), ReLU(), Linear(16,3))                   (exercise 3 (4))
  mlp:         Sequential(Flatten(), Linear(12,8), Tanh(), Dropout(0.5), Linear(8,5), Sigmoid(),
               Linear(5,3), LogSoftmax(dim=1)), in eval mode (dropout off)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

torch.manual_seed(2024)
nn = torch.nn

MODELS = {
    "autoencoder": (lambda: nn.Sequential(nn.Linear(4, 2, bias=False), nn.Linear(2, 4, bias=False)), (6, 4)),
    "classifier": (lambda: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3)), (7, 2)),
    "mlp": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 5),
                                  nn.Sigmoid(), nn.Linear(5, 3), nn.LogSoftmax(dim=1)), (5, 3, 4)),
}


def main():
    tensors = {}
    for name, (make, x_shape) in MODELS.items():
        model = make().double().eval()
        x = torch.randn(x_shape, dtype=torch.float64)
        out = model(x)
        gout = torch.randn(out.shape, dtype=torch.float64)
        out.backward(gout)
        for key, value in model.state_dict().items():
            tensors[f"{name}/state/{key}"] = value.detach().clone()
        for key, p in model.named_parameters():
            tensors[f"{name}/grad/{key}"] = p.grad.detach().clone()
        tensors[f"{name}/x"] = x
        tensors[f"{name}/out"] = out.detach()
        tensors[f"{name}/gout"] = gout
        tensors[f"{name}/printed"] = torch.zeros(0)  # the printed form goes into the metadata
    metadata = {f"{name}/printed": str(make()) for name, (make, _) in MODELS.items()}
    metadata["torch_version"] = torch.__version__
    path = os.path.join(os.path.dirname(__file__), "..", "data", "golden_modules.safetensors")
    write_safetensors(path, tensors, metadata)


if __name__ == "__main__":
    main()
