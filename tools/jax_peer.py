#!/usr/bin/env python3
"""jax_peer.py: pegr's model and closed-form gradients in JAX (jit, lax.scan, vmap): the peer pegr is timed against.

The same model, objectives and closed form as pegr (docs/math.md), float32 unless --check asks for float64:
  f(W, x) = (1/m) sum_r sum_p [s(<W[0,r], x_p>) - s(<W[1,r], x_p>)],  s(z) = max(z, 0)^q,
  l_i = log(1 + exp(-y_i f_i)),  gd: L = mean l_i,  pegr: L + (lam/n) sum_i ||g_i||^2.
W is kept as (2m, d) (rows 0..m-1 the +1 class), the patches as Xf (nP, d). A step is
  primal:  Z = W Xf^T (2m x nP),  C = coefficients(Z),  W -= lr C Xf
  span:    Z = Z0 + Gam S (S = Xf Xf^T, Z0 = W0 Xf^T, once),  C = coefficients(Z),  Gam -= lr C
with C the coefficient tensor of docs/math.md (gd: a1 y A / n; pegr adds (2 lam / n) C^H through the P x P patch
Grams K_i). No autograd in the timed code: jax.grad serves only as --check's independent reference.

Subcommands (run with the virtual environment of tools/peers-venv.sh: .venv-peers/bin/python):
  check   JAX's gradients against `pegr grad --device host` (fp64 host reference) on the same X, y (from
          `pegr data`) and W: the fp32 closed form to --tol (1e-5 relative), the fp64 closed form and fp64
          autograd (vmap(grad) per example, grad of the penalized objective) to 1e-10; span and primal steps
          agree in fp64. Exit 1 on a failure.
  step    median seconds per step (K steps in one jit'd lax.scan, after compiling) for --shapes N:D:M,...,
          --forms primal,span and --methods gd,pegr; a table, --json records.
  train   one training run at pegr train's demo configuration (flags as pegr's): data drawn in JAX, loss,
          train and test error at every --log-every step (as pegr logs them), no robustness test. Time it
          as a process: `time .venv-peers/bin/python tools/jax_peer.py train`.
  sweep   the runs of a pegr sweep (--n-list x --mu-list x --methods x --seeds), vmap over the runs that share
          a shape (one (n, method) at a time), lax.scan over the steps; prints runs/s.
Data are the signal-noise model of docs/math.md drawn with jax.random (not pegr's Philox streams: same
distribution, different numbers). XLA uses all cores of the machine; --cache DIR turns on JAX's persistent
compilation cache (a warm cache takes compilation out of a repeated process's time, as pegr's kernel cache does).
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the model and its closed form (docs/math.md)

def activation(z, q):
    """s(z) = max(z, 0)^q and its first two derivatives (products for q = 1, 2, 3, as pegr's kernels)."""
    r = jnp.maximum(z, 0)
    pos = (z > 0).astype(z.dtype)
    if q == 1.0:
        return r, pos, jnp.zeros_like(z)
    if q == 2.0:
        return r * r, 2 * r, 2 * pos
    if q == 3.0:
        r2 = r * r
        return r2 * r, 3 * r2, 6 * r
    return r ** q, q * r ** (q - 1), q * (q - 1) * jnp.where(z > 0, r, 1) ** (q - 2) * pos


def class_signs(m, dtype):
    """c_k / m as (2m, 1, 1): +1/m for the first m filters, -1/m for the others."""
    return (jnp.concatenate([jnp.ones(m, dtype), -jnp.ones(m, dtype)]) / m)[:, None, None]


def margins(Zt, n, q):
    """f_i from the pre-activations Zt (2m, nP)."""
    Z = Zt.reshape(Zt.shape[0], n, -1)
    return jnp.sum(class_signs(Zt.shape[0] // 2, Zt.dtype) * activation(Z, q)[0], axis=(0, 2))


def coefficients(Zt, y, K, method, q, lam):
    """C (2m, nP) with gradient = C Xf, and u_i = y_i f_i. K (n, P, P): the patch Grams K_i."""
    k2, nP = Zt.shape
    n = y.shape[0]
    Z = Zt.reshape(k2, n, nP // n)
    c = class_signs(k2 // 2, Zt.dtype)
    s, s1, s2 = activation(Z, q)
    u = y * jnp.sum(c * s, axis=(0, 2))
    ay = -jax.nn.sigmoid(-u) * y                              # a1_i y_i
    A = c * s1                                                # A[k,i,p] = c_k s'(z) / m
    C = ay[None, :, None] * A / n                             # gd
    if method == "pegr":
        a2 = jax.nn.sigmoid(u) * jax.nn.sigmoid(-u)
        KA = jnp.einsum("ipq,kiq->kip", K, A)                 # sum_p' K_i[p,p'] A[k,i,p']
        G = jnp.sum(A * KA, axis=(0, 2))                      # ||g_i||^2 = a1_i^2 G_i
        CH = (a2 * ay * G)[None, :, None] * A + (ay * ay)[None, :, None] * (c * s2) * KA
        C = C + (2 * lam / n) * CH
    return C.reshape(k2, nP), u


def primal_step(W, pb, cfg):
    C, u = coefficients(W @ pb["Xf"].T, pb["y"], pb["K"], *cfg[:3])
    return W - cfg[3] * (C @ pb["Xf"]), u


def span_step(Gam, pb, cfg):
    C, u = coefficients(pb["Z0"] + Gam @ pb["S"], pb["y"], pb["K"], *cfg[:3])
    return Gam - cfg[3] * C, u


STEPS = {"primal": primal_step, "span": span_step}


def prepare(form, X, y, W0, Xt=None, yt=None):
    """The constants of a form: Xf and K always; S, Z0 (and the test cross Gram) for span."""
    n, P, d = X.shape
    Xf = X.reshape(n * P, d)
    pb = {"Xf": Xf, "y": y, "K": jnp.einsum("ipd,iqd->ipq", X, X), "W0": W0}
    if Xt is not None:
        pb["Xtf"], pb["yt"] = Xt.reshape(-1, d), yt
    if form == "span":
        pb["S"], pb["Z0"] = Xf @ Xf.T, W0 @ Xf.T
        if Xt is not None:
            pb["cross"], pb["Z0t"] = Xf @ pb["Xtf"].T, W0 @ pb["Xtf"].T
    return pb


def initial_state(form, pb):
    return pb["W0"] if form == "primal" else jnp.zeros_like(pb["Z0"])


def metrics(form, state, pb, q):
    """(train loss, train error, test error) at the current state, from Gram products in the span form."""
    n, nt = pb["y"].shape[0], pb["yt"].shape[0]
    if form == "primal":
        Z, Zt = state @ pb["Xf"].T, state @ pb["Xtf"].T
    else:
        Z, Zt = pb["Z0"] + state @ pb["S"], pb["Z0t"] + state @ pb["cross"]
    u = pb["y"] * margins(Z, n, q)
    ut = pb["yt"] * margins(Zt, nt, q)
    return jnp.stack([jnp.mean(jnp.logaddexp(0, -u)), jnp.mean(u <= 0), jnp.mean(ut <= 0)])


def run_steps(form, cfg, steps, state, pb):
    """`steps` steps in one lax.scan (nothing read back in between)."""
    step = STEPS[form]
    return lax.scan(lambda s, _: (step(s, pb, cfg)[0], None), state, None, length=steps)[0]


def train(form, cfg, steps, log_every, pb):
    """A whole run: metrics at step 0, every log_every steps and at the end (pegr's log steps)."""
    q = cfg[1]
    state = initial_state(form, pb)
    first = metrics(form, state, pb, q)

    def chunk(s, _):
        s = run_steps(form, cfg, log_every, s, pb)
        return s, metrics(form, s, pb, q)

    state, logs = lax.scan(chunk, state, None, length=steps // log_every)
    rest = steps % log_every
    if rest:
        state = run_steps(form, cfg, rest, state, pb)
        logs = jnp.concatenate([logs, metrics(form, state, pb, q)[None]])
    return state, jnp.concatenate([first[None], logs])


# ---------------------------------------------------------------- data (docs/math.md's signal-noise model, jax.random)

def data_size(n, d, P):
    return n * (1 + P + P * d)


def make_data(G, n, d, P, mu_norm, sigma_p=1.0, dtype=jnp.float32):
    """X (n, P, d), y (n,) from data_size() standard normal values G: one patch y mu (mu = mu_norm e_1) at a
    random position, the others N(0, sigma_p^2) with coordinate 0 zeroed (noise orthogonal to mu)."""
    # The label is the sign of column 0, the signal's position the argmax of the next P columns (uniform over
    # the patches), the rest is the noise: one Gaussian draw for a whole problem (make_problem), because each
    # random op (normal, bernoulli, randint) costs XLA about a second of compiling on this CPU, and a sweep
    # compiles one program per shape.
    G = G.reshape(n, 1 + P + P * d).astype(dtype)
    y = jnp.where(G[:, 0] > 0, 1, -1).astype(dtype)
    signal = (jnp.arange(P)[None, :] == jnp.argmax(G[:, 1:1 + P], axis=1)[:, None])[:, :, None]
    e1 = (jnp.arange(d) == 0).astype(dtype)
    X = sigma_p * G[:, 1 + P:].reshape(n, P, d) * (1 - e1)
    return jnp.where(signal, (y * mu_norm)[:, None, None] * e1, X), y


def make_problem(form, key, n, n_test, d, P, m, mu_norm, sigma0, sigma_p=1.0):
    """Training and test data and W0 (2m, d) ~ N(0, sigma0^2) from one key, prepared for the form."""
    a, b = data_size(n, d, P), data_size(n_test, d, P)
    G = jax.random.normal(key, (a + b + 2 * m * d,), jnp.float32)
    X, y = make_data(G[:a], n, d, P, mu_norm, sigma_p)
    Xt, yt = make_data(G[a:a + b], n_test, d, P, mu_norm, sigma_p)
    return prepare(form, X, y, sigma0 * G[a + b:].reshape(2 * m, d), Xt, yt)


def prefers_span(n, n_test, d, P, m, steps, log_every):
    """pegr's `--representation auto` (src/train/train.c pegr_train_prefers_span): the form with fewer GEMM flops."""
    nP, ntP, cols = n * P, n_test * P, 2.0 * m
    logs = steps / log_every + 1
    primal = steps * 2 * nP * cols * d + logs * ntP * cols * d
    span = nP * nP * d + ntP * nP * d + steps * nP * nP * cols + logs * ntP * nP * cols
    return span < primal


def pick_form(args, n):
    if args.form != "auto":
        return args.form
    return "span" if prefers_span(n, args.n_test, args.d, args.P, args.m, args.steps, args.log_every) else "primal"


# ---------------------------------------------------------------- subcommands

def cmd_train(args):
    form = pick_form(args, args.n)
    cfg = (args.method, args.q, args.lam, args.lr)
    t0 = time.perf_counter()
    run = jax.jit(lambda: train(form, cfg, args.steps, args.log_every, make_problem(
        form, jax.random.PRNGKey(args.seed), args.n, max(args.n_test, 1), args.d, args.P, args.m, args.mu_norm,
        args.sigma0)))
    compiled = run.lower().compile()
    t1 = time.perf_counter()
    state, logs = compiled()
    logs = np.asarray(logs)
    t2 = time.perf_counter()
    loss, train_err, test_err = logs[-1]
    print("jax %s form %s n %d d %d m %d steps %d: loss %.6g train_err %.3f test_err %.3f%s"
          % (args.method, form, args.n, args.d, args.m, args.steps, loss, train_err, test_err,
             "  DIVERGED" if not np.isfinite(loss) else ""))
    print("compile %.3f s, run %.3f s (%.3f ms/step, %d log steps), whole process %.3f s"
          % (t1 - t0, t2 - t1, 1e3 * (t2 - t1) / max(args.steps, 1), len(logs), time.perf_counter() - T_START))
    return 0


def parse_shapes(text):
    shapes = []
    for part in text.split(","):
        try:
            n, d, m = (int(v) for v in part.split(":"))
        except ValueError:
            raise SystemExit("--shapes: '%s' is not N:D:M (e.g. 200:2000:20)" % part)
        shapes.append((n, d, m))
    return shapes


def time_call(fn, repeats):
    fn()  # compile + warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cmd_step(args):
    records = []
    print("%-6s %-7s %5s %6s %4s %12s %8s" % ("method", "form", "n", "d", "m", "ms/step", "GFLOP/s"))
    for n, d, m in parse_shapes(args.shapes):
        for form in args.forms.split(","):
            for method in args.methods.split(","):
                cfg = (method, args.q, args.lam, args.lr)
                pb = jax.jit(lambda: make_problem(form, jax.random.PRNGKey(args.seed), n, 1, d, args.P, m,
                                                  args.mu_norm, args.sigma0))()
                state = initial_state(form, pb)
                fn = jax.jit(functools.partial(run_steps, form, cfg, args.steps))
                sec = time_call(lambda: fn(state, pb).block_until_ready(), args.repeats) / args.steps
                nP = n * args.P
                gflop = (2 * 2 * nP * d * 2 * m if form == "primal" else 2 * 2 * m * nP * nP) / 1e9
                rec = {"impl": "jax", "method": method, "representation": form, "n": n, "d": d, "m": m,
                       "P": args.P, "seconds_per_step": sec, "gflop_per_step": gflop, "gflops": gflop / sec,
                       "steps_per_call": args.steps, "repeats": args.repeats}
                records.append(rec)
                print("%-6s %-7s %5d %6d %4d %12.4f %8.1f" % (method, form, n, d, m, 1e3 * sec, gflop / sec),
                      flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"jax": jax.__version__, "devices": [str(x) for x in jax.devices()],
                       "records": records}, fh, indent=1)
    return 0


def parse_list(text, conv=float):
    """A,B,C or FROM:TO:STEP (inclusive, as pegr sweep's --grid)."""
    if ":" in text:
        a, b, s = (conv(v) for v in text.split(":"))
        out, v = [], a
        while v <= b + 1e-9 * abs(s):
            out.append(v)
            v += s
        return out
    return [conv(v) for v in text.split(",")]


def parse_seeds(text):
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(v) for v in text.split(",")]


def cmd_sweep(args):
    ns, mus, seeds = parse_list(args.n_list, int), parse_list(args.mu_list), parse_seeds(args.seeds)
    methods = args.methods.split(",")
    total, t_compute, done = 0, 0.0, []
    for n in ns:
        form = pick_form(args, n)
        runs = [(mu, s) for mu in mus for s in seeds]
        mu_arr = jnp.array([r[0] for r in runs], jnp.float32)
        seed_arr = jnp.array([r[1] for r in runs], jnp.uint32)
        for method in methods:
            cfg = (method, args.q, args.lam, args.lr)

            def one(mu, seed, n=n, form=form, cfg=cfg):
                key = jax.random.fold_in(jax.random.PRNGKey(seed), n)
                pb = make_problem(form, key, n, args.n_test, args.d, args.P, args.m, mu, args.sigma0)
                return train(form, cfg, args.steps, args.log_every, pb)[1]

            t = time.perf_counter()
            logs = np.asarray(jax.jit(jax.vmap(one))(mu_arr, seed_arr))   # (runs, logs, 3)
            t_compute += time.perf_counter() - t
            total += len(runs)
            done.append((n, method, form, logs[:, -1]))
    wall = time.perf_counter() - T_START
    print("jax sweep: %d runs (n %s x mu-norm %s x %s x seeds %s), d %d, m %d, %d steps, n-test %d"
          % (total, ",".join(map(str, ns)), ",".join("%g" % v for v in mus), ",".join(methods),
             ",".join(map(str, seeds)), args.d, args.m, args.steps, args.n_test))
    for n, method, form, last in done:
        print("  n %4d %-5s %-6s mean final loss %.4g train_err %.3f test_err %.3f"
              % (n, method, form, *np.nanmean(last, axis=0)))
    print("runs/s %.3f (whole process %.3f s; compile + run %.3f s)" % (total / wall, wall, t_compute))
    return 0


# ---------------------------------------------------------------- check against pegr grad --device host

def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), np.finfo(np.float64).tiny))


def autograd_gradient(method, W, X, y, q, lam):
    """Independent reference: jax.grad of the objective, per-example gradients by vmap(grad)."""
    m = W.shape[0] // 2

    def f(W, x):
        return jnp.sum(class_signs(m, W.dtype)[:, :, 0] * activation(W @ x.T, q)[0])

    def loss_i(W, x, yi):
        return jnp.logaddexp(0, -yi * f(W, x))

    def objective(W):
        L = jnp.mean(jax.vmap(loss_i, (None, 0, 0))(W, X, y))
        if method == "gd":
            return L
        G = jax.vmap(jax.grad(loss_i), (None, 0, 0))(W, X, y)
        return L + lam / X.shape[0] * jnp.sum(G ** 2)

    return jax.grad(objective)(W)


def cmd_check(args):
    jax.config.update("jax_enable_x64", True)
    pegr = args.pegr
    fails = 0
    with tempfile.TemporaryDirectory(prefix="jax-peer-check-") as tmp:
        subprocess.run([pegr, "data", "--out", tmp, "--n", str(args.n), "--d", str(args.d), "--patches",
                        str(args.P), "--n-test", "1", "--mu-norm", str(args.mu_norm), "--seed", str(args.seed)],
                       check=True, stdout=subprocess.DEVNULL)
        X, y = np.load(os.path.join(tmp, "X.npy")), np.load(os.path.join(tmp, "y.npy"))
        # Weights large enough that every term of the closed form (s'' and the penalty) matters.
        W = np.random.default_rng(args.seed).standard_normal((2, args.m, args.d)) * (args.scale / np.sqrt(args.d))
        np.save(os.path.join(tmp, "W.npy"), W)
        ref = {}
        for method in ("gd", "pegr"):
            out = os.path.join(tmp, method)
            subprocess.run([pegr, "grad", "--device", "host", "--method", method, "--q", "%r" % args.q,
                            "--lam", "%r" % args.lam, "--X", os.path.join(tmp, "X.npy"), "--y",
                            os.path.join(tmp, "y.npy"), "--W", os.path.join(tmp, "W.npy"), "--out", out],
                           check=True, stdout=subprocess.DEVNULL)
            ref[method] = np.load(os.path.join(out, "grad.npy")).reshape(2 * args.m, args.d)
    n, P, d = X.shape
    print("check n %d d %d m %d P %d q %g lam %g: JAX vs pegr grad --device host (fp64), max rel error"
          % (n, d, args.m, P, args.q, args.lam))
    grads = {}
    for dtype, tol in ((jnp.float32, args.tol), (jnp.float64, 1e-10)):
        Xj, yj, Wj = jnp.asarray(X, dtype), jnp.asarray(y, dtype), jnp.asarray(W.reshape(2 * args.m, d), dtype)
        pb = prepare("primal", Xj, yj, Wj)
        for method in ("gd", "pegr"):
            C, _ = coefficients(Wj @ pb["Xf"].T, yj, pb["K"], method, args.q, args.lam)
            g = C @ pb["Xf"]
            assert g.dtype == dtype, "the %s check computed in %s" % (np.dtype(dtype).name, g.dtype)
            grads[(method, np.dtype(dtype).name)] = g
            e = rel_err(g, ref[method])
            fails += e > tol
            print("  closed form %-7s %-4s %10.2e  (tol %g) %s" % (np.dtype(dtype).name, method, e, tol,
                                                                 "ok" if e <= tol else "FAIL"))
        # The penalty's own gradient (pegr - gd) is smaller than the gradient: checked on its own too.
        name = np.dtype(dtype).name
        e = rel_err(grads[("pegr", name)] - grads[("gd", name)], ref["pegr"] - ref["gd"])
        ptol = 1e-9 if dtype == jnp.float64 else 10 * tol
        fails += e > ptol
        print("  closed form %-7s penalty term (pegr - gd) %10.2e  (tol %g) %s"
              % (name, e, ptol, "ok" if e <= ptol else "FAIL"))
    X64, y64 = jnp.asarray(X), jnp.asarray(y)
    W64 = jnp.asarray(W.reshape(2 * args.m, d))
    for method in ("gd", "pegr"):
        e = rel_err(autograd_gradient(method, W64, X64, y64, args.q, args.lam), ref[method])
        fails += e > 1e-10
        print("  autograd    float64 %-4s %10.2e  (tol 1e-10) %s" % (method, e, "ok" if e <= 1e-10 else "FAIL"))
    # Span and primal steps agree (fp64, 50 steps from W).
    pb = prepare("span", X64, y64, W64)
    for method in ("gd", "pegr"):
        cfg = (method, args.q, args.lam, 0.1)
        Wp = run_steps("primal", cfg, 50, W64, pb)
        Gam = run_steps("span", cfg, 50, jnp.zeros_like(pb["Z0"]), pb)
        e = rel_err(Gam @ pb["Xf"], Wp - W64)
        fails += e > 1e-10
        print("  span vs primal, 50 steps, float64 %-4s %10.2e  (tol 1e-10) %s"
              % (method, e, "ok" if e <= 1e-10 else "FAIL"))
    print("check: %s" % ("FAILED (%d)" % fails if fails else "passed"))
    return 1 if fails else 0


# ---------------------------------------------------------------- command line

def add_model(p, n=50, d=1000, m=10, mu_norm=3.0):
    """pegr train's options and demo defaults."""
    p.add_argument("--n", type=int, default=n)
    p.add_argument("--d", type=int, default=d)
    p.add_argument("--m", type=int, default=m)
    p.add_argument("--P", "--patches", type=int, default=2, dest="P")
    p.add_argument("--q", type=float, default=3.0)
    p.add_argument("--lam", type=float, default=0.01)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--mu-norm", type=float, default=mu_norm)
    p.add_argument("--sigma0", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)


def add_run(p, n_test=1000):
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--n-test", type=int, default=n_test)
    p.add_argument("--form", choices=("auto", "primal", "span"), default="auto",
                   help="auto: pegr's rule (fewer GEMM flops)")


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--cache", help="JAX's persistent compilation cache directory (default: none)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", help="JAX's gradients vs pegr grad --device host")
    add_model(p, n=30, d=200, m=5)
    p.add_argument("--pegr", default=os.environ.get("PEGR", "build/pegr"), help="the pegr binary")
    p.add_argument("--scale", type=float, default=0.8, help="W ~ N(0, scale^2 / d)")
    p.add_argument("--tol", type=float, default=1e-5, help="fp32 relative tolerance")
    p = sub.add_parser("step", help="median seconds per step")
    add_model(p, mu_norm=2.0)
    p.add_argument("--shapes", default="200:2000:20,50:1000:20", help="N:D:M,...")
    p.add_argument("--forms", default="primal,span")
    p.add_argument("--methods", default="gd,pegr")
    p.add_argument("--steps", type=int, default=50, help="steps per jit'd call")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json")
    p = sub.add_parser("train", help="one run at pegr train's configuration")
    add_model(p)
    add_run(p)
    p.add_argument("--method", choices=("gd", "pegr"), default="pegr")
    p = sub.add_parser("sweep", help="vmap over the runs of a pegr sweep")
    add_model(p)
    add_run(p, n_test=500)
    p.add_argument("--n-list", default="10:100:10", help="A,B,... or FROM:TO:STEP")
    p.add_argument("--mu-list", default="1:10:1")
    p.add_argument("--methods", default="gd,pegr")
    p.add_argument("--seeds", default="0-2")
    args = ap.parse_args(argv)
    if args.q != 1.0 and args.q < 2.0:
        ap.error("--q: pegr needs q = 1 or q >= 2 (s'' blows up at 0 for 1 < q < 2)")
    return args


def main(argv=None):
    args = parse(argv)
    if args.cache:
        jax.config.update("jax_compilation_cache_dir", args.cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    log("jax %s, devices %s, load average %s" % (jax.__version__, jax.devices(), "%.2f %.2f %.2f" % os.getloadavg()))
    return {"check": cmd_check, "step": cmd_step, "train": cmd_train, "sweep": cmd_sweep}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
