class RuntimeInfoHook(object):
    """Stand-in of mmengine's RuntimeInfoHook: after each training step it puts the step's
    outputs into the message hub, each as a number, under `train/NAME`."""
    priority = "VERY_HIGH"

    def after_train_iter(self, runner, batch_idx=0, data_batch=None, outputs=None):
        for name, value in outputs.items():
            runner.message_hub.update_scalar("train/" + name, value)
