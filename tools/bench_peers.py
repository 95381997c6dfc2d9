#!/usr/bin/env python3
"""bench_peers.py: the peers pegr is benchmarked against, measured on this machine's CPU.

What it measures (model, objectives and closed forms: docs/math.md; P = 2, q = 3 by default):

  impl functorch      what a researcher writes today with PyTorch autograd: per-example gradients by
                      functorch.vmap(functorch.grad(l_i)) (torch.func on torch >= 2), the pegr gradient by
                      differentiating L + (lam/n) sum_i ||g_i||^2 (double backward, create_graph=True), gr
                      by differentiating L + lam ||grad L||^2, gd by plain autograd of the batched loss.
  impl closed         a hand-written PyTorch closed form of docs/math.md, no autograd: Z = X W^T (one matmul,
                      X (n*P, d), W (2m, d)), the coefficient tensor C (n, P, 2m) (A, a1, a2, G_i through
                      the P x P patch Grams K_i computed once, C^H for pegr, one more GEMM pair for gr), and
                      W -= lr * C^T X (one addmm_). GEMMs through torch.mm, i.e. the BLAS torch links.
  impl closed-onednn  the same closed form with the GEMMs through oneDNN (torch's mkldnn inner product,
                      torch._C._nn.mkldnn_linear); float32 only. On a Debian torch that links the reference
                      (netlib) BLAS this is the strongest PyTorch baseline.
  impl numpy          only the GEMMs of one step, (nP x d)(d x 2m) and (2m x nP)(nP x d) (gr: twice), by
                      NumPy's BLAS, with GFLOP/s: the step's floor for that BLAS.
  impl onednn         the same GEMMs through oneDNN: the practical floor of a step on this CPU.

  methods: gd, pegr, gr, sgd (gd on a random mini-batch of --batch examples, epoch-wise reshuffle) and
  per_example (materializing all n per-example gradients (n, 2m, d); no update).

Subcommands with torch (run with Debian's python, which has torch 1.13: /usr/bin/python3):

  /usr/bin/python3 tools/bench_peers.py selftest
      closed vs functorch in float64 for every method on small problems (max rel error < 1e-10), and
      closed-onednn vs closed in float32.
  /usr/bin/python3 tools/bench_peers.py step --n 200 --d 2000 --m 20 --method pegr --impl closed [--check]
      median seconds per training step after warm-up (--repeats, --warmup, --threads, --dtype, --budget).
  /usr/bin/python3 tools/bench_peers.py train --n 200 --d 2000 --m 20 --steps 1000 --method pegr --impl closed
      a whole run on the signal-noise data (||mu|| = 2, sigma_p = 1, sigma0 = 0.01), the loss read with
      .item() every 10 steps (like pegr's log steps; sgd: the mini-batch's loss); prints the final loss,
      train and test error (--n-test 1000) and the wall time. Time it as a process:
      `time /usr/bin/python3 tools/bench_peers.py train ...` (start-up included).
  /usr/bin/python3 tools/bench_peers.py grid [--quick] [--methods ...] [--impls ...] [--json OUT]
      `step` over n in {50, 200, 1000} x d in {1000, 2000, 10000} x m in {10, 20, 64} (--quick: n in
      {50, 200}, d in {1000, 2000}, m in {10, 20}); a table on stdout, records in --json. Each
      measurement stops repeating after --budget seconds; a first step slower than that is recorded as
      skipped with its time as the estimate; configurations whose per-example tensors (n * 2m * d
      values; functorch pegr holds about 4 of them) would exceed --max-gb are skipped. The whole default
      grid takes on the order of an hour on 2 cores (the reference-BLAS cells at n = 1000, d = 10000 run
      seconds per step); --quick about 20 s.

Peers from the Python registry (no torch needed; the virtual environment of `bash tools/peers-venv.sh`):

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv-peers/bin/python tools/bench_peers.py gemm \
      [--shapes 200:2000:20,50:1000:20] [--threads 2|1,2] [--json OUT]
      the products of one step alone at the step's shapes by NumPy's OpenBLAS, float32, with GFLOP/s: span
      (2m x nP)(nP x nP), primal (2m x d)(d x nP) and (2m x nP)(nP x d): the machine's limit for a step. Prints
      the OpenBLAS kernel in use (threadpoolctl). On some processors this machine sets OPENBLAS_CORETYPE and
      OPENBLAS_L2_SIZE (older OpenBLAS builds need them), which slow a current OpenBLAS: unset them for this
      command only, as above; never in tests or CI.
  .venv-peers/bin/python tools/bench_peers.py jax ARGS...
      the JAX peer, the same as `.venv-peers/bin/python tools/jax_peer.py ARGS...` (check, step, train, sweep:
      pegr's closed form in JAX, jit + lax.scan, primal and span forms, vmap over a sweep's runs).
  tools/bench_targets.sh runs both beside pegr and prints issue 13's targets as ratios.

Environment notes, printed as `#` lines on stderr at start: torch threads (--threads, default
os.cpu_count()), the BLAS libraries loaded (Debian's libblas3 is the unoptimized reference BLAS: torch.mm
and NumPy are then both slow; oneDNN is not affected), threadpoolctl's view when it is installed, the load
average (timings on a busy machine are noisy; with a busy core, --threads 1 is often faster), and a warning
when OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE are set (they can slow OpenBLAS down). The script leaves them
alone; to run without them:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 tools/bench_peers.py ...
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

try:  # the virtual environment of tools/peers-venv.sh has no torch: only `gemm` and `jax` run there
    import torch  # noqa: E402
except ImportError:
    torch = None

if torch is not None:  # the model and its loss, written once for the tools (tools/torch_model.py)
    from torch_model import activation, example_loss, func_grad as ft_grad, func_vmap as ft_vmap, \
        margins_batched, softplus
else:
    ft_grad = ft_vmap = None

try:
    import threadpoolctl
except ImportError:
    threadpoolctl = None

METHODS = ("gd", "pegr", "gr", "sgd", "per_example")
IMPLS = ("functorch", "closed", "closed-onednn", "numpy", "onednn")
DTYPES = {"float32": torch.float32, "float64": torch.float64} if torch else {"float32": None, "float64": None}
TORCH_COMMANDS = ("step", "train", "grid", "selftest")
GRID = {"n": (50, 200, 1000), "d": (1000, 2000, 10000), "m": (10, 20, 64)}
QUICK = {"n": (50, 200), "d": (1000, 2000), "m": (10, 20)}
CHECK_TOL = 1e-10
ONEDNN_TOL = 1e-4
TINY = np.finfo(np.float64).tiny


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def signal_noise_data(n, d, P, mu_norm, seed, sigma_p=1.0):
    """X (n, P, d), y (n,) in float64: one patch y*mu (mu = mu_norm e_1) at a random position, the
    others N(0, sigma_p^2 I) with coordinate 0 zeroed (so orthogonal to mu)."""
    rng = np.random.default_rng(seed)
    y = rng.choice([-1.0, 1.0], size=n)
    X = sigma_p * rng.standard_normal((n, P, d))
    X[:, :, 0] = 0.0
    pos = rng.integers(0, P, size=n)
    X[np.arange(n), pos, :] = 0.0
    X[np.arange(n), pos, 0] = y * mu_norm
    return X, y


def initial_weights(m, d, sigma0, seed):
    """W0 (2, m, d) with i.i.d. N(0, sigma0^2) entries."""
    return sigma0 * np.random.default_rng(seed + 1).standard_normal((2, m, d))


def random_problem(n, d, m, P, seed):
    """Generic Gaussian patches and weights with pre-activations of order 1 (for the checks)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, P, d))
    y = rng.choice([-1.0, 1.0], size=n)
    W = rng.standard_normal((2, m, d)) * (0.8 / math.sqrt(d))
    return X, y, W


class Batcher:
    """Mini-batch indices for sgd: a fresh permutation every epoch."""

    def __init__(self, n, batch, seed):
        self.n, self.batch = n, min(batch, n)
        self.gen = torch.Generator().manual_seed(seed)
        self.perm, self.pos = None, n

    def next(self):
        if self.pos + self.batch > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.gen), 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx


# ---------------------------------------------------------------- shared pieces

def activation_derivs(z, q):
    """s(z) = max(z, 0)^q and its first two derivatives (s'' = 0 where z <= 0, and for q = 1)."""
    r = torch.clamp_min(z, 0.0)
    if q == 1.0:
        return r, (z > 0).to(z.dtype), torch.zeros_like(z)
    if q == 2.0:
        return r * r, 2.0 * r, 2.0 * (z > 0).to(z.dtype)
    if q == 3.0:
        r2 = r * r
        return r2 * r, 3.0 * r2, 6.0 * r
    return r ** q, q * r ** (q - 1.0), q * (q - 1.0) * r ** (q - 2.0) * (z > 0).to(z.dtype)


def check_q(method, q):
    if method in ("pegr", "gr") and 1.0 < q < 2.0:
        raise SystemExit("q in (1, 2) makes s'' blow up at 0: pegr and gr need q = 1 or q >= 2")


def per_example_bytes(n, d, m, itemsize):
    return n * 2 * m * d * itemsize


def per_example_copies(impl, method):
    """How many per-example-gradient-sized tensors this (impl, method) holds at once (0: none).
    functorch pegr keeps about 4 for the double backward (measured: peak RSS 1.6 GB at n = 1000, d = 2000,
    m = 20, float32, where one is 0.32 GB)."""
    if impl == "functorch" and method == "pegr":
        return 4
    return 1 if method == "per_example" else 0


def step_flops(method, n, d, m, P, batch):
    """Floating-point operations of the GEMMs of one step (the elementwise work is O(n m P^2))."""
    rows = min(batch, n) * P if method == "sgd" else n * P
    gemm = 2.0 * rows * d * 2 * m
    return {"gr": 4 * gemm}.get(method, 2 * gemm)


def onednn_available():
    try:
        a = torch.ones(2, 3).to_mkldnn()
        torch._C._nn.mkldnn_linear(a, a, None)
        return True
    except Exception:  # noqa: BLE001 -- any failure means "not available"
        return False


def onednn_nt(a_mk, b):
    """a @ b^T by oneDNN's inner product; a_mk an mkldnn tensor, b dense or mkldnn; a dense result."""
    if not b.is_mkldnn:
        b = b.contiguous().to_mkldnn()
    return torch._C._nn.mkldnn_linear(a_mk, b, None).to_dense()


# ---------------------------------------------------------------- (a) functorch / autograd

class Functorch:
    """Gradients by autograd and functorch, as a researcher writes them."""

    def __init__(self, X, y, W0, method, q, lam, lr, dtype, batch=10, seed=0):
        if ft_vmap is None and method in ("pegr", "per_example"):
            raise SystemExit("functorch / torch.func not available")
        self.X3 = torch.tensor(X, dtype=dtype)
        self.y = torch.tensor(y, dtype=dtype)
        self.W = torch.tensor(W0, dtype=dtype)
        self.method, self.q, self.lam, self.lr = method, q, lam, lr
        self.batcher = Batcher(len(y), batch, seed)
        self.per_example_fn = ft_vmap(ft_grad(example_loss), in_dims=(None, 0, 0, None)) \
            if ft_vmap is not None else None

    def per_example(self, W, X3, y):
        return self.per_example_fn(W, X3, y, self.q)

    def gradient(self, idx=None):
        """(gradient of the method's objective or the per-example gradients, mean loss)."""
        X3, y, method = self.X3, self.y, self.method
        if method == "sgd":
            idx = self.batcher.next() if idx is None else idx
            X3, y, method = X3[idx], y[idx], "gd"
        if method == "per_example":
            with torch.no_grad():
                return self.per_example(self.W, X3, y), None
        W = self.W.detach().requires_grad_(True)
        L = softplus(-y * margins_batched(W, X3, self.q)).mean()
        if method == "gd":
            obj = L
        elif method == "pegr":
            G = self.per_example(W, X3, y)
            obj = L + (self.lam / len(y)) * (G ** 2).sum()
        else:  # gr
            gL = torch.autograd.grad(L, W, create_graph=True)[0]
            obj = L + self.lam * (gL ** 2).sum()
        return torch.autograd.grad(obj, W)[0], L.detach()

    def step(self):
        g, loss = self.gradient()
        if self.method != "per_example":
            with torch.no_grad():
                self.W.sub_(g, alpha=self.lr)
        return loss

    def weights(self):
        return self.W.detach().double().numpy().reshape(2, -1, self.W.shape[-1])


# ---------------------------------------------------------------- (b) the closed form of docs/math.md

class Closed:
    """docs/math.md's closed form in torch tensors, no autograd. gemm: 'blas' (torch.mm) or 'onednn'."""

    def __init__(self, X, y, W0, method, q, lam, lr, dtype, batch=10, seed=0, gemm="blas"):
        n, P, d = X.shape
        self.n, self.P, self.d, self.m = n, P, d, W0.shape[1]
        self.method, self.q, self.lam, self.lr, self.gemm = method, q, lam, lr, gemm
        if gemm == "onednn" and dtype != torch.float32:
            raise SystemExit("closed-onednn runs in float32 only (oneDNN has no float64 GEMM)")
        self.X3 = torch.tensor(X, dtype=dtype)
        self.Xf = self.X3.view(n * P, d)
        self.y = torch.tensor(y, dtype=dtype)
        self.K = torch.bmm(self.X3, self.X3.transpose(1, 2))        # (n, P, P), once
        self.W = torch.tensor(W0, dtype=dtype).reshape(2 * self.m, d).contiguous()
        self.c_m = torch.cat([torch.ones(self.m), -torch.ones(self.m)]).to(dtype) / self.m
        self.batcher = Batcher(n, batch, seed)
        self.Xf_mk = self.Xf.to_mkldnn() if gemm == "onednn" else None
        self.XT_mk = self.Xf.t().contiguous().to_mkldnn() if gemm == "onednn" else None
        self.pe_buf = None

    # -- the GEMMs
    def xw(self, Xf, Xf_mk, V):
        """Xf V^T: (rows, d)(d, 2m)."""
        return torch.mm(Xf, V.t()) if Xf_mk is None else onednn_nt(Xf_mk, V)

    def ctx(self, C, Xf, XT_mk):
        """C^T Xf: (2m, rows)(rows, d)."""
        C2 = C.reshape(-1, 2 * self.m)
        return torch.mm(C2.t(), Xf) if XT_mk is None else onednn_nt(C2.t().contiguous().to_mkldnn(), XT_mk)

    def data(self, idx):
        if idx is None:
            return self.Xf, self.y, self.K, self.Xf_mk, self.XT_mk
        X3 = self.X3[idx]
        Xf = X3.reshape(-1, self.d)
        if self.gemm != "onednn":
            return Xf, self.y[idx], self.K[idx], None, None
        return Xf, self.y[idx], self.K[idx], Xf.to_mkldnn(), Xf.t().contiguous().to_mkldnn()

    # -- the coefficient tensor
    def coefficients(self, Xf, y, K, Xf_mk, XT_mk, method):
        """C (n, P, 2m) with grad = C^T X, the per-example terms, and u_i = y_i f_i."""
        n, P, c_m = y.shape[0], self.P, self.c_m
        Z = self.xw(Xf, Xf_mk, self.W).view(n, P, 2 * self.m)
        s, s1, s2 = activation_derivs(Z, self.q)
        u = y * (s * c_m).sum((1, 2))
        a1 = -torch.sigmoid(-u)
        ay = (a1 * y)[:, None, None]
        A = s1 * c_m                                              # A[i,p,k] = c_k s'(z)/m
        C = ay * A / n                                            # gd: (1/n) a1 y A
        if method == "pegr":
            a2 = (torch.sigmoid(u) * torch.sigmoid(-u))[:, None, None]
            KA = torch.bmm(K, A)                                  # sum_p' K_i[p,p'] A[i,p',k]
            G = (A * KA).sum((1, 2))[:, None, None]               # ||g_i||^2 = a1^2 G_i
            CH = a2 * ay * G * A + ay * ay * (s2 * c_m) * KA
            C = C + (2.0 * self.lam / n) * CH
        elif method == "gr":
            a2 = (torch.sigmoid(u) * torch.sigmoid(-u))[:, None, None]
            g = self.ctx(C, Xf, XT_mk)                            # the extra GEMM pair: g = C^T X,
            V = self.xw(Xf, Xf_mk, g).view(n, P, 2 * self.m)      # V = X g^T
            b = (A * V).sum((1, 2))[:, None, None]                # grad f_i . g
            Cgr = (a2 * b * A + ay * (s2 * c_m) * V) / n          # H g = sum C^gr x
            C = C + (2.0 * self.lam) * Cgr
        return C, A, ay, u

    def per_example(self, A, ay, idx=None):
        """All g_i (n, 2m, d) = a1_i y_i sum_p A[i,p,:] x_i,p, into a reused buffer."""
        X3 = self.X3 if idx is None else self.X3[idx]
        shape = (X3.shape[0], 2 * self.m, self.d)
        if self.pe_buf is None or self.pe_buf.shape != shape:
            self.pe_buf = torch.empty(shape, dtype=X3.dtype)
        torch.bmm(A.transpose(1, 2), X3, out=self.pe_buf)
        return self.pe_buf.mul_(ay)

    def gradient(self, idx=None):
        """The gradient (2m, d) (per_example: (n, 2m, d)) without updating W; for the checks."""
        with torch.no_grad():
            method = "gd" if self.method == "sgd" else self.method
            if self.method == "sgd" and idx is None:
                idx = self.batcher.next()
            Xf, y, K, Xf_mk, XT_mk = self.data(idx)
            C, A, ay, u = self.coefficients(Xf, y, K, Xf_mk, XT_mk, method)
            if method == "per_example":
                return self.per_example(A, ay, idx).clone()
            return self.ctx(C, Xf, XT_mk)

    def step(self, want_loss=False):
        """One training step, W -= lr * C^T X; returns the mean loss (before the step) when asked."""
        with torch.no_grad():
            idx = self.batcher.next() if self.method == "sgd" else None
            method = "gd" if self.method == "sgd" else self.method
            Xf, y, K, Xf_mk, XT_mk = self.data(idx)
            C, A, ay, u = self.coefficients(Xf, y, K, Xf_mk, XT_mk, method)
            if method == "per_example":
                self.per_example(A, ay)
            elif XT_mk is None:
                self.W.addmm_(C.reshape(-1, 2 * self.m).t(), Xf, alpha=-self.lr)
            else:
                self.W.sub_(self.ctx(C, Xf, XT_mk), alpha=self.lr)
            return softplus(-u).mean() if want_loss else None

    def weights(self):
        return self.W.double().numpy().reshape(2, self.m, self.d)


# ---------------------------------------------------------------- (c) the GEMMs of a step alone

class GemmOnly:
    """Only the GEMMs of one step, by NumPy's BLAS ('numpy') or oneDNN ('onednn'), buffers reused."""

    def __init__(self, n, d, m, P, method, dtype, batch, backend, seed=0):
        if backend == "onednn" and dtype != torch.float32:
            raise SystemExit("onednn runs in float32 only")
        rng = np.random.default_rng(seed)
        npd = np.float32 if dtype == torch.float32 else np.float64
        rows = min(batch, n) * P if method == "sgd" else n * P
        self.method, self.backend, self.n, self.m, self.P = method, backend, n, m, P
        self.Xf = rng.standard_normal((rows, d)).astype(npd)
        self.W = rng.standard_normal((2 * m, d)).astype(npd)
        self.C = rng.standard_normal((rows, 2 * m)).astype(npd)
        self.Z = np.empty((rows, 2 * m), npd)
        self.G = np.empty((2 * m, d), npd)
        if method == "per_example":
            self.X3 = self.Xf.reshape(n, P, d)
            self.A_T = np.ascontiguousarray(self.C.reshape(n, P, 2 * m).transpose(0, 2, 1))
            self.PE = np.empty((n, 2 * m, d), npd)
        if backend == "onednn":
            t = torch.from_numpy
            self.Xf_mk, self.XT_mk = t(self.Xf).to_mkldnn(), t(self.Xf.T.copy()).to_mkldnn()
            self.Wt, self.Ct = t(self.W), t(self.C)
            if method == "per_example":
                self.A_Tt, self.X3t, self.PEt = t(self.A_T), t(self.X3), t(self.PE)

    def step(self):
        if self.backend == "numpy":
            return self._numpy_step()
        return self._onednn_step()

    def _numpy_step(self):
        np.matmul(self.Xf, self.W.T, out=self.Z)
        if self.method == "per_example":
            np.matmul(self.A_T, self.X3, out=self.PE)
            return
        np.matmul(self.C.T, self.Xf, out=self.G)
        if self.method == "gr":
            np.matmul(self.Xf, self.G.T, out=self.Z)
            np.matmul(self.C.T, self.Xf, out=self.G)

    def _onednn_step(self):
        onednn_nt(self.Xf_mk, self.Wt)
        if self.method == "per_example":
            torch.bmm(self.A_Tt, self.X3t, out=self.PEt)
            return
        G = onednn_nt(self.Ct.t().contiguous().to_mkldnn(), self.XT_mk)
        if self.method == "gr":
            onednn_nt(self.Xf_mk, G)
            onednn_nt(self.Ct.t().contiguous().to_mkldnn(), self.XT_mk)


# ---------------------------------------------------------------- building and timing

def build(impl, method, X, y, W0, args, dtype):
    common = dict(method=method, q=args.q, lam=args.lam, lr=args.lr, dtype=dtype,
                  batch=args.batch, seed=args.seed)
    if impl == "functorch":
        return Functorch(X, y, W0, **common)
    if impl in ("closed", "closed-onednn"):
        return Closed(X, y, W0, gemm="onednn" if impl == "closed-onednn" else "blas", **common)
    raise ValueError(impl)


def time_steps(step, warmup, repeats, budget):
    """Median seconds per call after warm-up; stops repeating once `budget` seconds are spent.
    Returns (median or None, list of times, reason when skipped)."""
    t0 = time.perf_counter()
    for _ in range(max(warmup, 1)):
        s = time.perf_counter()
        step()
        first = time.perf_counter() - s
        if first > budget:
            return None, [first], "skipped: too slow (one step %.3g s > budget %g s)" % (first, budget)
    times = []
    for _ in range(repeats):
        s = time.perf_counter()
        step()
        times.append(time.perf_counter() - s)
        if time.perf_counter() - t0 > budget:
            break
    return statistics.median(times), times, None


def measure(impl, method, n, d, m, P, args, data_cache=None):
    """One grid cell: a record dict (seconds_per_step, or status 'skipped: ...')."""
    dtype = DTYPES[args.dtype]
    itemsize = 4 if args.dtype == "float32" else 8
    rec = {"impl": impl, "method": method, "n": n, "d": d, "m": m, "P": P, "dtype": args.dtype,
           "threads": torch.get_num_threads(), "batch": args.batch if method == "sgd" else None,
           "seconds_per_step": None, "gflops": None, "repeats": 0, "status": "ok"}
    pe_gb = per_example_bytes(n, d, m, itemsize) / 1e9 * per_example_copies(impl, method)
    if pe_gb > args.max_gb:
        rec["status"] = "skipped: too big (per-example tensors %.2f GB > --max-gb %g)" % (pe_gb, args.max_gb)
        return rec
    if impl in ("closed-onednn", "onednn") and (dtype != torch.float32 or not onednn_available()):
        rec["status"] = "skipped: oneDNN needs float32 and torch built with mkldnn"
        return rec
    if impl in ("numpy", "onednn"):
        runner = GemmOnly(n, d, m, P, method, dtype, args.batch, impl, args.seed)
        step = runner.step
    else:
        X, y = data_cache if data_cache is not None else signal_noise_data(n, d, P, args.mu_norm, args.seed)
        W0 = initial_weights(m, d, args.sigma0, args.seed)
        runner = build(impl, method, X, y, W0, args, dtype)
        step = runner.step
    med, times, skipped = time_steps(step, args.warmup, args.repeats, args.budget)
    rec["repeats"] = len(times)
    if skipped:
        rec["status"], rec["estimate_seconds_per_step"] = skipped, times[0]
        return rec
    rec["seconds_per_step"] = med
    if impl != "functorch" and method != "per_example":
        rec["gflops"] = step_flops(method, n, d, m, P, args.batch) / med / 1e9
    return rec


# ---------------------------------------------------------------- checking closed against functorch

def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.all(np.isfinite(a)):
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), TINY))


def check_case(method, X, y, W, q, lam=0.3, lr=0.1, batch=3, dtype=None, gemm="blas"):
    """Rel. errors of closed's gradient and one closed step against functorch (or closed-blas); float64 unless
    dtype says otherwise."""
    dtype = torch.float64 if dtype is None else dtype
    n, P, d = X.shape
    m = W.shape[1]
    ref = Functorch(X, y, W, method, q, lam, lr, dtype, batch) if gemm == "blas" else \
        Closed(X, y, W, method, q, lam, lr, dtype, batch)
    cf = Closed(X, y, W, method, q, lam, lr, dtype, batch, gemm=gemm)
    idx = torch.arange(min(batch, n)).flip(0) if method == "sgd" else None
    g_ref = ref.gradient(idx)
    g_ref = (g_ref[0] if isinstance(g_ref, tuple) else g_ref).detach().double().numpy()
    g_cf = cf.gradient(idx).double().numpy()
    shape = (n, 2 * m, d) if method == "per_example" else (2 * m, d)
    err_grad = rel_err(g_cf.reshape(shape), g_ref.reshape(shape))
    if method == "per_example":
        return err_grad, 0.0
    cf.batcher = Batcher(n, batch, 0)
    idx = cf.batcher.next() if method == "sgd" else None
    cf.batcher = Batcher(n, batch, 0)
    g_step = ref.gradient(idx)
    g_step = (g_step[0] if isinstance(g_step, tuple) else g_step).detach().double().numpy()
    cf.step()
    W_ref = W.reshape(2 * m, d) - lr * g_step.reshape(2 * m, d)
    err_step = rel_err(cf.weights().reshape(2 * m, d) - W.reshape(2 * m, d), W_ref - W.reshape(2 * m, d))
    return err_grad, err_step


SELFTEST_SHAPES = [  # (n, d, m, P, q)
    (5, 7, 3, 2, 3.0), (4, 11, 2, 3, 2.0), (6, 13, 4, 1, 1.0), (3, 9, 2, 2, 4.5), (12, 40, 5, 2, 3.0),
]


def selftest(args):
    failures = 0
    print("%-12s %-22s %-10s %12s %12s" % ("method", "n,d,m,P,q", "vs", "grad err", "step err"))
    for method in METHODS:
        for k, (n, d, m, P, q) in enumerate(SELFTEST_SHAPES):
            X, y, W = random_problem(n, d, m, P, seed=100 + k)
            failures += report_check(method, (n, d, m, P, q), "functorch", check_case(method, X, y, W, q),
                                     CHECK_TOL)
        # the real data at a modest size, W scaled up so that the second-order terms matter
        X, y = signal_noise_data(30, 60, 2, 2.0, seed=7)
        W = initial_weights(4, 60, 0.15, seed=7)
        failures += report_check(method, (30, 60, 4, 2, 3.0), "functorch", check_case(method, X, y, W, 3.0),
                                 CHECK_TOL)
        if onednn_available():
            X, y, W = random_problem(20, 300, 6, 2, seed=55)
            errs = check_case(method, X, y, W, 3.0, dtype=torch.float32, gemm="onednn")
            failures += report_check(method, (20, 300, 6, 2, 3.0), "closed(f32)", errs, ONEDNN_TOL,
                                     label="closed-onednn")
    print("selftest: %s" % ("FAILED (%d)" % failures if failures else "passed"))
    return 1 if failures else 0


def report_check(method, shape, vs, errs, tol, label="closed"):
    ok = max(errs) < tol
    print("%-12s %-22s %-10s %12.2e %12.2e  %s%s" % (method, ",".join("%g" % v for v in shape), vs,
                                                    errs[0], errs[1], "ok" if ok else "FAIL",
                                                    "" if label == "closed" else " (" + label + ")"))
    return 0 if ok else 1


def check_at_size(method, n, d, m, P, args):
    """--check: closed vs functorch in float64 on this problem's data (n shrunk to keep the per-example tensor under 0.5 GB)."""
    n_chk = max(1, min(n, int(5e8 // per_example_bytes(1, d, m, 8))))
    X, y = signal_noise_data(n_chk, d, P, args.mu_norm, args.seed)
    W = initial_weights(m, d, 0.8 / math.sqrt(d), args.seed)
    errs = check_case(method, X, y, W, args.q, lam=args.lam, lr=args.lr, batch=args.batch)
    ok = max(errs) < CHECK_TOL
    log("check %s n=%d d=%d m=%d P=%d float64: closed vs functorch grad %.2e step %.2e: %s"
        % (method, n_chk, d, m, P, errs[0], errs[1], "ok" if ok else "FAILED"))
    return ok


# ---------------------------------------------------------------- environment report

def blas_libraries():
    """Shared libraries of this process that do BLAS or threading work."""
    keys = ("blas", "lapack", "mkl", "blis", "gomp", "iomp", "dnnl", "flexiblas")
    libs = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1]
                if "/" in path and any(k in os.path.basename(path).lower() for k in keys):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def describe_environment(threads):
    log("torch %s, numpy %s, functorch %s, threads %d (os.cpu_count %s), load average %s"
        % (torch.__version__ if torch else "not installed", np.__version__, "yes" if ft_vmap is not None else "no", threads,
           os.cpu_count(), "%.2f %.2f %.2f" % os.getloadavg()))
    libs = blas_libraries()
    log("libraries: " + (", ".join(libs) if libs else "unknown"))
    if any("/blas/libblas.so" in p for p in libs) and not any("openblas" in p or "blis" in p for p in libs):
        log("WARNING: the BLAS is Debian's reference (netlib) libblas3, unoptimized and single-threaded: "
            "torch.mm and NumPy GEMMs run at a few GFLOP/s; oneDNN (closed-onednn, onednn) is not affected")
    if threadpoolctl is not None:
        for info in threadpoolctl.threadpool_info():
            log("threadpoolctl: %s %s threads=%s %s" % (info.get("internal_api"), info.get("version"),
                                                      info.get("num_threads"), info.get("filepath")))
    else:
        log("threadpoolctl not installed: NumPy's BLAS threads are not controlled by --threads")
    found = ["%s=%s" % (v, os.environ[v]) for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if found:
        log("WARNING: %s set; they can slow OpenBLAS down%s. To run without them: env -u OPENBLAS_CORETYPE "
            "-u OPENBLAS_L2_SIZE %s %s ..."
            % (" and ".join(found), "" if any("openblas" in p for p in libs) else
               " (no OpenBLAS is loaded in this process, so here they have no effect)", sys.executable, sys.argv[0]))


def set_threads(threads):
    threads = threads or os.cpu_count() or 1
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


# ---------------------------------------------------------------- subcommands

GEMM_OPS = (  # (name, what it is, its operands' shapes from (2m, nP, d)); flops = 2 * rows * inner * cols
    ("span", "Gam S: span step", lambda k2, nP, d: ((k2, nP), (nP, nP))),
    ("primal_xw", "W Xf^T: primal step, 1 of 2", lambda k2, nP, d: ((k2, d), (d, nP))),
    ("primal_ctx", "C Xf: primal step, 2 of 2", lambda k2, nP, d: ((k2, nP), (nP, d))),
)


def time_op(fn, repeats, min_seconds=0.005):
    """(median, minimum) seconds of one call over `repeats` samples, each long enough to time (>= min_seconds)."""
    fn()
    t = time.perf_counter()
    fn()
    inner = max(1, int(min_seconds / max(time.perf_counter() - t, 1e-7)))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner)
    return statistics.median(samples), min(samples)


def time_cuda_matmul(a, b, repeats, inner=200):
    """(median, minimum) seconds of one cuBLAS product a b (PyTorch on the first CUDA device, strict fp32: TF32
    off, as pegr's kernels compute), each sample `inner` products between two CUDA events: the GPU's limit for
    the product, launch gaps amortized as pegr's queued launches are."""
    if torch is None or not torch.cuda.is_available():
        raise SystemExit("--backend torch-cuda: PyTorch with a CUDA device is needed")
    torch.backends.cuda.matmul.allow_tf32 = False
    ta = torch.from_numpy(np.ascontiguousarray(a)).cuda()
    if b.flags["C_CONTIGUOUS"]:
        tb = torch.from_numpy(b).cuda()
    else:  # a transposed view (W Xf^T) stays a transposed operand on the GPU, as in pegr's NT product
        tb = torch.from_numpy(np.ascontiguousarray(b.T)).cuda().t()
    out = torch.empty((a.shape[0], b.shape[1]), dtype=torch.float32, device="cuda")
    for _ in range(20):
        torch.matmul(ta, tb, out=out)
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            torch.matmul(ta, tb, out=out)
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1e3 / inner)
    return statistics.median(samples), min(samples)


def cmd_gemm(args):
    """The products of one step at the step's own shapes by NumPy's BLAS (OpenBLAS in the registry's wheel),
    float32, in the layouts pegr uses (NT for W Xf^T, the rows of C for C Xf): the machine's limit for a step.
    With --threads 1,2 each count is timed and records carry it (the limit is then the better of the two)."""
    try:
        thread_counts = [int(v) for v in str(args.threads).split(",")]
    except ValueError:
        raise SystemExit("--threads: '%s' is not a count or a list of counts (e.g. 2 or 1,2)" % args.threads)
    if threadpoolctl is None and thread_counts != [0]:
        log("WARNING: threadpoolctl not installed: the BLAS runs with its own thread count, not --threads")
    records = []
    print("%-12s %3s %-10s %-28s %-22s %10s %8s %10s"
          % ("n:d:m", "thr", "op", "what", "shapes", "ms", "GFLOP/s", "min ms"))
    for threads in thread_counts:
        limiter = None
        if threadpoolctl is not None:
            limiter = threadpoolctl.threadpool_limits(limits=threads or os.cpu_count(), user_api="blas")
            for info in threadpoolctl.threadpool_info():
                if info.get("user_api") == "blas":
                    log("BLAS in use: %s %s, kernel %s, threading %s, %s threads"
                        % (info.get("internal_api"), info.get("version"), info.get("architecture"),
                           info.get("threading_layer"), info.get("num_threads")))
        records += gemm_shapes(args, threads)
        if limiter is not None:
            limiter.restore_original_limits()
    if args.json:
        write_json(args.json, records)
    return 0


def gemm_shapes(args, threads):
    """cmd_gemm's records for every shape at one thread count."""
    rng = np.random.default_rng(args.seed)
    records = []

    def record(part, n, d, m, name, what, shapes, sec, best, gflop):
        records.append({"impl": args.backend, "threads": threads, "n": n, "d": d, "m": m, "P": args.P, "op": name,
                        "seconds": sec, "seconds_min": best, "gflop": gflop, "gflops": gflop / sec})
        print("%-12s %3d %-10s %-28s %-22s %10.4f %8.1f %10.4f"
              % (part, threads, name, what, shapes, 1e3 * sec, gflop / sec, 1e3 * best), flush=True)

    for part in args.shapes.split(","):
        try:
            n, d, m = (int(v) for v in part.split(":"))
        except ValueError:
            raise SystemExit("--shapes: '%s' is not N:D:M (e.g. 200:2000:20)" % part)
        k2, nP = 2 * m, n * args.P
        per_op = {}
        for name, what, shapes in GEMM_OPS:
            (r, k), (_, c) = shapes(k2, nP, d)
            # Operands laid out as pegr's: W (2m, d) and Xf (nP, d) row-major, so W Xf^T reads Xf transposed.
            if name == "primal_xw":
                a, b = rng.standard_normal((r, k), np.float32), rng.standard_normal((c, k), np.float32).T
            else:
                a, b = rng.standard_normal((r, k), np.float32), rng.standard_normal((k, c), np.float32)
            if args.backend == "torch-cuda":
                sec, best = time_cuda_matmul(a, b, args.repeats)
            else:
                out = np.empty((r, c), np.float32)
                sec, best = time_op(lambda: np.matmul(a, b, out=out), args.repeats)
            per_op[name] = (sec, best, 2.0 * r * k * c / 1e9)
            record(part, n, d, m, name, what, "(%dx%d)(%dx%d)" % (r, k, k, c), *per_op[name])
        record(part, n, d, m, "primal", "both GEMMs of a primal step", "",
               *(per_op["primal_xw"][i] + per_op["primal_ctx"][i] for i in range(3)))
    return records


def cmd_step(args):
    if args.check and args.impl != "numpy" and args.method in METHODS:
        if not check_at_size(args.method, args.n, args.d, args.m, args.P, args):
            return 1
    rec = measure(args.impl, args.method, args.n, args.d, args.m, args.P, args)
    print_table([rec])
    if args.json:
        write_json(args.json, [rec])
    return 0


def cmd_train(args):
    dtype = DTYPES[args.dtype]
    X, y = signal_noise_data(args.n, args.d, args.P, args.mu_norm, args.seed)
    X_test, y_test = signal_noise_data(args.n_test, args.d, args.P, args.mu_norm, args.seed + 1000)
    W0 = initial_weights(args.m, args.d, args.sigma0, args.seed)
    runner = build(args.impl, args.method, X, y, W0, args, dtype)
    t0 = time.perf_counter()
    loss, diverged_at = float("nan"), None
    for t in range(args.steps):
        want = t % args.log_every == 0 or t == args.steps - 1
        out = runner.step(want_loss=want) if isinstance(runner, Closed) else runner.step()
        if want:
            loss = out.item()
            if args.verbose:
                log("step %d loss %.6g" % (t, loss))
            if not math.isfinite(loss):
                diverged_at = t
                break
    loop = time.perf_counter() - t0
    W = runner.weights()
    print("impl %s method %s n %d d %d m %d steps %d dtype %s threads %d: loss %.6g train_err %.3f "
          "test_err %.3f%s" % (args.impl, args.method, args.n, args.d, args.m, args.steps, args.dtype,
                               torch.get_num_threads(), loss, error_rate(W, X, y, args.q),
                               error_rate(W, X_test, y_test, args.q),
                               "  DIVERGED at step %d" % diverged_at if diverged_at is not None else ""))
    print("train loop %.3f s (%.3f ms/step), whole process so far %.3f s"
          % (loop, 1e3 * loop / max(args.steps, 1), time.perf_counter() - T_START))
    return 3 if diverged_at is not None else 0


def error_rate(W, X, y, q):
    """Fraction with y f <= 0, in float64 numpy (impl-independent)."""
    n, P, d = X.shape
    m = W.shape[1]
    s = np.maximum(X.reshape(n * P, d) @ W.reshape(2 * m, d).T, 0.0).reshape(n, P, 2, m) ** q
    f = (s[:, :, 0].sum((1, 2)) - s[:, :, 1].sum((1, 2))) / m
    return float(np.mean(y * f <= 0))


def cmd_grid(args):
    sizes = QUICK if args.quick else GRID
    methods = [s for s in args.methods.split(",") if s]
    impls = [s for s in args.impls.split(",") if s]
    for name in methods + impls:
        if name not in METHODS + IMPLS:
            raise SystemExit("unknown method or impl: %s" % name)
    records = []
    for n in sizes["n"]:
        for d in sizes["d"]:
            data = signal_noise_data(n, d, args.P, args.mu_norm, args.seed)
            for m in sizes["m"]:
                for method in methods:
                    if args.check and not check_at_size(method, n, d, m, args.P, args):
                        return 1
                    for impl in impls:
                        rec = measure(impl, method, n, d, m, args.P, args, data_cache=data)
                        records.append(rec)
                        print_table([rec], header=len(records) == 1)
                        gc.collect()
            del data
    if args.json:
        write_json(args.json, records)
    return 0


def print_table(records, header=True):
    if header:
        print("%-14s %-12s %5s %6s %4s %2s %-8s %3s %14s %8s  %s"
              % ("impl", "method", "n", "d", "m", "P", "dtype", "thr", "s/step", "GFLOP/s", "status"))
    for r in records:
        sec = "%.6g" % r["seconds_per_step"] if r["seconds_per_step"] is not None else "-"
        gf = "%.1f" % r["gflops"] if r["gflops"] is not None else "-"
        status = r["status"]
        if "estimate_seconds_per_step" in r:
            status += ", estimate %.3g s/step" % r["estimate_seconds_per_step"]
        print("%-14s %-12s %5d %6d %4d %2d %-8s %3d %14s %8s  %s"
              % (r["impl"], r["method"], r["n"], r["d"], r["m"], r["P"], r["dtype"], r["threads"],
                 sec, gf, status), flush=True)


def write_json(path, records):
    with open(path, "w") as fh:
        json.dump(records, fh, indent=1)
    log("wrote %d records to %s" % (len(records), path))


# ---------------------------------------------------------------- command line

def add_common(p, n=200, d=2000, m=20):
    p.add_argument("--n", type=int, default=n)
    p.add_argument("--d", type=int, default=d)
    p.add_argument("--m", type=int, default=m)
    p.add_argument("--P", type=int, default=2)
    p.add_argument("--q", type=float, default=3.0)
    p.add_argument("--lam", type=float, default=0.01)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=10, help="sgd mini-batch size")
    p.add_argument("--mu-norm", type=float, default=2.0)
    p.add_argument("--sigma0", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default os.cpu_count())")


def add_timing(p):
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--budget", type=float, default=20.0, help="seconds per measurement before stopping")
    p.add_argument("--max-gb", type=float, default=4.0, help="skip when the per-example tensors are bigger")
    p.add_argument("--check", action="store_true", help="first check closed vs functorch in float64")
    p.add_argument("--json", help="write the records to this file")


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("step", help="median seconds per training step")
    add_common(p)
    add_timing(p)
    p.add_argument("--method", choices=METHODS, default="pegr")
    p.add_argument("--impl", choices=IMPLS, default="closed")
    p = sub.add_parser("train", help="a whole training run on the signal-noise data")
    add_common(p)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--method", choices=("gd", "pegr", "gr", "sgd"), default="pegr")
    p.add_argument("--impl", choices=("closed", "closed-onednn", "functorch"), default="closed")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--verbose", action="store_true", help="print the loss at every log step")
    p = sub.add_parser("grid", help="step over the size grid")
    add_common(p)
    add_timing(p)
    p.add_argument("--quick", action="store_true", help="the 2x2x2 subset")
    p.add_argument("--sizes", default="default", choices=("default",))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--impls", default=",".join(IMPLS))
    p = sub.add_parser("selftest", help="closed vs functorch in float64, every method")
    p.add_argument("--threads", type=int, default=0)
    p = sub.add_parser("gemm", help="a step's GEMMs alone by NumPy's BLAS: the machine's limit")
    p.add_argument("--shapes", default="200:2000:20,50:1000:20", help="N:D:M,...")
    p.add_argument("--P", type=int, default=2)
    p.add_argument("--threads", default="2", help="BLAS threads (threadpoolctl), or a list: 1,2 [default: 2]")
    p.add_argument("--repeats", type=int, default=21, help="timed samples of >= 5 ms each (median and minimum)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("numpy", "torch-cuda"), default="numpy",
                   help="numpy: the CPU's BLAS; torch-cuda: cuBLAS on the first CUDA GPU, TF32 off [default: numpy]")
    p.add_argument("--json", help="write the records to this file")
    sub.add_parser("jax", help="the JAX peer: bench_peers.py jax ARGS = tools/jax_peer.py ARGS", add_help=False)
    return ap.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["jax"]:  # its own options and --help: tools/jax_peer.py, beside this file
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import jax_peer
        return jax_peer.main(argv[1:])
    args = parse(argv)
    if torch is None and args.cmd in TORCH_COMMANDS:
        raise SystemExit("bench_peers.py %s needs torch (Debian's /usr/bin/python3 has torch 1.13); this Python "
                         "(%s) has none: here only the gemm and jax commands run" % (args.cmd, sys.executable))
    threads = set_threads(0 if args.cmd == "gemm" else args.threads)  # gemm sets the BLAS's threads itself
    if args.cmd not in ("selftest", "gemm"):
        check_q(getattr(args, "method", "gd"), args.q)
    describe_environment(threads)
    return {"step": cmd_step, "train": cmd_train, "grid": cmd_grid, "selftest": selftest,
            "gemm": cmd_gemm}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
