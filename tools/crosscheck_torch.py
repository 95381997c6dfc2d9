#!/usr/bin/env python3
"""crosscheck_torch.py: check `pegr grad` against an independent PyTorch autograd implementation.

What this file holds:
  - a random problem generator (X, y, W, q, lam) seeded by --seed: generic Gaussian patches (not
    orthogonal), W scaled so that pre-activations are O(1) and none lies within 1e-6 of 0 (the kinks of
    max(z, 0)^q then do not matter);
  - the model and the three objectives written directly in torch, float64, with no closed form from
    docs/math.md: every gradient comes from autograd --
      gd:   L = (1/n) sum_i l_i,  l_i = softplus(-y_i f_i)
      pegr: L + (lam/n) sum_i ||grad l_i||^2   (per-example gradients with create_graph, double backward)
      gr:   L + lam ||grad L||^2               (double backward)
    with f(W, x) = (1/m) sum_r sum_p [relu(<W[0,r], x_p>)^q - relu(<W[1,r], x_p>)^q];
  - a runner that writes each problem as .npy files, runs `pegr grad --per-example` for every method on
    every device of --devices, and compares grad, margin, per_example_loss, per_example_norm2,
    per_example_grad and loss.json's mean_loss and objective by max |a - b| / max(max |b|, tiny).

It prints one table row per comparison and closes with `N passed, M failed`. Exit status: 0 when none
failed, 1 when some failed, 77 when nothing could be checked (no device had an engine), 2 on bad usage.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

from torch_model import example_loss, func_vmap, model_output, per_example_grads  # the model, written once

torch.set_default_dtype(torch.float64)

METHODS = ("gd", "pegr", "gr")
Q_VALUES = (1.0, 2.0, 3.0, 4.5)  # q in (1, 2) is rejected by pegr and gr, so never drawn
PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31)
ARRAYS = ("grad", "margin", "per_example_loss", "per_example_norm2", "per_example_grad")
SCALARS = ("mean_loss", "objective")
KINK_GAP = 1e-6
TINY = np.finfo(np.float64).tiny


# ---------------------------------------------------------------- random problems

def random_problem(rng, k):
    """Case k: a dict with X (n,P,d), y (n,), W (2,m,d), q, lam; d is prime in every even case."""
    n = int(rng.integers(1, 5))
    P = int(rng.integers(1, 5))
    d = int(rng.choice(PRIMES)) if k % 2 == 0 else int(rng.integers(2, 33))
    m = int(rng.integers(1, 5))
    q = Q_VALUES[k % len(Q_VALUES)]
    lam = float(np.exp(rng.uniform(np.log(0.05), np.log(2.0))))
    X = rng.standard_normal((n, P, d))
    y = rng.choice([-1.0, 1.0], size=n)
    W = sample_weights(rng, X, m)
    return {"X": X, "y": y, "W": W, "q": q, "lam": lam}


def sample_weights(rng, X, m):
    """W (2,m,d) with pre-activations <W[j,r], x_i,p> of order 1, none within KINK_GAP of 0, and at
    least one positive per example (so that every per-example gradient is nonzero)."""
    n, P, d = X.shape
    for _ in range(1000):
        W = rng.standard_normal((2, m, d)) * (0.8 / np.sqrt(d))
        z = np.einsum("jrd,ipd->ijrp", W, X)
        if np.abs(z).min() > KINK_GAP and (z.reshape(n, -1) > 0).any(axis=1).all():
            return W
    raise RuntimeError("could not sample weights away from the kinks")


def write_problem(prob, directory):
    for name in ("X", "y", "W"):
        np.save(os.path.join(directory, name + ".npy"), prob[name])


# ---------------------------------------------------------------- the torch reference

def reference(prob, method):
    """Everything `pegr grad --per-example` writes, computed by autograd, as numpy float64."""
    X = torch.tensor(prob["X"])
    y = torch.tensor(prob["y"])
    W = torch.tensor(prob["W"], requires_grad=True)
    q, lam, n = prob["q"], prob["lam"], X.shape[0]

    margins = torch.stack([model_output(W, X[i], q) for i in range(n)])
    losses = torch.stack([example_loss(W, X[i], y[i], q) for i in range(n)])
    L = losses.mean()
    G = per_example_grads(W, X, y, q)
    norm2 = (G ** 2).sum(dim=(1, 2, 3))

    if method == "gd":
        objective = L
    elif method == "pegr":
        objective = L + (lam / n) * norm2.sum()
    else:  # gr
        gL = torch.autograd.grad(L, W, create_graph=True)[0]
        objective = L + lam * (gL ** 2).sum()
    grad = torch.autograd.grad(objective, W)[0]

    out = {"grad": grad, "margin": margins, "per_example_loss": losses,
           "per_example_norm2": norm2, "per_example_grad": G,
           "mean_loss": L, "objective": objective}
    return {k: v.detach().numpy() for k, v in out.items()}


# ---------------------------------------------------------------- running pegr

class EngineUnavailable(Exception):
    pass


class PegrFailed(Exception):
    pass


def run_pegr(exe, workdir, prob, method, device, precision):
    """Run `pegr grad` and return its outputs as a dict like reference()'s."""
    out = os.path.join(workdir, "out-%s-%s" % (method, device.replace(":", "_")))
    cmd = [exe, "grad", "--X", os.path.join(workdir, "X.npy"), "--y", os.path.join(workdir, "y.npy"),
           "--W", os.path.join(workdir, "W.npy"), "--q", repr(prob["q"]), "--lam", repr(prob["lam"]),
           "--method", method, "--per-example", "--device", device, "--precision", precision,
           "--out", out]
    try:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as e:
        raise PegrFailed("cannot run %s: %s" % (exe, e))
    if res.returncode != 0:
        msg = res.stdout.strip()
        if res.returncode == 1 and "not available" in msg:
            raise EngineUnavailable(msg)
        raise PegrFailed("exit %d: %s\n  command: %s" % (res.returncode, msg, " ".join(cmd)))
    got = {name: np.load(os.path.join(out, name + ".npy")) for name in ARRAYS}
    with open(os.path.join(out, "loss.json")) as fh:
        meta = json.load(fh)
    for name in SCALARS:
        got[name] = np.float64(meta[name])
    return got


# ---------------------------------------------------------------- comparing

def rel_err(a, b):
    """max |a - b| / max(max |b|, tiny); inf when the shapes differ or a is not finite."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), TINY))


class Tally:
    def __init__(self, tol):
        self.tol = tol
        self.passed = 0
        self.failed = 0
        self.worst = 0.0

    def row(self, case, device, method, array, err):
        ok = err <= self.tol
        self.passed += ok
        self.failed += not ok
        if ok:
            self.worst = max(self.worst, err)
        print("%4d  %-10s %-5s %-18s %10.3e  %s" % (case, device, method, array, err,
                                                    "ok" if ok else "FAIL"))

    def error(self, case, device, method, message):
        self.failed += 1
        print("%4d  %-10s %-5s %-18s %10s  FAIL\n      %s" % (case, device, method, "(run)", "-",
                                                             message.replace("\n", "\n      ")))


def check_case(k, prob, args, devices, skipped, tally):
    with tempfile.TemporaryDirectory(prefix="pegr-crosscheck-") as workdir:
        write_problem(prob, workdir)
        for method in args.methods:
            ref = reference(prob, method)
            for device in devices:
                if device in skipped:
                    continue
                try:
                    got = run_pegr(args.pegr, workdir, prob, method, device, args.precision)
                except EngineUnavailable as e:
                    skipped.add(device)
                    print("note: skipping device %r: %s" % (device, e))
                    continue
                except PegrFailed as e:
                    tally.error(k, device, method, str(e))
                    continue
                for name in ARRAYS + SCALARS:
                    tally.row(k, device, method, name, rel_err(got[name], ref[name]))


# ---------------------------------------------------------------- command line

def parse_args(argv):
    p = argparse.ArgumentParser(description="Check `pegr grad` against PyTorch autograd (float64).")
    p.add_argument("--pegr", default=os.environ.get("PEGR_EXE", "build/pegr"),
                   help="the pegr executable [default: $PEGR_EXE, else build/pegr]")
    p.add_argument("--seed", type=int, default=0, help="seed of the random problems [default: 0]")
    p.add_argument("--cases", type=int, default=6, help="number of random problems [default: 6]")
    p.add_argument("--devices", default="host",
                   help="comma-separated pegr --device specs [default: host]")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated methods [default: gd,pegr,gr]")
    p.add_argument("--precision", choices=("fp32", "fp64"), default="fp64",
                   help="pegr --precision [default: fp64]")
    p.add_argument("--tol", type=float, default=None,
                   help="largest relative error that passes [default: 1e-9 fp64, 1e-4 fp32]")
    args = p.parse_args(argv)
    args.devices = [d for d in args.devices.split(",") if d]
    args.methods = [m for m in args.methods.split(",") if m]
    if args.tol is None:
        args.tol = 1e-9 if args.precision == "fp64" else 1e-4
    if not args.devices or args.cases < 1:
        p.error("need at least one device and one case")
    if any(m not in METHODS for m in args.methods) or not args.methods:
        p.error("--methods takes a comma list of gd, pegr, gr")
    if not (os.path.isfile(args.pegr) and os.access(args.pegr, os.X_OK)):
        p.error("pegr executable not found: %s (use --pegr or $PEGR_EXE)" % args.pegr)
    return args


def main(argv=None):
    args = parse_args(argv)
    engine = ("torch.func/functorch vmap" if func_vmap is not None else "loop")
    print("crosscheck: %s vs torch %s autograd (float64, per-example by %s); seed %d, %d cases, "
          "precision %s, tol %.1e" % (args.pegr, torch.__version__, engine, args.seed, args.cases,
                                      args.precision, args.tol))
    rng = np.random.default_rng(args.seed)
    tally = Tally(args.tol)
    skipped = set()
    print("case  device     method array              max rel err")
    for k in range(args.cases):
        prob = random_problem(rng, k)
        n, P, d = prob["X"].shape
        print("# case %d: n=%d P=%d d=%d m=%d q=%g lam=%.6g"
              % (k, n, P, d, prob["W"].shape[1], prob["q"], prob["lam"]))
        check_case(k, prob, args, args.devices, skipped, tally)
    if tally.passed + tally.failed == 0:
        print("nothing checked: no device had an engine (%s)" % ", ".join(sorted(skipped)))
        print("0 passed, 0 failed")
        return 77
    if tally.passed:
        print("largest passing relative error: %.3e" % tally.worst)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
