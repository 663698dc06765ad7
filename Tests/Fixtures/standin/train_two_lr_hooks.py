"""A stand-in mmcv training where three hooks write the learning rate: the schedule's
updater and two instances of a user's hook (the second one's changes must be credited
to it, `Kick#2`, not to the updater by class name)."""
import os
import sys

from mmcv.runner import EpochBasedRunner, Hook


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.1, "momentum": 0.9}]


class Model(object):
    def train_step(self, batch, optimizer):
        return {"log_vars": {"loss": 1.0}, "num_samples": 2}


class StepLrUpdaterHook(Hook):
    def before_train_epoch(self, runner):
        runner.optimizer.param_groups[0]["lr"] = 0.1 * (0.1 ** runner.epoch)


class Kick(Hook):
    """Sets the lr at one iteration of the run."""

    def __init__(self, at, lr):
        self.at, self.lr = at, lr

    def before_train_iter(self, runner):
        if runner.iter == self.at:
            runner.optimizer.param_groups[0]["lr"] = self.lr


work_dir = sys.argv[1]
os.makedirs(work_dir, exist_ok=True)
runner = EpochBasedRunner(Model(), SGD(), work_dir=work_dir, max_epochs=2)
runner.register_hook(StepLrUpdaterHook(), 10)
runner.register_hook(Kick(1, 0.5), 20)
runner.register_hook(Kick(4, 0.7), 30)
runner.run([list(range(3))], [("train", 1)])
