#!/usr/bin/python3
"""Writes tests/data/golden_resnet_layout.safetensors: the layout of torchvision's ResNet18/34.

    /usr/bin/python3 tests/golden/make_resnet_fixtures.py      (needs python3-torchvision)

No weights: the metadata holds, per model, every state_dict key with its dtype and shape in
torchvision's order ("<model>/state_dict": "key dtype d0xd1x...;..."), the parameter count, and the
output shape for a 1x3x64x64 input, so the C++ test can check that Ember builds the same modules
under the same names. (The numeric identity test is the next step of issue 5.)
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402


def main():
    metadata = {"torchvision_version": torchvision.__version__}
    for name in ("resnet18", "resnet34"):
        model = getattr(torchvision.models, name)()
        entries = []
        for key, value in model.state_dict().items():
            dtype = str(value.dtype).replace("torch.", "")
            entries.append(f"{key} {dtype} {'x'.join(str(d) for d in value.shape)}")
        metadata[f"{name}/state_dict"] = ";".join(entries)
        metadata[f"{name}/parameters"] = str(sum(p.numel() for p in model.parameters()))
        body = torch.nn.Sequential(*list(model.children())[:-2])
        metadata[f"{name}/body_parameters"] = str(sum(p.numel() for p in body.parameters()))
        metadata[f"{name}/body_output_64"] = "x".join(str(d) for d in body(torch.zeros(1, 3, 64, 64)).shape)
    path = os.path.join(os.path.dirname(__file__), "..", "data", "golden_resnet_layout.safetensors")
    write_safetensors(path, {"unused": torch.zeros(1)}, metadata)


if __name__ == "__main__":
    main()
