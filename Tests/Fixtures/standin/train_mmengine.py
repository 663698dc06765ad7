"""A stand-in program driving the (stand-in) mmengine Runner."""
from mmengine.runner import Runner


class SGD(object):
    def __init__(self):
        self.param_groups = [{"lr": 0.01, "momentum": 0.9}]


class LoggerHook(object):
    priority = "BELOW_NORMAL"


Runner([LoggerHook()], SGD(), max_epochs=2, length=2).train()
