class Runner(object):
    """Stand-in of mmengine.runner.Runner: call_hook(fn_name, **kwargs), epoch/iter properties."""

    def __init__(self, hooks, optimizer, max_epochs, length):
        self._hooks = hooks
        self.optimizer = optimizer
        self.max_epochs = max_epochs
        self.length = length
        self.epoch = 0
        self.iter = 0
        self.work_dir = None
        self.log_dir = None

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
