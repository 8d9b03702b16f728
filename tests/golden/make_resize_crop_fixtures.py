#!/usr/bin/python3
"""Writes the fixtures of fastai's Resize(size, method=ResizeMethod.Crop) for vision/augment.h.

    /usr/bin/python3 tests/golden/make_resize_crop_fixtures.py      (needs python3-pil, python3-torch)

fastai 2.7.10 is not installed, so its code path for a PIL image is transcribed below (augment.py,
Resize.encodes and _do_crop_pad): the crop box from the target size and the crop position `pcts`,
PIL's crop, then Image.resize(BILINEAR). tests/data/golden_resize_crop.safetensors holds:
  - "src/<name>": the generated source pictures (uint8 H x W x 3);
  - "case/<k>": the expected uint8 (th, tw, 3) result of case k;
  - metadata "cases": a JSON list of {"source", "width", "height", "pcts": [x, y], "box": [l, t, w, h]}
    where a source ending in .png is a committed file in tests/data/images (read with
    convert("RGB")) and any other is "src/<source>".
The cases cover the centre crop (valid), crops at both ends of the slack, a non-square target,
upscaling a small grey image, a crop of exactly the target size, and a crop that is one pixel short
of the short side because fastai computes int((61 / 23) * 23) = 60 in floating point.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
IMAGES = os.path.join(DATA, "images")

CASES = [  # (source, (target width, target height), pcts)
    ("rgb_97x61.png", (32, 32), (0.5, 0.5)),
    ("rgb_97x61.png", (32, 32), (0.0, 0.0)),
    ("rgb_97x61.png", (32, 32), (0.999999, 0.3)),
    ("rgb_97x61.png", (32, 32), (0.1234567, 0.9)),
    ("rgb_97x61.png", (40, 24), (0.7, 0.7)),
    ("rgb_97x61.png", (61, 61), (0.25, 0.5)),
    ("rgb_97x61.png", (23, 23), (0.5, 0.5)),
    ("grey_33x17.png", (48, 48), (0.5, 0.5)),
    ("grey_33x17.png", (48, 48), (0.9, 0.1)),
    ("noise_50x80", (20, 20), (0.3, 0.6)),
    ("noise_50x80", (64, 64), (0.5, 0.5)),
    ("noise_50x80", (24, 36), (0.05, 0.95)),
]


def generated(name):
    rng = np.random.default_rng(20261129)
    w, h = map(int, name.rsplit("_", 1)[1].split("x"))
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def fastai_resize_crop(img, size, pcts):
    """fastai's Resize(size=(h, w)).encodes for ResizeMethod.Crop; `size` is fastai's internal
    (w, h) order (it stores _process_sz(size) = (size[1], size[0]))."""
    w, h = img.size
    m = w / size[0] if w / size[0] < h / size[1] else h / size[1]
    cp_sz = (int(m * size[0]), int(m * size[1]))
    tl = (int(pcts[0] * (w - cp_sz[0])), int(pcts[1] * (h - cp_sz[1])))
    # _do_crop_pad: the crop box lies inside the image here, so no padding happens.
    assert tl[0] >= 0 and tl[1] >= 0 and tl[0] + cp_sz[0] <= w and tl[1] + cp_sz[1] <= h
    cropped = img.crop((tl[0], tl[1], tl[0] + cp_sz[0], tl[1] + cp_sz[1]))
    return cropped.resize(size, Image.BILINEAR), [tl[0], tl[1], cp_sz[0], cp_sz[1]]


def main():
    tensors, described = {}, []
    for k, (source, size, pcts) in enumerate(CASES):
        if source.endswith(".png"):
            img = Image.open(os.path.join(IMAGES, source)).convert("RGB")
        else:
            src = generated(source)
            tensors[f"src/{source}"] = torch.from_numpy(src.copy())
            img = Image.fromarray(src, "RGB")
        out, box = fastai_resize_crop(img, size, pcts)
        tensors[f"case/{k:02d}"] = torch.from_numpy(np.asarray(out).copy())
        described.append({"source": source, "width": size[0], "height": size[1], "pcts": list(pcts), "box": box})
    write_safetensors(os.path.join(DATA, "golden_resize_crop.safetensors"), tensors,
                      {"cases": json.dumps(described), "pillow_version": Image.__version__})


if __name__ == "__main__":
    main()
