"""A stand-in mmengine training that takes the recorder shim's hot path for every
iteration call, as a real mmengine run does: the runner's counters in its train loop,
mmengine's RuntimeInfoHook putting each step's outputs into the message hub (the shim
reads them from there in columns), the optimizer wrapper stepped once per step by
mmengine's own train_step (the shim tells the steps by its counter), log records written
by the local visualization backend's `_dump` (the shim sends the file's bytes), an lr
changed at every iteration. On the way: the outputs' names change for a while (the run
of rows ends, values are read from the outputs), a checkpoint save nested in an
after_train_iter, more than a batch of items.

Writes, as JSON lines, what the recording must hold: each step's outputs, the lr after
each after_train_iter, the log records. With `own-dump`, the visualization backend is a
subclass with a `_dump` of its own, which the shim does not watch: its after_train_iter
calls then take the general path, which reads the log at the logger's interval. With
`cut-log`, the log's last line is left without its end (as by a kill while writing); with
`two-writers` (and `changing-hooks`), a user's hook writes the lr in after_train_iter too,
every 100 iterations.

The runner's call_hook is mmengine's plain loop, which the shim runs itself, leaving out
the hooks whose call does nothing (Hook's own methods). Hooks of every kind count their
calls: one that only overrides `_before_iter`/`_after_iter` (as mmengine's IterTimerHook),
one with a method set on the object, one registered and one put in another's place at
the second epoch's start. The counts and the shim's call plans at the end are written too.

Usage: python3 train_mmengine_hot.py OUT_JSON [watched|own-dump|changing-hooks|cut-log|two-writers]
"""
import collections
import json
import os
import shutil
import sys
import tempfile

os.environ["STANDIN_MMENGINE_LOOP"] = "plain"  # (read as the stand-in runner is imported)

from mmengine.hooks import Hook, RuntimeInfoHook
from mmengine.logging import MessageHub
from mmengine.model.base_model.base_model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.visualization import LocalVisBackend, Visualizer


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


class Model(BaseModel):
    def loss(self, data):
        it = data
        losses = {"loss": 1.0 / (it + 1)}
        if 300 <= it < 320:
            losses["loss_aux"] = it / 7.0  # a value of a while (a detector's optional loss)
        return losses


class ParamSchedulerHook(Hook):
    priority = "LOW"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        for g in runner.optimizer.param_groups:
            g["lr"] = g["lr"] * 0.995


class LoggerHook(Hook):
    priority = "BELOW_NORMAL"
    interval = 7

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        if (batch_idx + 1) % self.interval == 0:
            runner.visualizer.add_scalars({"loss": outputs["loss"], "iter": runner.iter + 1}, step=runner.iter + 1)
            if mode == "cut-log" and runner.iter + 1 == 799:
                # The last record's line cut off (as by a kill while it was written).
                backend = list(runner.visualizer._vis_backends.values())[0]
                with open(backend._scalar_save_file, "a") as f:
                    f.write('{"loss": 0.00125, "it')


class CheckpointHook(Hook):
    priority = "VERY_LOW"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        if runner.iter + 1 in (250, 500):
            runner.call_hook("before_save_checkpoint", checkpoint={})


calls = collections.Counter()


class IterTimerHook(Hook):
    """Only the methods Hook's iteration stages pass their calls on to (as mmengine's)."""
    def _before_iter(self, runner, batch_idx, data_batch=None, mode="train"):
        calls["timer before " + mode] += 1

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
        calls["timer after " + mode] += 1


class DistSamplerSeedHook(Hook):
    """Nothing of its own in the iteration stages: those calls do nothing."""
    def before_train_epoch(self, runner):
        pass


class QuietHook(Hook):
    """Nothing of its own: its calls do nothing."""


class CountingHook(Hook):
    def __init__(self, name):
        self.name = name

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        calls[self.name + " before"] += 1

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        calls[self.name + " after"] += 1


class EpochHook(Hook):
    """At the second epoch's start: a hook registered, and another put in QuietHook's place."""
    done = False

    def before_train_epoch(self, runner):
        # (Once: mmengine's loop goes on over the list as it changes, and meets this hook again.)
        if runner.epoch == 1 and not self.done:
            self.done = True
            hooks = runner._hooks
            hooks.insert(3, CountingHook("registered"))
            hooks[[type(h) for h in hooks].index(QuietHook)] = CountingHook("replacing")


class KickHook(Hook):
    """A user's hook that writes the lr too, before ParamSchedulerHook (two-writers)."""
    priority = "NORMAL"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        if runner.iter % 100 == 50:
            runner.optimizer.param_groups[0]["lr"] *= 2


class OwnDumpBackend(LocalVisBackend):
    def _dump(self, value_dict, file_path, file_format):
        with open(file_path, "a") as f:
            f.write(json.dumps(value_dict) + "\n")


class HotRunner(Runner):
    def train(self):
        self.call_hook("before_run")
        self.call_hook("before_train")
        expected = []
        for _ in range(self.max_epochs):
            self.call_hook("before_train_epoch")
            for i in range(self.length):
                self.call_hook("before_train_iter", batch_idx=i, data_batch=None)
                outputs = self.model.train_step(self.iter, self.optim_wrapper)
                self.call_hook("after_train_iter", batch_idx=i, data_batch=None, outputs=outputs)
                expected.append({"iter": self.iter, "outputs": outputs, "lr": self.optimizer.param_groups[0]["lr"]})
                self.iter += 1
            self.epoch += 1
            self.call_hook("after_train_epoch")
        self.call_hook("after_train")
        self.call_hook("after_run")
        return expected


work_dir = tempfile.mkdtemp(prefix="standin-mmengine-hot-")
try:
    optimizer = SGD()
    mode = sys.argv[2] if len(sys.argv) > 2 else "watched"
    hooks = [RuntimeInfoHook(), IterTimerHook(), DistSamplerSeedHook(), LoggerHook(), ParamSchedulerHook(),
             CheckpointHook()]
    if mode == "changing-hooks":
        # Hooks mmengine does not have (each may write learning rates, but none acts in
        # after_train_iter, which keeps its fast path).
        told = Hook()
        told.name = "told"
        told.before_train_iter = lambda runner, batch_idx, data_batch=None: calls.update(["told before"])
        hooks[2:2] = [QuietHook(), told]
        hooks.append(EpochHook())
    if mode in ("two-writers", "changing-hooks"):
        # Two hooks write the lr in after_train_iter: the fast path looks after each (and,
        # with changing hooks, across the plan made again).
        hooks.insert(3, KickHook())
    runner = HotRunner(hooks, optimizer, max_epochs=2, length=400)
    runner.message_hub = MessageHub()
    own_dump = mode == "own-dump"
    backend = (OwnDumpBackend if own_dump else LocalVisBackend)(work_dir + "/vis_data")
    runner.visualizer = Visualizer([backend])
    runner.model = Model()
    runner.optim_wrapper = OptimWrapper(optimizer)
    runner.work_dir = runner.log_dir = work_dir
    expected = runner.train()
    with open(backend._scalar_save_file) as f:
        logs = [json.loads(line) for line in f if line.endswith("\n")]
    with open(sys.argv[1], "w") as f:
        for e in expected:
            f.write(json.dumps(e) + "\n")
        f.write(json.dumps({"logs": logs}) + "\n")
        # The shim's call plans as the run ends: the hooks each fast stage calls.
        shim = sys.modules.get("hooktrace_shim")
        plans = {stage: [getattr(h, "name", type(h).__name__) for h in fast[5][1]]
                 for stage, fast in getattr(shim, "_fast", {}).items()}
        f.write(json.dumps({"calls": calls, "plans": plans}) + "\n")
finally:
    shutil.rmtree(work_dir, ignore_errors=True)
