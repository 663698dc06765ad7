"""A stand-in program whose runner calls its hooks in the order mmengine 0.10.7's
EpochBasedTrainLoop and ValLoop do, with the objects mmengine's Runner builds (train
loop, val loop, optimizer wrapper, a MultiStepLR scheduler stepped by a
ParamSchedulerHook, log processor), so that its recording replays without a config.
"""
from collections import Counter

from mmengine.optim import OptimWrapper
from mmengine.runner import Runner


class SGD(object):
    def __init__(self, lr):
        self.defaults = {"lr": lr, "momentum": 0.9, "dampening": 0, "weight_decay": 0.0001, "nesterov": False}
        self.param_groups = [dict(self.defaults)]


class MultiStepLR(object):
    """mmengine's MultiStepLR's attributes after construction (one step taken)."""

    def __init__(self, optimizer, milestones, gamma):
        self.optimizer = optimizer
        self.milestones = Counter(milestones)
        self.gamma = gamma
        self.param_name = "lr"
        self.begin, self.end, self.by_epoch = 0, 1000000000, True
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_values = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_step = 0

    def step(self):
        self.last_step += 1
        if self.last_step in self.milestones:
            for g in self.optimizer.param_groups:
                g["lr"] = g["lr"] * self.gamma ** self.milestones[self.last_step]


class ParamSchedulerHook(object):
    priority = "LOW"

    def after_train_epoch(self, runner):
        for s in runner.param_schedulers:
            s.step()


class MarkHook(object):
    """A hook hooktrace does not know: kept passive."""
    priority = 45

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        pass


class EpochBasedTrainLoop(object):
    def __init__(self, max_epochs, length):
        self._max_epochs = max_epochs
        self._max_iters = max_epochs * length
        self.val_begin, self.val_interval = 1, 2
        self.dynamic_milestones, self.dynamic_intervals = [0, 3], [2, 1]
        self.stop_training = False
        self.length = length
        self._epoch = 0  # the counters the runner's epoch and iter are (as mmengine's loops have)
        self._iter = 0


class ValLoop(object):
    length = 2


class LogProcessor(object):
    window_size, by_epoch, custom_cfg, num_digits, log_with_hierarchy = 10, True, [], 4, False


class LoopRunner(Runner):
    def train(self):
        loop = self._train_loop
        wrapper = self.optim_wrapper
        wrapper.initialize_count_status(loop._max_iters)
        self.call_hook("before_run")
        self.call_hook("before_train")
        while self.epoch < loop._max_epochs:
            self.call_hook("before_train_epoch")
            for i in range(loop.length):
                self.call_hook("before_train_iter", batch_idx=i, data_batch=None)
                wrapper.update_params(None)
                self.call_hook("after_train_iter", batch_idx=i, data_batch=None, outputs={"loss": 1.0 / (self.iter + 1)})
                self.iter += 1
            self.call_hook("after_train_epoch")
            self.epoch += 1
            interval = loop.val_interval if self.epoch < 3 else 1
            if self.epoch >= loop.val_begin and (self.epoch % interval == 0 or self.epoch == loop._max_epochs):
                self.call_hook("before_val")
                self.call_hook("before_val_epoch")
                for i in range(self._val_loop.length):
                    self.call_hook("before_val_iter", batch_idx=i, data_batch=None)
                    self.call_hook("after_val_iter", batch_idx=i, data_batch=None, outputs=[])
                self.call_hook("after_val_epoch", metrics={"accuracy": 0.5 + 0.1 * self.epoch})
                self.call_hook("after_val")
        self.call_hook("after_train")
        self.call_hook("after_run")


optimizer = SGD(0.02)
runner = LoopRunner([MarkHook(), ParamSchedulerHook()], None, max_epochs=4, length=3)
runner.optim_wrapper = OptimWrapper(optimizer, accumulative_counts=2)
runner.param_schedulers = [MultiStepLR(optimizer, milestones=[2, 3], gamma=0.5)]
runner._train_loop = EpochBasedTrainLoop(4, 3)
runner._val_loop = ValLoop()
runner.log_processor = LogProcessor()
runner.train()
