# notebook.py: the notebook workflow as a script -- train gd and pegr from the same data, print their test errors, draw the figure.
"""Train gd and pegr on the same data and initial weights (as ``pegr train --compare gd,pegr``),
print each method's final test error, and draw train loss and test error against the step into
a PNG with pegr.plot (matplotlib when installed; the figure is skipped without it).

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

# --- the figure: train loss and test error against the step (pegr.plot, as tools/plot.py draws
# it; in a notebook, pegr.plot.runs(runs) returns the Figures and the notebook shows them)
try:
    figs = pegr.plot.runs(runs)
except ImportError as e:  # matplotlib is optional
    print("no figure: %s" % e)
else:
    figs["loss_error.png"].savefig(args.out, dpi=100)
    print("wrote", args.out)
