# notebook.py: the notebook workflow as a script -- train gd and pegr from the same data, print their test errors, draw the figure.
"""Train gd and pegr on the same data and initial weights (as ``pegr train --compare gd,pegr``),
print each method's final test error, and draw test error and train loss against the step into
a PNG (matplotlib when installed; the figure is skipped without it).

    python3 examples/notebook.py [--device SPEC|host] [--preset tiny] [--steps N] [--out fig.png]

Cells of a notebook would be the blocks below; the printed numbers equal the table of
``pegr train --compare gd,pegr`` with the same options (python/tests/test_examples.py checks it).
"""
import argparse

import pegr

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--device", default=None, help="device spec or 'host' (default: the default device)")
ap.add_argument("--preset", default="tiny", help="demo, large or tiny (default: tiny)")
ap.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
ap.add_argument("--out", default="notebook.png", help="the figure's file (default: notebook.png)")
args = ap.parse_args()

# --- train both methods from the same data and initial weights
runs = pegr.compare(["gd", "pegr"], device=args.device, preset=args.preset, steps=args.steps,
                    progress=False)

# --- the final test errors (as the command's table prints them)
for method, run in runs.items():
    print("%-5s test error %.3f  train loss %.4g  (%d steps on %s)"
          % (method, run.summary["test_error"], run.summary["train_loss"],
             run.summary["steps_run"], run.summary["device"]))

# --- the figure: test error and train loss against the step
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no figure")
else:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for method, run in runs.items():
        ax1.plot(run.metrics["step"], run.metrics["test_error"], label=method)
        ax2.plot(run.metrics["step"], run.metrics["train_loss"], label=method)
    ax1.set(xlabel="step", ylabel="test error")
    ax2.set(xlabel="step", ylabel="train loss", yscale="log")
    ax1.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print("wrote", args.out)
