#!/usr/bin/python3
"""Exercise 1's epochs in PyTorch, for comparing time per epoch with ember_ex1.

    /usr/bin/python3 bench/ex1_torch.py --images out/ex1/images [--size 128] [--bs 8] [--threads 2]
                                        [--ember-results out/ex1/results.json]

The same work as one frozen and one unfrozen epoch of ember_ex1's fine_tune, written as a plain
PyTorch loop (fastai itself is not packaged in Debian): torchvision's resnet34 body (children[:-2]) +
fastai's head (AdaptiveConcatPool2d, Flatten, BatchNorm1d, Dropout, Linear, ReLU, BatchNorm1d,
Dropout, Linear; created here layer by layer), cross-entropy, Adam with fastai's hyper-parameters
(betas 0.9/0.99, eps 1e-5, decoupled weight decay 0.01: torch.optim.AdamW) and fastai's one-cycle
learning rates set per step; data as fastai's from_folder: sorted label folders, Resize(size) with
a random crop on train and the centre crop on valid (PIL, bilinear), / 255, ImageNet normalisation,
batches of --bs (train shuffled, drop_last). The frozen epoch has requires_grad off for the body
except its BatchNorm layers, as fastai's freeze.

Prints each epoch's time (train + validation) and, with --ember-results, Ember's from results.json
and the ratio (PyTorch time / Ember time: > 1 means Ember is faster).
"""
import argparse
import json
import math
import os
import random
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--images", required=True, help="the dataset folder (train/ and test/ with label folders)")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--bs", type=int, default=8)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--ember-results", help="ember_ex1's results.json, for the comparison")
    return p.parse_args()


def main():
    args = parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import torch
    import torchvision
    from PIL import Image
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)

    def items(split):
        root = os.path.join(args.images, split)
        labels = sorted(d for d in os.listdir(root) if not d.startswith("."))
        out = []
        for label in labels:
            for name in sorted(os.listdir(os.path.join(root, label))):
                if name.lower().endswith((".png", ".jpg", ".jpeg")):
                    out.append((os.path.join(root, label, name), labels.index(label)))
        return out, labels

    train_items, vocab = items("train")
    valid_items, _ = items("test")
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def load(path, train):
        image = Image.open(path).convert("RGB")
        w, h = image.size
        side = min(w, h)
        px, py = (random.random(), random.random()) if train else (0.5, 0.5)
        left, top = int(px * (w - side)), int(py * (h - side))
        image = image.crop((left, top, left + side, top + side)).resize((args.size, args.size), Image.BILINEAR)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)

    def batches(data, train):
        order = list(range(len(data)))
        if train:
            random.shuffle(order)
        n = len(order) // args.bs * args.bs if train else len(order)
        for i in range(0, n, args.bs):
            chunk = [data[j] for j in order[i:i + args.bs]]
            x = torch.stack([load(p, train) for p, _ in chunk]).float() / 255
            yield (x - mean) / std, torch.tensor([y for _, y in chunk])

    class ConcatPool(torch.nn.Module):
        def forward(self, x):
            return torch.cat([torch.nn.functional.adaptive_max_pool2d(x, 1),
                              torch.nn.functional.adaptive_avg_pool2d(x, 1)], 1)

    body = torch.nn.Sequential(*list(torchvision.models.resnet34().children())[:-2])
    head = torch.nn.Sequential(ConcatPool(), torch.nn.Flatten(), torch.nn.BatchNorm1d(1024), torch.nn.Dropout(0.25),
                               torch.nn.Linear(1024, 512, bias=False), torch.nn.ReLU(inplace=True),
                               torch.nn.BatchNorm1d(512), torch.nn.Dropout(0.5),
                               torch.nn.Linear(512, len(vocab), bias=False))
    model = torch.nn.Sequential(body, head)
    groups = [list(body[:6].parameters()), list(body[6:].parameters()), list(head.parameters())]
    opt = torch.optim.AdamW([{"params": g} for g in groups], lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)

    def one_cycle(pos, lr_max, div, pct):
        def cos(a, b, p):
            return a + (1 + math.cos(math.pi * (1 - p))) * (b - a) / 2
        if pos < pct:
            return cos(lr_max / div, lr_max, pos / pct)
        return cos(lr_max, lr_max / 1e5, (pos - pct) / (1 - pct))

    def epoch(lr_max, div, pct, frozen):
        for p in body.parameters():
            p.requires_grad_(not frozen)
        if frozen:
            for m in body.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    for p in m.parameters():
                        p.requires_grad_(True)
        start = time.perf_counter()
        model.train()
        steps = len(train_items) // args.bs
        for k, (x, y) in enumerate(batches(train_items, True)):
            for group, lr in zip(opt.param_groups, lr_max):
                group["lr"] = one_cycle(k / steps, lr, div, pct)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in batches(valid_items, False):
                correct += (model(x).argmax(1) == y).sum().item()
        return time.perf_counter() - start, correct / len(valid_items)

    frozen_s, frozen_acc = epoch([2e-4, 2e-4, 2e-3], 25, 0.99, True)
    unfrozen_s, unfrozen_acc = epoch([1e-5, 1e-4, 1e-3], 5, 0.3, False)
    print(f"PyTorch {torch.__version__}, {args.threads} threads, {len(train_items)} train / {len(valid_items)} valid "
          f"images, size {args.size}, bs {args.bs}")
    print(f"frozen epoch:   {frozen_s:7.2f} s (accuracy {frozen_acc:.3f})")
    print(f"unfrozen epoch: {unfrozen_s:7.2f} s (accuracy {unfrozen_acc:.3f})")
    if args.ember_results:
        with open(args.ember_results) as f:
            seconds = json.load(f)["fine_tune"]["seconds"]
        ember_frozen, ember_unfrozen = seconds[0], sorted(seconds[1:])[len(seconds[1:]) // 2]
        print(f"Ember: frozen epoch {ember_frozen:.2f} s, unfrozen epoch (median) {ember_unfrozen:.2f} s")
        print(f"ratio (PyTorch / Ember): frozen {frozen_s / ember_frozen:.2f}, unfrozen {unfrozen_s / ember_unfrozen:.2f}")


if __name__ == "__main__":
    main()
