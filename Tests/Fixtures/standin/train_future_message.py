"""A stand-in mmengine training whose shim also sends a message of a kind the recorder
does not know (as a newer shim would): the recorder skips and counts it."""
import sys

from mmengine.runner import Runner


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.01, "momentum": 0.9}]


class Hook(object):
    priority = "NORMAL"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        shim = sys.modules.get("hooktrace_shim")
        if shim is not None and shim._channel is not None:
            shim._channel.send(["a_future_message", {"n": batch_idx}])


Runner([Hook()], SGD(), max_epochs=1, length=3).train()
print("done")
