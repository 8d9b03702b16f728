#!/usr/bin/python3
"""Writes tests/data/golden_cam.safetensors: the exercise's CAM einsum and Grad-CAM from PyTorch.

Run once with Debian's PyTorch (scripts/setup --torch installs it), from the repository root:

    /usr/bin/python3 tests/golden/make_cam_fixtures.py

Everything is float64. tests/vision/test_cam.cpp reads it.

  einsum/W (3,5), einsum/features (2,5,4,6), einsum/out (2,3,4,6)
      out = torch.einsum('cb,abij->acij', W, features), the seed's CAM line.

  gradcam/x (2,3,10,14): the input of a tiny conv body (model "0"):
      Conv2d(3,4,3,stride=2,padding=1,bias=False) BatchNorm2d(4) ReLU Conv2d(4,4,3,padding=1,bias=False)
      -> features (2,4,5,7); and fastai's create_head(4, 2) (model "1"):
      AdaptiveConcatPool2d Flatten BatchNorm1d(8) Dropout(0.25) Linear(8,512,bias=False) ReLU
      BatchNorm1d(512) Dropout(0.5) Linear(512,2,bias=False)
  gradcam/model.<key>: the state_dict of Sequential(body, head), BatchNorm statistics made non-trivial;
  gradcam/features, gradcam/logits (eval mode);
  gradcam/classes_pred: argmax of the logits, gradcam/maps_pred (2,5,7) their Grad-CAM maps;
  gradcam/classes_other = 1 - classes_pred, gradcam/maps_other their maps.
      Grad-CAM (Selvaraju et al. 2017): A = body(x); alpha[n,k] = mean over (i,j) of d y[n,c_n] / d A[n,k,i,j];
      map[n] = relu(sum_k alpha[n,k] A[n,k]).
"""
import os
import sys

import torch
import torch.nn as nn

from safetensors_writer import write_safetensors

torch.manual_seed(2027)
torch.set_default_dtype(torch.float64)


class ConcatPool(nn.Module):
    """fastai's AdaptiveConcatPool2d(1): max first, then average."""

    def forward(self, x):
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1), nn.functional.adaptive_avg_pool2d(x, 1)], 1)


def fastai_head(nf, n_out):
    return nn.Sequential(ConcatPool(), nn.Flatten(), nn.BatchNorm1d(2 * nf), nn.Dropout(0.25),
                         nn.Linear(2 * nf, 512, bias=False), nn.ReLU(), nn.BatchNorm1d(512), nn.Dropout(0.5),
                         nn.Linear(512, n_out, bias=False))


def randomize_batch_norm(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)


def grad_cam(head, features, classes):
    a = features.detach().clone().requires_grad_(True)
    logits = head(a)
    logits.gather(1, classes[:, None]).sum().backward()
    alpha = a.grad.mean(dim=(2, 3), keepdim=True)  # (N,C,1,1)
    return torch.relu((alpha * a).sum(dim=1)).detach()  # (N,h,w)


def main():
    tensors = {}

    w, feats = torch.randn(3, 5), torch.randn(2, 5, 4, 6)
    tensors["einsum/W"], tensors["einsum/features"] = w, feats
    tensors["einsum/out"] = torch.einsum("cb,abij->acij", w, feats).contiguous()

    body = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1, bias=False))
    model = nn.Sequential(body, fastai_head(4, 2))
    randomize_batch_norm(model)
    model.eval()
    x = torch.randn(2, 3, 10, 14)
    with torch.no_grad():
        features = body(x)
        logits = model[1](features)
    pred = logits.argmax(1)
    other = 1 - pred
    for key, value in model.state_dict().items():
        tensors["gradcam/model." + key] = value.detach().clone()
    tensors["gradcam/x"] = x
    tensors["gradcam/features"] = features
    tensors["gradcam/logits"] = logits
    tensors["gradcam/classes_pred"] = pred
    tensors["gradcam/maps_pred"] = grad_cam(model[1], features, pred)
    tensors["gradcam/classes_other"] = other
    tensors["gradcam/maps_other"] = grad_cam(model[1], features, other)
    for name, t in tensors.items():
        tensors[name] = t.contiguous()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "data", "golden_cam.safetensors")
    write_safetensors(path, tensors, {"torch": torch.__version__})
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)", file=sys.stderr)


if __name__ == "__main__":
    main()
