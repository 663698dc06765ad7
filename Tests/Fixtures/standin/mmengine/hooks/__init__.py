class Hook(object):
    """Stand-in of mmengine's Hook base class, shaped as mmengine 0.10.7's: every stage's
    method exists; an iteration stage's passes the call on to `_before_iter` or
    `_after_iter` with the mode, and those and the other stages' are empty."""
    priority = "NORMAL"

    def before_run(self, runner):
        pass

    def after_run(self, runner):
        pass

    def before_train(self, runner):
        pass

    def after_train(self, runner):
        pass

    def before_train_epoch(self, runner):
        pass

    def after_train_epoch(self, runner):
        pass

    def before_save_checkpoint(self, runner, checkpoint):
        pass

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="train")

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="train")

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="val")

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._after_iter(runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="val")

    def _before_iter(self, runner, batch_idx, data_batch=None, mode="train"):
        pass

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
        pass


class RuntimeInfoHook(Hook):
    """Stand-in of mmengine's RuntimeInfoHook: after each training step it puts the step's
    outputs into the message hub, each as a number, under `train/NAME`."""
    priority = "VERY_HIGH"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        for name, value in outputs.items():
            runner.message_hub.update_scalar("train/" + name, value)
