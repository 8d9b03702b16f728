#!/usr/bin/python3
"""Writes tests/data/golden_optim.safetensors: optimiser trajectories and one-cycle schedules.

Run once with Debian's PyTorch (scripts/setup --torch installs it), from the repository root:

    /usr/bin/python3 tests/golden/make_optim_fixtures.py

Every optimiser case has three params in two param groups (p0 (3,4) and p1 (4,) in group 0, p2 (5,)
in group 1, each group with its own lr) and runs STEPS steps. The grads are fixed random tensors,
stored per step, so the C++ test (tests/nn/test_optim.cpp) feeds the same grads and compares the
optimiser alone:

    "<case>/init/<p>"      the param before the first step
    "<case>/grad/<p>"      (STEPS, *shape): the grad of each step
    "<case>/has_grad/<p>"  (STEPS,) uint8: 0 where the param has no grad that step (it is skipped)
    "<case>/traj/<p>"      (STEPS, *shape): the param after each step

SGD, Adam and AdamW come from torch.optim (torch 1.13). fastai is not installed, so its Adam and its
one-cycle schedule are written out below in plain Python from the formulas of fastai's source
(docs: /work/shared/reference/fastai-ddg-spec.md, sections 6-7), with the float32 `pcts` tensor
of combine_scheds exactly as fastai has it:

    "onecycle/<config>/lr"   (T, G) float64: the lr of each group at steps 0..T-1
    "onecycle/<config>/mom"  (T,) float64: the momentum
    "even_mults/<config>", "lr_slice/<config>": fastai's lr expansions
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

STEPS = 10
SHAPES = {"p0": (3, 4), "p1": (4,), "p2": (5,)}
GROUPS = [["p0", "p1"], ["p2"]]
OUT = {}
META = {}


def make_inputs(seed, dtype, skip):
    """Initial params and per-step grads; skip = {name: steps without a grad}."""
    g = torch.Generator().manual_seed(seed)
    init = {n: torch.randn(s, generator=g, dtype=torch.float64).to(dtype) for n, s in SHAPES.items()}
    grads = {n: torch.randn((STEPS,) + s, generator=g, dtype=torch.float64).to(dtype) for n, s in SHAPES.items()}
    has_grad = {n: torch.tensor([0 if k in skip.get(n, ()) else 1 for k in range(STEPS)], dtype=torch.uint8)
                for n in SHAPES}
    return init, grads, has_grad


def record(case, init, grads, has_grad, traj):
    for n in SHAPES:
        OUT[f"{case}/init/{n}"] = init[n]
        OUT[f"{case}/grad/{n}"] = grads[n]
        OUT[f"{case}/has_grad/{n}"] = has_grad[n]
        OUT[f"{case}/traj/{n}"] = torch.stack(traj[n])


def torch_case(case, seed, make_opt, group_options, dtype=torch.float64, skip=None):
    """Runs a torch.optim optimiser: make_opt(param_groups) with group i's extra options group_options[i]."""
    init, grads, has_grad = make_inputs(seed, dtype, skip or {})
    params = {n: init[n].clone().requires_grad_() for n in SHAPES}
    groups = [dict({"params": [params[n] for n in names]}, **opts) for names, opts in zip(GROUPS, group_options)]
    opt = make_opt(groups)
    traj = {n: [] for n in SHAPES}
    for k in range(STEPS):
        for n in SHAPES:
            params[n].grad = grads[n][k].clone() if has_grad[n][k] else None
        opt.step()
        for n in SHAPES:
            traj[n].append(params[n].detach().clone())
    record(case, init, grads, has_grad, traj)


# ---- fastai, written out from its source (fastai/callback/schedule.py, fastai/optimizer.py) -------

def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combine_scheds(pcts, scheds):
    assert sum(pcts) == 1.
    pcts = torch.tensor([0] + list(pcts))  # float32, as fastai's tensor()
    assert torch.all(pcts >= 0)
    pcts = torch.cumsum(pcts, 0)
    pct_lim = len(pcts) - 2

    def _inner(pos):
        idx = min((pos >= pcts).nonzero().max(), pct_lim)
        actual_pos = (pos - pcts[idx]) / (pcts[idx + 1] - pcts[idx])
        return scheds[idx](actual_pos.item())
    return _inner


def combined_cos(pct, start, middle, end):
    return combine_scheds([pct, 1 - pct], [lambda p: sched_cos(start, middle, p), lambda p: sched_cos(middle, end, p)])


def even_mults(start, stop, n):
    if n == 1:
        return [stop]
    mult = stop / start
    step = mult ** (1 / (n - 1))
    return [start * (step ** i) for i in range(n)]


def lr_slice(lo, hi, n):  # fastai's Optimizer.set_hyper for slice(lo, hi); lo=None: slice(hi)
    if lo:
        return even_mults(lo, hi, n)
    return [hi / 10] * (n - 1) + [hi]


def one_cycle(total, lr_max, div=25., div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95)):
    """[(lrs per group, mom)] for the steps 0..total-1 (pos = k / total, set before batch k)."""
    lr_scheds = [combined_cos(pct_start, hi / div, hi, hi / div_final) for hi in lr_max]
    mom_sched = combined_cos(pct_start, *moms)
    return [([s(k / total) for s in lr_scheds], mom_sched(k / total)) for k in range(total)]


def fastai_adam_case(case, seed, lr_max, no_wd, wd=0.01, sqr_mom=0.99, eps=1e-5, skip=None):
    """fastai's Adam driven by fit_one_cycle's schedule over STEPS steps; no_wd: params with do_wd=False.
    Per param with a grad, in fastai's callback order (weight_decay, average_grad(dampening=True),
    average_sqr_grad, step_stat, adam_step)."""
    init, grads, has_grad = make_inputs(seed, torch.float64, skip or {})
    p = {n: init[n].clone() for n in SHAPES}
    m = {n: torch.zeros_like(init[n]) for n in SHAPES}
    v = {n: torch.zeros_like(init[n]) for n in SHAPES}
    step = {n: 0 for n in SHAPES}
    traj = {n: [] for n in SHAPES}
    for k, (lrs, mom) in enumerate(one_cycle(STEPS, lr_max)):
        for group, names in enumerate(GROUPS):
            lr = lrs[group]
            for n in names:
                if not has_grad[n][k]:
                    continue
                g = grads[n][k]
                if n not in no_wd and wd != 0:
                    p[n] = p[n] * (1 - lr * wd)                 # p *= 1 - lr wd (decoupled, first)
                m[n] = m[n] * mom + g * (1 - mom)               # m = mom m + (1 - mom) g
                v[n] = v[n] * sqr_mom + g * g * (1 - sqr_mom)   # v = sqr_mom v + (1 - sqr_mom) g^2
                step[n] += 1
                debias1 = 1 - mom ** step[n]
                debias2 = 1 - sqr_mom ** step[n]
                p[n] = p[n] - lr / debias1 * m[n] / ((v[n] / debias2).sqrt() + eps)
        for n in SHAPES:
            traj[n].append(p[n].clone())
    record(case, init, grads, has_grad, traj)


def main():
    torch.set_num_threads(1)
    SGD, Adam, AdamW = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
    # SGD: group 1 has its own lr (and, in the last case, its own momentum and no weight decay)
    torch_case("sgd_plain", 1, lambda g: SGD(g, lr=0.1), [{}, {"lr": 0.03}])
    torch_case("sgd_momentum", 2, lambda g: SGD(g, lr=0.1, momentum=0.9), [{}, {"lr": 0.03}])
    torch_case("sgd_dampening", 3, lambda g: SGD(g, lr=0.1, momentum=0.9, dampening=0.3), [{}, {"lr": 0.03}])
    torch_case("sgd_nesterov", 4, lambda g: SGD(g, lr=0.1, momentum=0.9, nesterov=True), [{}, {"lr": 0.03}])
    torch_case("sgd_weight_decay", 5, lambda g: SGD(g, lr=0.1, momentum=0.5, weight_decay=0.1),
               [{}, {"lr": 0.03, "momentum": 0.8, "weight_decay": 0.0}])
    # Adam / AdamW; p1 has no grad at steps 2 and 5 in "adam" (skipped: its step count lags behind)
    torch_case("adam", 6, lambda g: Adam(g, lr=0.01), [{}, {"lr": 0.05}], skip={"p1": (2, 5)})
    torch_case("adam_weight_decay", 7, lambda g: Adam(g, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1),
               [{}, {"lr": 0.05, "betas": (0.7, 0.95)}])
    torch_case("adamw", 8, lambda g: AdamW(g, lr=0.01, weight_decay=0.1), [{}, {"lr": 0.05}])
    torch_case("adamw_default_wd", 9, lambda g: AdamW(g, lr=0.01), [{}, {"lr": 0.05}])
    torch_case("adam_float32", 10, lambda g: Adam(g, lr=0.01, weight_decay=0.1), [{}, {"lr": 0.05}],
               dtype=torch.float32)
    torch_case("sgd_float32", 11, lambda g: SGD(g, lr=0.1, momentum=0.9, nesterov=True), [{}, {"lr": 0.03}],
               dtype=torch.float32)
    # fastai's Adam under fit_one_cycle (T = STEPS, lr_max per group); p1 (a bias) has do_wd=False
    fastai_adam_case("fastai_adam", 12, lr_max=[1e-2, 3e-2], no_wd={"p1"}, skip={"p2": (4,)})

    # One-cycle schedules: (total steps, lr_max per group, options)
    cycles = {
        "default": (10, [1e-3], {}),
        "fine_tune_frozen": (30, lr_slice(None, 2e-3, 3), {"pct_start": 0.99}),
        "fine_tune_unfrozen": (37, lr_slice(2e-3 / 2 / 100, 2e-3 / 2, 3), {"pct_start": 0.3, "div": 5.0}),
        "moms": (16, [0.1, 0.2], {"pct_start": 0.5, "div_final": 1e4, "moms": (0.9, 0.8, 0.85)}),
    }
    for name, (total, lr_max, opts) in cycles.items():
        values = one_cycle(total, lr_max, **opts)
        OUT[f"onecycle/{name}/lr"] = torch.tensor([lrs for lrs, _ in values], dtype=torch.float64)
        OUT[f"onecycle/{name}/mom"] = torch.tensor([mom for _, mom in values], dtype=torch.float64)
        OUT[f"onecycle/{name}/lr_max"] = torch.tensor(lr_max, dtype=torch.float64)
    OUT["even_mults/1e-5_1e-3_3"] = torch.tensor(even_mults(1e-5, 1e-3, 3), dtype=torch.float64)
    OUT["even_mults/1e-6_1e-2_5"] = torch.tensor(even_mults(1e-6, 1e-2, 5), dtype=torch.float64)
    OUT["even_mults/1e-4_1e-3_1"] = torch.tensor(even_mults(1e-4, 1e-3, 1), dtype=torch.float64)
    OUT["lr_slice/2e-3_3"] = torch.tensor(lr_slice(None, 2e-3, 3), dtype=torch.float64)
    OUT["lr_slice/1e-5_1e-3_3"] = torch.tensor(lr_slice(1e-5, 1e-3, 3), dtype=torch.float64)

    META["steps"] = str(STEPS)
    META["torch"] = torch.__version__
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden_optim.safetensors")
    write_safetensors(os.path.normpath(path), OUT, META)


if __name__ == "__main__":
    if sys.byteorder != "little":
        sys.exit("this script writes little-endian data; run it on a little-endian machine")
    main()
