class BaseModel(object):
    """Stand-in of mmengine's BaseModel: train_step computes the losses and steps the
    optimizer wrapper once (mmengine's own train_step, by module and name)."""

    def train_step(self, data, optim_wrapper):
        losses = self.loss(data)
        optim_wrapper.update_params(sum(losses.values()))
        return losses
