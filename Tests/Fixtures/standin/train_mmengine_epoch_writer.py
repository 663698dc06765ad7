"""A stand-in mmengine training with two hooks that may write the learning rate, one of
which acts only at an epoch's end (a user's hook): after_train_iter has one writer (the
ParamSchedulerHook), so it keeps the shim's fast path and its changes are that hook's;
after_train_epoch has both, run one by one, each change credited to the hook that made
it. The runner's call_hook is mmengine's plain loop. Prints the stages on the shim's fast
path at the end."""
import os
import shutil
import sys
import tempfile

os.environ["STANDIN_MMENGINE_LOOP"] = "plain"  # (read as the stand-in runner is imported)

from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.visualization import LocalVisBackend, Visualizer  # noqa: E402


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


class ParamSchedulerHook(Hook):
    priority = "LOW"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        g = runner.optimizer.param_groups[0]
        g["lr"] = g["lr"] * 0.5

    def after_train_epoch(self, runner):
        g = runner.optimizer.param_groups[0]
        g["lr"] = g["lr"] * 10


class EpochBoostHook(Hook):
    """A user's hook: only at each epoch's end."""
    priority = "NORMAL"

    def after_train_epoch(self, runner):
        runner.optimizer.param_groups[0]["lr"] += 1.0


runner = Runner([EpochBoostHook(), ParamSchedulerHook()], SGD(), max_epochs=2, length=3)
work_dir = tempfile.mkdtemp(prefix="standin-epoch-writer-")
try:
    # (A watched log: the fast path's condition for after_train_iter.)
    runner.visualizer = Visualizer([LocalVisBackend(work_dir + "/vis_data")])
    runner.train()
finally:
    shutil.rmtree(work_dir, ignore_errors=True)
print("fast:", " ".join(sorted(sys.modules["hooktrace_shim"]._fast)))
