"""The recorder shim's cost per call_hook on real runners with their real hooks.

Runs a small training with mmcv 1.x's EpochBasedRunner (LR cosine-annealed every
iteration, momentum, checkpoint, timer and text logger hooks) or mmengine's Runner (its
default hooks, CosineAnnealingLR by iteration), times the time spent inside
runner.call_hook (a timer around the runner's call_hook, outside the shim's patch), and
prints ns per call. Run it plainly and under `hooktrace record`: the difference is the
shim's cost. tools/bench runs both when torch and the frameworks import.

Usage: python3 tools/real_shim_bench.py mmcv|mmengine [ITERATIONS]
(mmcv: put mmcv 1.7.2's source and Tests/Fixtures/mmcv_stubs on PYTHONPATH)
"""
import logging
import os
import sys
import tempfile
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

framework = sys.argv[1]
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
work_dir = tempfile.mkdtemp(prefix="hooktrace-bench-")
spent = [0, 0]  # ns inside call_hook, calls


def timed(call_hook):
    perf = time.perf_counter_ns

    def wrapper(*args, **kwargs):
        t = perf()
        try:
            return call_hook(*args, **kwargs)
        finally:
            spent[0] += perf() - t
            spent[1] += 1
    return wrapper


torch.manual_seed(0)
# One intra-op thread: on a small machine torch's threads would compete with the recorder process.
torch.set_num_threads(1)
if os.environ.get("BENCH_NOGC"):
    import gc
    gc.disable()
if framework == "mmcv":
    from mmcv.runner import EpochBasedRunner

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def train_step(self, x, optimizer, **kwargs):
            return dict(loss=torch.zeros(()), log_vars=dict(loss=0.5), num_samples=1)

    model = Model()
    runner = EpochBasedRunner(model, optimizer=torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9),
                              work_dir=work_dir, logger=logging.getLogger("bench"), max_epochs=1)
    runner.register_training_hooks(
        lr_config=dict(policy="CosineAnnealing", by_epoch=False, min_lr=1e-5),
        momentum_config=dict(policy="CosineAnnealing", by_epoch=False, min_momentum=0.85),
        optimizer_config=None, checkpoint_config=dict(interval=1000),
        log_config=dict(interval=50, hooks=[dict(type="TextLoggerHook")]))
    runner.call_hook = timed(runner.call_hook)
    runner.run([DataLoader(torch.zeros((iters, 2)), batch_size=1)], [("train", 1)])
else:
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            return dict(loss=(self.linear(inputs) ** 2).mean())

    loader = DataLoader(torch.zeros((iters, 2)), batch_size=1, collate_fn=lambda b: dict(inputs=torch.stack(b)))
    runner = Runner(model=Model(), work_dir=work_dir, train_dataloader=loader,
                    train_cfg=dict(by_epoch=True, max_epochs=1),
                    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.02, momentum=0.9)),
                    param_scheduler=[dict(type="CosineAnnealingLR", by_epoch=False, T_max=iters, eta_min=1e-5)],
                    default_hooks=dict(logger=dict(type="LoggerHook", interval=50), checkpoint=dict(type="CheckpointHook", interval=1000)),
                    log_level=logging.WARNING, default_scope="mmengine")
    runner.call_hook = timed(runner.call_hook)
    runner.train()
label = "recorded" if os.environ.get("HOOKTRACE_SOCKET") else "plain"
print("%s %s: %.0f ns inside call_hook per call over %d calls" % (framework, label, spent[0] / spent[1], spent[1]))
