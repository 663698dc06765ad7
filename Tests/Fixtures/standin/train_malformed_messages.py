"""A stand-in mmengine training whose shim also sends messages of known kinds that the
recorder cannot read (a damaged or foreign shim): each is reported after the run, by
shape, with an example; nothing else is lost."""
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
            ch = shim._channel
            ch.send(["lr", "only-an-optimizer"])              # a known kind, fields missing
            ch.buffer.append((0, "not-a-stage-id", 0, 0, 0, 0, 0))  # a call tuple of the wrong types
            ch.buffer.append((1, 0, 1.0))                     # no tuple of that shape
            ch.buffer.append("not json")                      # a batch string that is not a message


Runner([Hook()], SGD(), max_epochs=1, length=2).train()
print("done")
