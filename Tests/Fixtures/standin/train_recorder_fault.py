"""A stand-in training whose recorder breaks mid-run (the test's way to plant a bug in
the shim's own code): the training must finish as if it were not recorded.

Usage: python3 train_recorder_fault.py mmcv|mmengine FAULT_AFTER
After FAULT_AFTER of the shim's looks at the param groups (one per LR stage), that look
raises. A counting hook proves every hook call still happens; the program prints the
count and "done".
"""
import sys

framework, fault_after = sys.argv[1], int(sys.argv[2])
shim = sys.modules.get("hooktrace_shim")
if shim is not None:
    real_watcher = shim._watcher
    looks = [0]

    def watcher(runner):
        real_watch = real_watcher(runner)

        def watch(*args, **kwargs):
            looks[0] += 1
            if looks[0] > fault_after:
                raise RuntimeError("a bug in the recorder (planted by the test)")
            return real_watch(*args, **kwargs)
        return watch

    shim._watcher = watcher


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


calls = [0]

if framework == "mmcv":
    from mmcv.runner import EpochBasedRunner, Hook

    class Model(object):
        def train_step(self, batch, optimizer):
            return {"log_vars": {"loss": 1.0}, "num_samples": 2}

    class Counting(Hook):
        def before_iter(self, runner):
            calls[0] += 1
            runner.optimizer.param_groups[0]["lr"] *= 0.5

        def after_iter(self, runner):
            calls[0] += 1

    runner = EpochBasedRunner(Model(), SGD(), work_dir=None, max_epochs=3)
    runner.register_hook(Counting(), 10)
    runner.run([list(range(4))], [("train", 1)])
else:
    from mmengine.runner import Runner

    class Counting(object):
        priority = "NORMAL"

        def before_train_iter(self, runner, batch_idx=0, data_batch=None):
            calls[0] += 1

        def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
            calls[0] += 1
            runner.optimizer.param_groups[0]["lr"] *= 0.5

    Runner([Counting()], SGD(), max_epochs=3, length=4).train()

print("hook calls: %d" % calls[0])
print("done")
