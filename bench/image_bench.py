#!/usr/bin/python3
"""Ember vs Pillow: images decoded and resized per second, with 1 and 2 worker threads, on the same files.

    /usr/bin/python3 bench/image_bench.py [--size 512] [--workers 1,2] [--repeat N] [--work DIR]
                                          [--ember-bin build] [--sets fashion,jpeg]

Two folders of images are made once under --work (default /tmp/ember-image-bench) and reused:
  fashion  `ember data fashion-mnist --classes pullover,coat --train 200 --test 50`: 500 PNG files
           of 28x28 (the exercise's offline dataset, upscaled to --size as the exercise does);
  jpeg     60 larger photographs-like JPEGs (smooth colour fields, edges and noise; quality 90) of
           the sizes web images come in: 800x600, 1024x768, 1280x960, 1600x1200, 1920x1080 and
           portrait 768x1024, made here with Pillow from a fixed seed.
For each folder, ember_image_bench (bench/image_bench.cpp) runs its cases, then this script runs
the same work in Pillow 9.4 (Debian's python3-pil):
  decode_<set>_w<W>         Image.open(f).convert("RGB")  (forces the full decode)
  decode_resize_<set>_w<W>  that, then fastai's validation Resize(size): crop the centred square of
                            side min(w, h), .resize((size, size), Image.BILINEAR)
  loader_<set>_w<W>         that, then numpy: float32 / 255, (x - mean) / std, HWC -> CHW, and
                            np.stack of 8 into a (8, 3, size, size) batch (fastai's ToTensor,
                            IntToFloatTensor, Normalize); Ember's row is a vision::DataLoader epoch
on W threads of a ThreadPoolExecutor (Pillow releases the GIL while it decodes and resamples, so
threads scale as a DataLoader's worker processes would, without their start-up cost). The timing
policy is bench/harness.h's: untimed warm-up for at least 0.2 s, then R timed repeats (enough for
about 1 s, at least 3) of the whole folder; the median is used.

ratio = Ember images/s / Pillow images/s (> 1: Ember is faster).
"""
import argparse
import concurrent.futures
import json
import math
import os
import statistics
import subprocess
import sys
import time

WARMUP_SECONDS = 0.2
TARGET_SECONDS = 1.0
MIN_REPEATS = 3
MAX_REPEATS = 5000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
JPEG_SIZES = [(800, 600), (1024, 768), (1280, 960), (1600, 1200), (1920, 1080), (768, 1024)]
JPEG_COUNT = 60


def parse_args():
    parser = argparse.ArgumentParser(description="Compare Ember's image decoding + resizing with Pillow's.")
    parser.add_argument("--size", type=int, default=512, help="Resize(size) target (default 512, the exercise's)")
    parser.add_argument("--workers", default="1,2", help="worker thread counts (default 1,2)")
    parser.add_argument("--repeat", type=int, default=0, help="timed repeats (default: about 1 s per case)")
    parser.add_argument("--work", default="/tmp/ember-image-bench", help="where the image folders are made")
    parser.add_argument("--ember-bin", default="build", help="the build folder with apps/ember and bench/ember_image_bench")
    parser.add_argument("--sets", default="fashion,jpeg", help="which folders (fashion, jpeg)")
    return parser.parse_args()


def make_fashion(args, folder):
    ember = os.path.join(args.ember_bin, "apps", "ember")
    command = [ember, "data", "fashion-mnist", "--classes", "pullover,coat", "--train", "200", "--test", "50",
               "--out", folder]
    print("running:", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True)


def make_jpegs(folder):
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(6)
    os.makedirs(folder, exist_ok=True)
    for i in range(JPEG_COUNT):
        w, h = JPEG_SIZES[i % len(JPEG_SIZES)]
        # A smooth colour field (bilinear upsampling of a coarse random grid), shapes and grain.
        coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
        image = coarse.resize((w, h), Image.BILINEAR)
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            x1, y1 = x0 + int(rng.integers(20, w // 3)), y0 + int(rng.integers(20, h // 3))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if i % 2 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
        pixels = np.asarray(image).astype(np.int16) + rng.integers(-12, 13, (h, w, 3), dtype=np.int16)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            os.path.join(folder, f"photo_{i:03d}_{w}x{h}.jpg"), quality=90)


def image_files(folder):
    files = []
    for root, _, names in os.walk(folder):
        files += [os.path.join(root, n) for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
    return sorted(files)


def pil_decode(path):
    from PIL import Image
    with Image.open(path) as image:
        return image.convert("RGB")


def pil_decode_resize(path, size):
    from PIL import Image
    image = pil_decode(path)
    w, h = image.size
    side = min(w, h)
    left, top = int(0.5 * (w - side)), int(0.5 * (h - side))
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)


MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def pil_to_normalized_chw(path, size):
    import numpy as np
    x = np.asarray(pil_decode_resize(path, size), dtype=np.float32) / np.float32(255)
    x = (x - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return x.transpose(2, 0, 1)


def pil_loader_epoch(pool, files, size, batch_size=8):
    import numpy as np
    items = list(pool.map(lambda f: pil_to_normalized_chw(f, size), files))
    return [np.stack(items[i:i + batch_size]) for i in range(0, len(items), batch_size)]


def time_case(repeat_fn, repeats):
    total, count = 0.0, 0
    while True:
        start = time.perf_counter()
        repeat_fn()
        total += time.perf_counter() - start
        count += 1
        if total >= WARMUP_SECONDS:
            break
    r = repeats or min(MAX_REPEATS, max(MIN_REPEATS, math.ceil(TARGET_SECONDS / (total / count))))
    seconds = []
    for _ in range(r):
        start = time.perf_counter()
        repeat_fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def pil_cases(files, workers, size, repeats, name):
    results = {}
    for w in workers:
        with concurrent.futures.ThreadPoolExecutor(max_workers=w) as pool:
            decode = lambda: list(pool.map(pil_decode, files))
            resize = lambda: list(pool.map(lambda f: pil_decode_resize(f, size), files))
            results[f"decode_{name}_w{w}"] = len(files) / time_case(decode, repeats)
            results[f"decode_resize_{name}_w{w}"] = len(files) / time_case(resize, repeats)
            loader = lambda: pil_loader_epoch(pool, files, size)
            results[f"loader_{name}_w{w}"] = len(files) / time_case(loader, repeats)
    return results


def ember_cases(args, folder, name):
    binary = os.path.join(args.ember_bin, "bench", "ember_image_bench")
    if not os.access(binary, os.X_OK):
        sys.exit(f"image_bench.py: no {binary}; build it with cmake --build {args.ember_bin} --target ember_image_bench")
    command = [binary, "--dir", folder, "--name", name, "--size", str(args.size), "--workers", args.workers, "--json"]
    if args.repeat:
        command += ["--repeat", str(args.repeat)]
    print("running:", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {line["case"]: line["metric"] for line in lines}


def main():
    args = parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    import PIL
    print(f"image_bench: Resize({args.size}), workers {workers}, Pillow {PIL.__version__}, "
          f"{os.cpu_count()} cores")
    print(f"{'case':32} {'files':>6} {'Ember img/s':>12} {'Pillow img/s':>13} {'ratio':>7}")
    for name in args.sets.split(","):
        folder = os.path.join(args.work, name)
        if not image_files(folder):
            if name == "fashion":
                make_fashion(args, folder)
            elif name == "jpeg":
                make_jpegs(folder)
            else:
                sys.exit(f"image_bench.py: unknown set '{name}' (fashion, jpeg)")
        files = image_files(folder)
        ember = ember_cases(args, folder, name)
        pil = pil_cases(files, workers, args.size, args.repeat, name)
        for case, pil_rate in pil.items():
            ember_rate = ember.get(case)
            if ember_rate is None:
                continue
            print(f"{case:32} {len(files):6d} {ember_rate:12.1f} {pil_rate:13.1f} {ember_rate / pil_rate:7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
