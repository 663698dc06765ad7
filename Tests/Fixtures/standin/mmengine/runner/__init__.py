import os


class _TrainLoop(object):
    """Stand-in of mmengine's train loop: the counters the runner's epoch/iter read."""

    def __init__(self):
        self._epoch = 0
        self._iter = 0
        self.stop_training = False


class Runner(object):
    """Stand-in of mmengine.runner.Runner: call_hook(fn_name, **kwargs), epoch/iter properties
    (its train loop's counters, as mmengine's: the shim's iteration fast paths read those)."""

    def __init__(self, hooks, optimizer, max_epochs, length):
        self._hooks = hooks
        self.optimizer = optimizer
        self.max_epochs = max_epochs
        self.length = length
        self._train_loop = _TrainLoop()
        self.work_dir = None
        self.log_dir = None

    @property
    def epoch(self):
        return self._train_loop._epoch

    @epoch.setter
    def epoch(self, value):
        self._train_loop._epoch = value

    @property
    def iter(self):
        return self._train_loop._iter

    @iter.setter
    def iter(self, value):
        self._train_loop._iter = value

    @property
    def hooks(self):
        return self._hooks

    def call_hook(self, fn_name, **kwargs):
        for hook in self._hooks:
            method = getattr(hook, fn_name, None)
            if method is not None:
                method(self, **kwargs)

    def train(self):
        self.call_hook("before_run")
        self.call_hook("before_train")
        for _ in range(self.max_epochs):
            self.call_hook("before_train_epoch")
            for i in range(self.length):
                self.call_hook("before_train_iter", batch_idx=i, data_batch=None)
                outputs = {"loss": 1.0 / (self.iter + 1)}
                self.call_hook("after_train_iter", batch_idx=i, data_batch=None, outputs=outputs)
                self.iter += 1
            self.epoch += 1
            self.call_hook("after_train_epoch")
            self.call_hook("after_val_epoch", metrics={"accuracy": 0.5 + 0.1 * self.epoch})
        self.call_hook("after_train")
        self.call_hook("after_run")


def _plain_hook_loop(self, fn_name, **kwargs):
    """mmengine's own call_hook: every hook that has the stage's method, called with the
    keyword arguments; a TypeError says which hook."""
    for hook in self._hooks:
        if hasattr(hook, fn_name):
            try:
                getattr(hook, fn_name)(self, **kwargs)
            except TypeError as e:
                raise TypeError(f"{e} in {hook}") from None


# STANDIN_MMENGINE_LOOP=plain: the runner's call_hook is mmengine's plain loop, which the
# recorder shim runs itself (as on a real mmengine runner) instead of wrapping it.
if os.environ.get("STANDIN_MMENGINE_LOOP") == "plain":
    Runner.call_hook = _plain_hook_loop
