"""Stand-in of mmcv.runner.EpochBasedRunner's run/train/val loops."""
import time

from .base_runner import BaseRunner


class EpochBasedRunner(BaseRunner):
    def run_iter(self, data_batch, train_mode):
        if train_mode:
            self.outputs = self.model.train_step(data_batch, self.optimizer)
        else:
            self.outputs = self.model.val_step(data_batch, self.optimizer)

    def train(self, data_loader):
        self.mode = "train"
        self.data_loader = data_loader
        self._max_iters = self._max_epochs * len(data_loader)
        self.call_hook("before_train_epoch")
        for i, data_batch in enumerate(data_loader):
            self._inner_iter = i
            self.call_hook("before_train_iter")
            self.run_iter(data_batch, train_mode=True)
            self.call_hook("after_train_iter")
            self._iter += 1
        self.call_hook("after_train_epoch")
        self._epoch += 1

    def val(self, data_loader):
        self.mode = "val"
        self.data_loader = data_loader
        self.call_hook("before_val_epoch")
        for i, data_batch in enumerate(data_loader):
            self._inner_iter = i
            self.call_hook("before_val_iter")
            self.run_iter(data_batch, train_mode=False)
            self.call_hook("after_val_iter")
        self.call_hook("after_val_epoch")

    def run(self, data_loaders, workflow):
        for i, (mode, _) in enumerate(workflow):
            if mode == "train":
                self._max_iters = self._max_epochs * len(data_loaders[i])
                break
        self.call_hook("before_run")
        while self.epoch < self._max_epochs:
            for i, (mode, epochs) in enumerate(workflow):
                for _ in range(epochs):
                    if mode == "train" and self.epoch >= self._max_epochs:
                        break
                    getattr(self, mode)(data_loaders[i])
        time.sleep(0.001)
        self.call_hook("after_run")
