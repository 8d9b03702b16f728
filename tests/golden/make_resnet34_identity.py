#!/usr/bin/python3
"""The proof that Ember's ResNet34 computes what torchvision's does (issue 5).

    /usr/bin/python3 tests/golden/make_resnet34_identity.py            (needs python3-torchvision)
        writes tests/data/golden_resnet34_identity.safetensors (~0.1 MB, committed)
    /usr/bin/python3 tests/golden/make_resnet34_identity.py --export DIR [--ember PATH]
        also writes DIR/resnet34_identity.safetensors (torchvision's state_dict, 83 MB, not committed),
        DIR/identity.png and DIR/expected.json; with --ember (the ember program) it runs
        `ember predict --weights ... --json DIR/identity.png` and compares the logits.

No 83 MB weights file is committed. Instead every parameter and buffer of torchvision's resnet34 is
set from a formula that tests/nn/test_resnet34_identity.cpp applies too:

    h = (i * 2654435761 + t * 40503) mod 2^32     t = the tensor's position in state_dict() order,
    twice: h = ((h >> 16) xor h) * 0x45d9f3b mod 2^32      i = the element's flat (row-major) index
    h = (h >> 16) xor h;   v(t, i) = sqrt(3) (h / 2^31 - 1)   (uniform, mean 0, variance 1)
    conv weight (C_out, C_in, k, k):  v * sqrt(2 / (C_in k k))     (He's spread)
    BN weight 1 + 0.2 v, bias 0.1 v, running_mean 0.1 v, running_var 0.75 + 0.5 |v|
    num_batches_tracked stays 0; fc.weight v / sqrt(512); fc.bias 0.01 v

The integer steps are exact in both languages and h / 2^31 - 1 is exact in float64, so both sides
round the same double to float32: the weights are identical bit for bit. (A sine of the index, the
obvious choice, makes every weight matrix rank 2 (sin(a i + b) over a row is a mix of two fixed
vectors), so the network's channels are nearly dependent and training-mode batch norm turns
rounding into 20% differences even between float32 and float64 PyTorch.) The input batch
(2, 3, 64, 64) is v(1000, i). Recorded for it:
  - eval-mode logits (2, 1000);
  - train mode (batch statistics): logits, the cross-entropy loss for targets [3, 999], the
    gradients of conv1.weight, layer2.0.downsample.0.weight, layer4.2.bn2.weight/.bias, fc.bias and
    rows 0, 3 and 999 of fc.weight;
  - the running statistics after that one training forward (bn1, layer2.0.downsample.1,
    layer4.2.bn2) and bn1.num_batches_tracked.
all twice: with the model and input in float32 ("f32/...") and cast from those float32 values to
float64 ("f64/..."). The float64 run is the sharp test (only the summation order differs); in float32 the gradients of the first
layers come through 30 training-mode batch norms and differ by about 1e-3 (relative to their
largest entry) between PyTorch's own float32 and float64 runs, so the C++ test allows that much
there and 1e-4 for everything else.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

TARGETS = [3, 999]
INPUT_T = 1000  # the input's "tensor position" in the formula
FC_ROWS = [0, 3, 999]
GRAD_KEYS = ["conv1.weight", "layer2.0.downsample.0.weight", "layer4.2.bn2.weight", "layer4.2.bn2.bias", "fc.bias"]
RUNNING_KEYS = ["bn1", "layer2.0.downsample.1", "layer4.2.bn2"]


def hashed_uniform(t, n):
    """u(t, i) for i in [0, n): an integer hash of (t, i) mapped to [-1, 1), exact in float64."""
    i = torch.arange(n, dtype=torch.int64)
    h = (i * 2654435761 + t * 40503) % 2**32
    for _ in range(2):
        h = (((h >> 16) ^ h) * 0x45D9F3B) % 2**32  # every product stays below 2**59: exact in int64
    h = (h >> 16) ^ h
    return h.to(torch.float64) / 2**31 - 1


def deterministic_value(t, key, shape):
    n = math.prod(shape)
    v = hashed_uniform(t, n) * math.sqrt(3)  # mean 0, variance 1
    leaf = key.rsplit(".", 1)[1]
    if key.startswith("fc."):
        values = v / math.sqrt(512) if leaf == "weight" else 0.01 * v
    elif len(shape) == 4:  # a convolution
        fan_in = shape[1] * shape[2] * shape[3]
        values = v * math.sqrt(2 / fan_in)
    elif leaf == "weight":
        values = 1 + 0.2 * v
    elif leaf == "bias":
        values = 0.1 * v
    elif leaf == "running_mean":
        values = 0.1 * v
    elif leaf == "running_var":
        values = 0.75 + 0.5 * v.abs()
    else:
        raise SystemExit(f"no formula for {key}")
    return values.to(torch.float32).reshape(shape)


def deterministic_resnet34():
    model = torchvision.models.resnet34()
    state = model.state_dict()
    with torch.no_grad():
        for t, (key, value) in enumerate(state.items()):
            if key.endswith("num_batches_tracked"):
                value.zero_()
            else:
                value.copy_(deterministic_value(t, key, tuple(value.shape)))
    return model


def input_batch():
    n = 2 * 3 * 64 * 64
    return (hashed_uniform(INPUT_T, n) * math.sqrt(3)).to(torch.float32).reshape(2, 3, 64, 64)


def record(dtype):
    model = deterministic_resnet34().to(dtype)
    x = input_batch().to(dtype)
    out = {}
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x)
    model.train()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(TARGETS))
    loss.backward()
    out["train_logits"] = logits.detach()
    out["train_loss"] = loss.detach().reshape(1)
    params = dict(model.named_parameters())
    for key in GRAD_KEYS:
        out["grad/" + key] = params[key].grad
    out["grad/fc.weight.rows"] = params["fc.weight"].grad[FC_ROWS]
    buffers = dict(model.named_buffers())
    for key in RUNNING_KEYS:
        out[f"after/{key}.running_mean"] = buffers[key + ".running_mean"]
        out[f"after/{key}.running_var"] = buffers[key + ".running_var"]
    out["after/bn1.num_batches_tracked"] = buffers["bn1.num_batches_tracked"].reshape(1)
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def write_identity_png(path):
    """A 97x61 RGB picture (any size works: ember predict resizes as torchvision does)."""
    from PIL import Image

    h, w = 61, 97
    i = torch.arange(h * w * 3, dtype=torch.float64)
    pixels = (127.5 + 127.5 * torch.sin(0.013 * i + 0.7 * torch.cos(0.0021 * i))).round().clamp(0, 255)
    Image.fromarray(pixels.to(torch.uint8).reshape(h, w, 3).numpy(), "RGB").save(path)


def imagenet_eval_transform():
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                               transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])


def export(directory, ember):
    from PIL import Image

    os.makedirs(directory, exist_ok=True)
    model = deterministic_resnet34().eval()
    weights = os.path.join(directory, "resnet34_identity.safetensors")
    categories = torchvision.models.ResNet34_Weights.IMAGENET1K_V1.meta["categories"]
    write_safetensors(weights, {k: v.contiguous() for k, v in model.state_dict().items()},
                      {"format": "pt", "architecture": "resnet34", "categories": json.dumps(categories)})
    image = os.path.join(directory, "identity.png")
    write_identity_png(image)
    with torch.no_grad():
        logits = model(imagenet_eval_transform()(Image.open(image).convert("RGB")).unsqueeze(0))[0]
    probabilities = logits.double().softmax(0)
    top = logits.topk(5).indices  # by logit: float32 probabilities this peaked underflow to ties at 0
    expected = {"logits": logits.tolist(), "top5": [[int(i), categories[i], float(probabilities[i])] for i in top]}
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(expected, f)
    print(f"wrote {weights}, {image} and expected.json; torchvision's top-5:")
    for index, name, p in expected["top5"]:
        print(f"  {index:4d} {name:30s} {p:.4f}")
    if ember:
        result = subprocess.run([ember, "predict", "--weights", weights, "--json", image], check=True,
                                capture_output=True, text=True)
        mine = json.loads(result.stdout)
        ours = torch.tensor(mine["logits"], dtype=torch.float64)
        theirs = logits.to(torch.float64)
        error = ((ours - theirs).abs().max() / theirs.abs().max()).item()
        same_top = [c["index"] for c in mine["top"][:5]] == [i for i, _, _ in expected["top5"]]
        print(f"ember predict: max |logit difference| / max |logit| = {error:.2e}; same top-5: {same_top}")
        if error > 1e-4 or not same_top:
            sys.exit("ember predict does not give torchvision's logits")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", metavar="DIR", help="also export the weights file, an image and expected logits")
    parser.add_argument("--ember", metavar="PATH", help="with --export: run PATH predict and compare the logits")
    args = parser.parse_args()
    torch.set_num_threads(2)
    tensors = {}
    for prefix, dtype in (("f32/", torch.float32), ("f64/", torch.float64)):
        tensors.update({prefix + k: v for k, v in record(dtype).items()})
    metadata = {"torchvision_version": torchvision.__version__, "targets": ",".join(map(str, TARGETS)),
                "fc_rows": ",".join(map(str, FC_ROWS))}
    path = os.path.join(os.path.dirname(__file__), "..", "data", "golden_resnet34_identity.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"wrote {os.path.normpath(path)}: eval logits {tensors['f32/eval_logits'][0, :4].tolist()} ...,"
          f" train loss {tensors['f32/train_loss'].item():.6f}")
    if args.export:
        export(args.export, args.ember)


if __name__ == "__main__":
    main()
