"""Measures the recorder shim's cost per call_hook with the stand-in mmcv runner.

Run plainly and under `hooktrace record -- python3 tools/shim_bench.py`; prints the
mean time of one call_hook (with one LR-style hook) over the run.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "standin"))
from mmcv.runner import EpochBasedRunner, Hook  # noqa: E402


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.02, "momentum": 0.9}]


class Model(object):
    def train_step(self, batch, optimizer):
        return {"log_vars": {"loss": 1.0}, "num_samples": 2}


class LrHook(Hook):
    def before_train_iter(self, runner):
        runner.optimizer.param_groups[0]["lr"] = 0.02


iters = int(os.environ.get("ITERS", "50000"))
runner = EpochBasedRunner(Model(), SGD(), work_dir=None, max_epochs=2)
runner.register_hook(LrHook(), 10)
t = time.perf_counter()
runner.run([range(iters)], [("train", 1)])
elapsed = time.perf_counter() - t
calls = 2 + 2 * (2 + 2 * iters)
print("%s: %.0f ns per call_hook over %d calls" % ("recorded" if os.environ.get("HOOKTRACE_SOCKET") else "plain", elapsed / calls * 1e9, calls))
