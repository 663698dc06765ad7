"""A tiny real mmcv 1.x training run (torch + mmcv), for the optional integration test."""
import logging
import sys
import tempfile

import torch
import torch.nn as nn
from mmcv.runner import EpochBasedRunner
from torch.utils.data import DataLoader


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def train_step(self, x, optimizer, **kwargs):
        loss = self.linear(x).sum()
        return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=x.size(0))

    def val_step(self, x, optimizer, **kwargs):
        return self.train_step(x, optimizer)


model = Model()
work_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
runner = EpochBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9),
                          work_dir=work_dir, logger=logging.getLogger(), max_epochs=2)
runner.register_training_hooks(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(grad_clip=None),
                               checkpoint_config=dict(interval=1), log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook")]))
loader = DataLoader(torch.ones((6, 2)), batch_size=2)
runner.run([loader], [("train", 1)])
