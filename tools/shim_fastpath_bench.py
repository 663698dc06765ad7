"""The recorder shim's own cost per call_hook on mmengine's real Runner, with the caches hot.

tools/real_shim_bench.py times call_hook inside a training, where mmengine's own work
between calls (HistoryBuffer's np.append copies each history at every update) leaves the
shim's objects out of the CPU caches: its figure is what a run pays, and it varies by
±0.4 µs from process to process on a small VM. This one isolates the shim's own work:
after a short real training (so the shim has built its fast paths), it calls the
recorded call_hook and mmengine's own alternately for before_train_iter/after_train_iter
with one do-nothing hook, 20,000 pairs, best of 7, and prints the difference. Run under
`hooktrace record` (tools/bench does); without it there is nothing to compare.

Usage: hooktrace record -o X.htrace -q -- python3 tools/shim_fastpath_bench.py
"""
import logging
import os
import sys
import tempfile
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from mmengine.model import BaseModel
from mmengine.runner import Runner

if not os.environ.get("HOOKTRACE_SOCKET"):
    sys.exit("run it under `hooktrace record -- python3 %s`" % sys.argv[0])
torch.set_num_threads(1)


class Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        return dict(loss=(self.linear(inputs) ** 2).mean())


iters = 200
loader = DataLoader(torch.zeros((iters, 2)), batch_size=1, collate_fn=lambda b: dict(inputs=torch.stack(b)))
runner = Runner(model=Model(), work_dir=tempfile.mkdtemp(prefix="hooktrace-bench-"), train_dataloader=loader,
                train_cfg=dict(by_epoch=True, max_epochs=1),
                optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.02, momentum=0.9)),
                param_scheduler=[dict(type="CosineAnnealingLR", by_epoch=False, T_max=iters, eta_min=1e-5)],
                default_hooks=dict(logger=dict(type="LoggerHook", interval=50), checkpoint=dict(type="CheckpointHook", interval=1000)),
                log_level=logging.WARNING, default_scope="mmengine")
runner.train()
recorded = type(runner).call_hook
own = getattr(recorded, "_hooktrace_original", None)
if own is None:
    sys.exit("the shim did not patch Runner.call_hook")


class Nop:
    def before_train_iter(self, runner, **kwargs):
        pass

    def after_train_iter(self, runner, **kwargs):
        pass


runner._hooks = [Nop()]
# What mmengine's BaseModel.train_step returns (parse_losses' OrderedDict), as a real step's.
outputs = runner.model.train_step(dict(inputs=torch.zeros((1, 2))), runner.optim_wrapper)
perf = time.perf_counter_ns


def best_of(fn, n=20000, reps=7):
    best = float("inf")
    for _ in range(reps):
        t = perf()
        for i in range(n):
            fn(runner, "before_train_iter", batch_idx=i, data_batch=None)
            fn(runner, "after_train_iter", batch_idx=i, data_batch=None, outputs=outputs)
        best = min(best, (perf() - t) / (2 * n))
    return best


r, p = min(best_of(recorded), best_of(recorded)), min(best_of(own), best_of(own))
print("mmengine fast path, caches hot: recorded %.0f ns, plain %.0f ns per iteration call_hook: %.0f ns added" % (r, p, r - p))
