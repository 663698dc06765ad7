"""A stand-in program driving the (stand-in) mmengine Runner.

Its LoggerHook writes what mmengine's LoggerHook sends to the local visualization
backend: one JSON line per record in <log_dir>/vis_data/scalars.json, train records every
`interval` batches and the metrics after validation.
"""
import json
import os
import shutil
import tempfile

from mmengine.runner import Runner


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.01, "momentum": 0.9}]


class LoggerHook(object):
    priority = "BELOW_NORMAL"
    interval = 1

    def _write(self, runner, record):
        path = os.path.join(runner.log_dir, "vis_data", "scalars.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        if (batch_idx + 1) % self.interval == 0:
            self._write(runner, {"lr": 0.01, "loss": outputs["loss"], "epoch": runner.epoch + 1,
                                 "iter": runner.iter + 1, "step": runner.iter + 1})

    def after_val_epoch(self, runner, metrics=None):
        self._write(runner, dict(metrics or {}, step=runner.epoch))


log_dir = tempfile.mkdtemp(prefix="standin-mmengine-")
try:
    runner = Runner([LoggerHook()], SGD(), max_epochs=2, length=2)
    runner.log_dir = log_dir
    runner.train()
finally:
    shutil.rmtree(log_dir, ignore_errors=True)
