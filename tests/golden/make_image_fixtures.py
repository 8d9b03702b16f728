#!/usr/bin/python3
"""Writes the image fixtures: what Pillow and torchvision do, for vision/image.h and transforms.h.

    /usr/bin/python3 tests/golden/make_image_fixtures.py      (needs python3-pil, python3-torchvision)

tests/data/golden_images.safetensors holds, as uint8 (H, W, 3) tensors:
  - "src/<name>" source pictures and "resize/<name>/<W>x<H>" = Image.resize((W, H), BILINEAR) of them
    (shrinking, enlarging, one axis only, to 1 pixel, from 1 pixel);
  - "decoded/<file>" = Image.open(tests/data/images/<file>).convert("RGB") for the committed files
    in tests/data/images (PNG as RGB, RGBA, grey and palette; a JPEG);
and for rgb_97x61.png torchvision's ImageNet evaluation transform: "imagenet_pixels/<file>" (uint8,
224x224x3) after Resize(256) and CenterCrop(224), and "imagenet/<file>", the float32 result of
ToTensor() and Normalize(ImageNet) with a batch dimension, its first 8 rows only (to stay small).
"""
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
IMAGES = os.path.join(DATA, "images")
RESIZES = {
    "noise_37x23": [(13, 9), (80, 50), (50, 11), (37, 60), (20, 23), (1, 1), (3, 2), (111, 23)],
    "gradient_64x48": [(32, 24), (17, 31), (224, 168), (63, 47)],
    "pixel_1x1": [(5, 5), (1, 4)],
}


def source(name):
    rng = np.random.default_rng(20261128)
    w, h = map(int, name.rsplit("_", 1)[1].split("x"))
    if name.startswith("noise"):
        return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    if name.startswith("gradient"):
        y, x = np.mgrid[0:h, 0:w]
        return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], -1).astype(np.uint8)
    return np.array([[[200, 17, 99]]], dtype=np.uint8)


def picture(h, w):
    """A smooth picture with some detail (JPEG-friendly), (h, w, 3) uint8."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 128 + 90 * np.cos((x + y) / 13.0)
    b = 255 * (x / max(w - 1, 1))
    return np.clip(np.stack([r, g, b], -1).round(), 0, 255).astype(np.uint8)


def write_image_files():
    """The committed files in tests/data/images, in the modes PIL reads differently."""
    os.makedirs(IMAGES, exist_ok=True)
    rgb = picture(61, 97)
    files = {
        "rgb_97x61.png": Image.fromarray(rgb, "RGB"),
        "rgba_40x30.png": Image.fromarray(np.dstack([picture(30, 40), np.arange(30 * 40).reshape(30, 40) % 256]).astype(np.uint8), "RGBA"),
        "grey_33x17.png": Image.fromarray(picture(17, 33)[:, :, 0], "L"),
        "palette_24x20.png": Image.fromarray(picture(20, 24), "RGB").quantize(colors=16),
        "photo_120x90.jpg": Image.fromarray(picture(90, 120), "RGB"),
    }
    for name, image in files.items():
        path = os.path.join(IMAGES, name)
        if name.endswith(".jpg"):
            image.save(path, quality=90, subsampling=0)  # 4:4:4: no chroma upsampling differences
        else:
            image.save(path)
    return sorted(files)


def main():
    tensors = {}
    for name, sizes in RESIZES.items():
        src = source(name)
        tensors[f"src/{name}"] = torch.from_numpy(src.copy())
        for w, h in sizes:
            out = np.asarray(Image.fromarray(src, "RGB").resize((w, h), Image.BILINEAR))
            tensors[f"resize/{name}/{w}x{h}"] = torch.from_numpy(out.copy())
    evaluate = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                   transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    for file in write_image_files():
        decoded = Image.open(os.path.join(IMAGES, file)).convert("RGB")
        tensors[f"decoded/{file}"] = torch.from_numpy(np.asarray(decoded).copy())
        if file == "rgb_97x61.png":
            cropped = transforms.CenterCrop(224)(transforms.Resize(256)(decoded))
            tensors[f"imagenet_pixels/{file}"] = torch.from_numpy(np.asarray(cropped).copy())
            tensors[f"imagenet/{file}"] = evaluate(decoded).unsqueeze(0)[:, :, :8, :].contiguous()
    write_safetensors(os.path.join(DATA, "golden_images.safetensors"), tensors,
                      {"pillow_version": Image.__version__})


if __name__ == "__main__":
    main()
