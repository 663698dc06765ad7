"""A stand-in mmcv training whose hooks count their calls: the recorder shim runs mmcv's
hook loop itself on the iteration stages' fast path, leaving out the hooks whose call
does nothing (mmcv's Hook's own methods, which only pass the call on to its empty
before_iter/after_iter). Every hook that does something must still be called each time:
one that only overrides before_iter/after_iter (as mmcv's IterTimerHook), one with a
method set on the object, one registered and one put in another's place at the second
epoch's start. Writes the counts and the shim's call plans at the end as JSON.

Usage: python3 train_mmcv_plans.py WORK_DIR OUT_JSON
"""
import collections
import json
import os
import sys

from mmcv.runner import EpochBasedRunner, Hook

calls = collections.Counter()


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


class Model(object):
    def train_step(self, batch, optimizer):
        return {"loss": 1.0, "log_vars": {"loss": 1.0 / (batch + 1)}, "num_samples": 2}

    def val_step(self, batch, optimizer):
        return {"log_vars": {"loss": 0.5}, "num_samples": 2}


class IterTimerHook(Hook):
    """Only the methods Hook's iteration stages pass their calls on to (as mmcv's)."""
    def before_iter(self, runner):
        calls["timer before " + runner.mode] += 1

    def after_iter(self, runner):
        calls["timer after " + runner.mode] += 1


class QuietHook(Hook):
    """Nothing of its own: its calls do nothing."""


class CountingHook(Hook):
    def __init__(self, name):
        self.name = name

    def after_train_iter(self, runner):
        calls[self.name + " after"] += 1


class EpochHook(Hook):
    """At the second epoch's start: a hook registered, and another put in QuietHook's place."""
    done = False

    def before_train_epoch(self, runner):
        # (Once: the loop goes on over the list as it changes, and meets this hook again.)
        if runner.epoch == 1 and not self.done:
            self.done = True
            hooks = runner._hooks
            hooks.insert(1, CountingHook("registered"))
            hooks[[type(h) for h in hooks].index(QuietHook)] = CountingHook("replacing")


def main():
    work_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(work_dir, exist_ok=True)
    runner = EpochBasedRunner(Model(), SGD(), work_dir=work_dir, max_epochs=2)
    told = Hook()
    told.name = "told"
    told.after_train_iter = lambda runner: calls.update(["told after"])
    runner.register_hook(IterTimerHook(), 10)
    runner.register_hook(QuietHook(), 50)
    runner.register_hook(told, 60)
    runner.register_hook(EpochHook(), 70)
    runner.run([list(range(50)), list(range(10))], [("train", 1), ("val", 1)])
    shim = sys.modules.get("hooktrace_shim")
    plans = {stage: [getattr(h, "name", type(h).__name__) for h in fast[9][1]]
             for stage, fast in getattr(shim, "_fast_mmcv", {}).items()}
    with open(out, "w") as f:
        json.dump({"calls": calls, "plans": plans}, f)


if __name__ == "__main__":
    main()
