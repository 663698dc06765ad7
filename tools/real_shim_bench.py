"""The recorder shim's cost per call_hook on real runners with their real hooks.

Runs a small training with mmcv 1.x's EpochBasedRunner (LR cosine-annealed every
iteration, momentum, checkpoint, timer and text logger hooks) or mmengine's Runner (its
default hooks, CosineAnnealingLR by iteration), times the time spent inside
runner.call_hook (a timer around the runner's call_hook, outside the shim's patch), and
prints ns per call. Run it plainly and under `hooktrace record`: the difference is the
shim's cost. tools/bench runs both when torch and the frameworks import.

With BENCH_INTERLEAVE=1 under `hooktrace record`, one training times both: recorded and
the framework's own call_hook alternate in blocks of BENCH_BLOCK calls (100), each pair of
blocks in an order drawn at random (BENCH_SEED), iteration calls only; it prints both
figures, their difference and its standard error over the pairs of blocks.

BENCH_LOSSES=N (mmengine): the model returns N loss values, as a detector does (mmdetection's
two-stage models log 5 to 8); 1 by default. BENCH_CUSTOM_HOOK=1: a hook of the user's own
too, acting only at each epoch's end (as many custom hooks do); =2: one acting in each
iteration too (mmengine: after it; mmcv: before it) — any such hook may write learning
rates, for all the shim knows.

Usage: python3 tools/real_shim_bench.py mmcv|mmengine [ITERATIONS]
(mmcv: put mmcv 1.7.2's source and Tests/Fixtures/mmcv_stubs on PYTHONPATH)
"""
import logging
import math
import os
import random
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


# Interleaved (under `hooktrace record` only): the recorded call_hook and the framework's
# own alternate in blocks of BLOCK calls within the one training, each timed apart, so the
# comparison is free of the drift between two processes on a noisy machine. Each pair of
# blocks goes in an order drawn at random: a fixed pattern (A B B A) can keep in step with
# something periodic on the machine (blocks of 500 calls lasted ~100 ms here) and bias a
# whole run one way. The difference of each pair's means gives the spread.
interleave = os.environ.get("BENCH_INTERLEAVE") == "1" and bool(os.environ.get("HOOKTRACE_SOCKET"))
BLOCK = int(os.environ.get("BENCH_BLOCK", "100"))
# The first calls of a run are the slowest (a process warming up): left out.
WARMUP = 2000
split = {True: [0, 0], False: [0, 0]}  # recorded?: [ns, calls]
blocks = {}  # block number: [ns, calls] (iteration calls after the warm-up)
_rng = random.Random(int(os.environ.get("BENCH_SEED", "1")))
_first = []  # per pair of blocks: whether its first block is the recorded one
# mmengine: the shim also wraps OptimWrapper.update_params (once per step, outside
# call_hook); interleaved, it follows the block the training is in, timed apart.
_mode = [True]  # whether the current block is the recorded one
steps = {True: [0, 0], False: [0, 0]}  # recorded?: [ns inside update_params, steps]


def timed_steps():
    from mmengine.optim import OptimWrapper
    patched = OptimWrapper.update_params
    own = getattr(patched, "_hooktrace_original", None)
    if not interleave or own is None:
        return
    perf = time.perf_counter_ns

    def update_params(self, *args, **kwargs):
        recorded = _mode[0]
        t = perf()
        try:
            return (patched if recorded else own)(self, *args, **kwargs)
        finally:
            if spent[1] >= WARMUP:
                s = steps[recorded]
                s[0] += perf() - t
                s[1] += 1
    OptimWrapper.update_params = update_params


def timed(runner):
    perf = time.perf_counter_ns
    call_hook = runner.call_hook
    patched = type(runner).call_hook
    own = getattr(patched, "_hooktrace_original", None)
    if not interleave or own is None:
        def wrapper(*args, **kwargs):
            t = perf()
            try:
                return call_hook(*args, **kwargs)
            finally:
                spent[0] += perf() - t
                spent[1] += 1
        return wrapper

    def alternating(*args, **kwargs):
        n = spent[1]
        block = n // BLOCK
        pair = block >> 1
        while len(_first) <= pair:
            _first.append(_rng.random() < 0.5)
        recorded = _first[pair] == (block & 1 == 0)
        _mode[0] = recorded
        fn = patched if recorded else own
        t = perf()
        try:
            return fn(runner, *args, **kwargs)
        finally:
            d = perf() - t
            spent[0] += d
            spent[1] += 1
            # Iteration calls only: a run's few other calls (before_run, the epoch's end with its
            # checkpoint) take milliseconds and would weigh on whichever block they fall in.
            # And not the first cycle of blocks: the first calls of a run are the slowest (a
            # process warming up), and they would all count as recorded.
            if n >= WARMUP and args[0].endswith("_iter"):
                b = blocks.get(block)
                if b is None:
                    b = blocks[block] = [0, 0]
                b[0] += d
                b[1] += 1
                s = split[recorded]
                s[0] += d
                s[1] += 1
    return alternating


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
    if os.environ.get("BENCH_CUSTOM_HOOK") in ("1", "2"):
        from mmcv.runner import Hook

        class EpochNoteHook(Hook):
            """A user's hook: notes the iteration at each epoch's end."""
            def after_train_epoch(self, runner):
                self.seen = runner.iter

        class IterNoteHook(EpochNoteHook):
            """A user's hook: counts the iterations as they start too."""
            iterations = 0

            def before_train_iter(self, runner):
                self.iterations += 1

        runner.register_hook(EpochNoteHook() if os.environ["BENCH_CUSTOM_HOOK"] == "1" else IterNoteHook())
    runner.call_hook = timed(runner)
    runner.run([DataLoader(torch.zeros((iters, 2)), batch_size=1)], [("train", 1)])
else:
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, inputs, data_samples=None, mode="tensor"):
            loss = (self.linear(inputs) ** 2).mean()
            if LOSSES == 1:
                return dict(loss=loss)
            return {"loss_%d" % k: loss * (k + 1) for k in range(LOSSES)}

    LOSSES = int(os.environ.get("BENCH_LOSSES", "1"))

    loader = DataLoader(torch.zeros((iters, 2)), batch_size=1, collate_fn=lambda b: dict(inputs=torch.stack(b)))
    runner = Runner(model=Model(), work_dir=work_dir, train_dataloader=loader,
                    train_cfg=dict(by_epoch=True, max_epochs=1),
                    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.02, momentum=0.9)),
                    param_scheduler=[dict(type="CosineAnnealingLR", by_epoch=False, T_max=iters, eta_min=1e-5)],
                    default_hooks=dict(logger=dict(type="LoggerHook", interval=50), checkpoint=dict(type="CheckpointHook", interval=1000)),
                    log_level=logging.WARNING, default_scope="mmengine")
    if os.environ.get("BENCH_CUSTOM_HOOK") in ("1", "2"):
        from mmengine.hooks import Hook

        class EpochNoteHook(Hook):
            """A user's hook: notes the loss history's length at each epoch's end."""
            def after_train_epoch(self, runner):
                self.seen = len(runner.message_hub.get_scalar("train/loss").data[0])

        class IterNoteHook(EpochNoteHook):
            """A user's hook: counts the iterations too."""
            iterations = 0

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                self.iterations += 1

        runner.register_hook(EpochNoteHook() if os.environ["BENCH_CUSTOM_HOOK"] == "1" else IterNoteHook())
    runner.call_hook = timed(runner)
    timed_steps()
    runner.train()
label = "recorded" if os.environ.get("HOOKTRACE_SOCKET") else "plain"
if interleave and split[True][1] and split[False][1]:
    r, p = split[True][0] / split[True][1], split[False][0] / split[False][1]
    diffs = []
    for pair, first in enumerate(_first):
        a, b = blocks.get(2 * pair), blocks.get(2 * pair + 1)
        if a and b and a[1] and b[1]:
            rec, plain = (a, b) if first else (b, a)
            diffs.append(rec[0] / rec[1] - plain[0] / plain[1])
    n = len(diffs)
    se = math.sqrt(sum((x - sum(diffs) / n) ** 2 for x in diffs) / (n - 1) / n) if n > 1 else float("nan")
    print("%s interleaved: recorded %.0f ns, plain %.0f ns inside call_hook per iteration call (%d and %d calls in "
          "blocks of %d, pairs in random order): %.0f ns added (standard error %.0f ns over %d pairs of blocks)"
          % (framework, r, p, split[True][1], split[False][1], BLOCK, r - p, se, n))
    counted = getattr(sys.modules.get("hooktrace_shim"), "_counted", [None])[0] is not None
    if counted:
        print("%s: the shim tells optimizer steps by the wrapper's counter (update_params is not wrapped)" % framework)
    elif steps[True][1] > 100 and steps[False][1] > 100:
        sr, sp = steps[True][0] / steps[True][1], steps[False][0] / steps[False][1]
        print("%s interleaved: recorded %.0f ns, plain %.0f ns inside OptimWrapper.update_params per step: %.0f ns "
              "added per step (%.0f per call_hook at two per step)" % (framework, sr, sp, sr - sp, (sr - sp) / 2))
else:
    print("%s %s: %.0f ns inside call_hook per call over %d calls" % (framework, label, spent[0] / spent[1], spent[1]))
