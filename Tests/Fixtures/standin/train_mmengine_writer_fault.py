"""A stand-in mmengine training where the recorder fails while it looks after one of two
hooks that write the lr in after_train_iter (its fast path, _run_writers): at iteration 5
a user's hook puts there a number whose comparison raises. The shim must stop recording
and let every hook of the training run to its end. Prints the hooks' call counts, then
"done".

Usage: python3 train_mmengine_writer_fault.py"""
import os
import shutil
import tempfile

os.environ["STANDIN_MMENGINE_LOOP"] = "plain"  # (read as the stand-in runner is imported)

from mmengine.hooks import Hook, RuntimeInfoHook  # noqa: E402
from mmengine.logging import MessageHub  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.visualization import LocalVisBackend, Visualizer  # noqa: E402

calls = {"kick": 0, "scheduler": 0}


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


class Uncomparable(float):
    """A number whose comparison fails (the recorder's look at the lr after a hook)."""
    def __ne__(self, other):
        raise RuntimeError("an lr that cannot be compared (planted by the test)")


class KickHook(Hook):
    priority = "NORMAL"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        calls["kick"] += 1
        if runner.iter == 5:
            runner.optimizer.param_groups[0]["lr"] = Uncomparable(1.0)


class ParamSchedulerHook(Hook):
    priority = "LOW"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        calls["scheduler"] += 1
        g = runner.optimizer.param_groups[0]
        g["lr"] = float(g["lr"]) * 0.5


runner = Runner([RuntimeInfoHook(), KickHook(), ParamSchedulerHook()], SGD(), max_epochs=2, length=6)
runner.message_hub = MessageHub()
work_dir = tempfile.mkdtemp(prefix="standin-writer-fault-")
try:
    runner.visualizer = Visualizer([LocalVisBackend(work_dir + "/vis_data")])
    runner.train()
finally:
    shutil.rmtree(work_dir, ignore_errors=True)
print("kick %d scheduler %d" % (calls["kick"], calls["scheduler"]))
print("done")
