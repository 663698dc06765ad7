"""A stand-in mmengine training where two hooks write the learning rate in the same
stage: its ParamSchedulerHook and a user's hook; each change is credited to the hook
that made it."""
from mmengine.runner import Runner


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


class ParamSchedulerHook(object):
    priority = "LOW"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        g = runner.optimizer.param_groups[0]
        g["lr"] = g["lr"] * 0.5


class Kick(object):
    priority = "NORMAL"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        if runner.iter == 1:
            runner.optimizer.param_groups[0]["lr"] = 1.0


class Runner2(Runner):
    @property
    def optim_wrapper(self):
        return self  # the stand-in keeps its optimizer on the runner

Runner2([Kick(), ParamSchedulerHook()], SGD(), max_epochs=1, length=3).train()
