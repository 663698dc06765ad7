"""Tiny real mmcv 1.x trainings (torch + mmcv's own runners and hooks), for the optional
integration test: a plain script, no config file and no runner.meta, so that a
recording must carry its hook settings read back from the hooks themselves.

Usage: python3 real_mmcv_train.py WORK_DIR [CASE]
Cases: step (default; EpochBasedRunner, step schedule, checkpoints, text log),
       warmup (linear warmup + cosine, grad_clip, max_keep_ckpts, a custom hook, EMAHook, momentum),
       iter (IterBasedRunner, poly, gradient accumulation, save_last, checkpoints by iteration),
       eval (runner.meta as mmdetection's train.py gives it, mmcv's EvalHook with save_best).
"""
import logging
import sys
import tempfile

import torch
import torch.nn as nn
from mmcv.runner import EpochBasedRunner, Hook, IterBasedRunner
from torch.utils.data import DataLoader


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def train_step(self, x, optimizer, **kwargs):
        loss = (self.linear(x) ** 2).mean()
        return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=x.size(0))

    def val_step(self, x, optimizer, **kwargs):
        return self.train_step(x, optimizer)

    def forward(self, x, return_loss=False, **kwargs):
        return [float(v) for v in self.linear(x).flatten()]


class Scored(torch.utils.data.Dataset):
    """A validation set whose evaluate() reports an accuracy rising with each evaluation
    and a flat loss, as a dataset of mmdetection's reports its metrics."""

    def __init__(self):
        self.calls = 0

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return dict(x=torch.ones(2))

    def evaluate(self, results, logger=None, **kwargs):
        self.calls += 1
        return {"acc": round(0.1 * self.calls, 4), "flat_loss": 0.5}


class MarkHook(Hook):
    """A hook of the user's own: hooktrace keeps it passive."""

    def after_train_iter(self, runner):
        pass


torch.manual_seed(0)
model = Model()
work_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
case = sys.argv[2] if len(sys.argv) > 2 else "step"
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=0.0001)
loader = DataLoader(torch.ones((6, 2)), batch_size=2)
log = dict(interval=1, hooks=[dict(type="TextLoggerHook")])
if case == "step":
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_epochs=2)
    runner.register_training_hooks(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1), log_config=log)
    runner.run([loader], [("train", 1)])
elif case == "outdir":
    # CheckpointHook's out_dir (files under out_dir/<work_dir's name>, the oldest removed there).
    import os
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_epochs=3)
    runner.register_training_hooks(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1, max_keep_ckpts=1, out_dir=os.path.join(work_dir, "..", "out")),
                                   log_config=log)
    runner.run([loader], [("train", 1)])
elif case == "resume-iter":
    # Checkpoints by iteration in an EpochBasedRunner (a one-cycle schedule): 2 epochs, then
    # (HOOKTRACE_TEST_RESUME=checkpoint) runner.resume from a mid-epoch checkpoint and 4 epochs.
    import os
    resume = os.environ.get("HOOKTRACE_TEST_RESUME")
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_epochs=4 if resume else 2,
                              meta=dict(seed=0, exp_name="real_mmcv_train.py", hook_msgs=dict()))
    runner.register_training_hooks(lr_config=dict(policy="OneCycle", max_lr=0.1), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=2, by_epoch=False), log_config=log)
    if resume:
        runner.resume(resume, map_location="cpu")
    runner.run([loader], [("train", 1)])
elif case == "warmup":
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_epochs=4)
    runner.register_training_hooks(
        lr_config=dict(policy="CosineAnnealing", warmup="linear", warmup_iters=4, warmup_ratio=0.1, min_lr_ratio=0.01),
        momentum_config=dict(policy="CosineAnnealing", min_momentum_ratio=0.9),
        optimizer_config=dict(grad_clip=dict(max_norm=1.0)),
        checkpoint_config=dict(interval=1, max_keep_ckpts=2), log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook")]),
        custom_hooks_config=[dict(type="EmptyCacheHook", priority=45), dict(type="EMAHook", momentum=0.01, warm_up=3, priority=49)])
    runner.register_hook(MarkHook(), priority="LOW")
    runner.run([loader, loader], [("train", 1), ("val", 1)])
elif case in ("eval", "resume"):
    # "resume": 2 epochs, then (HOOKTRACE_TEST_RESUME=checkpoint) runner.resume and 4 epochs.
    import os
    from mmcv.runner import EvalHook
    meta = dict(seed=0, exp_name="real_mmcv_train.py", env_info="a test", hook_msgs=dict())
    resume = os.environ.get("HOOKTRACE_TEST_RESUME") if case == "resume" else None
    epochs = 3 if case == "eval" else (4 if resume else 2)
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_epochs=epochs, meta=meta)
    runner.register_training_hooks(lr_config=dict(policy="step", step=[2], warmup="linear", warmup_iters=4, warmup_ratio=0.1) if case == "resume"
                                   else dict(policy="step", step=[2]), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1, max_keep_ckpts=1 if case == "eval" else 3), log_config=log)
    val = DataLoader(Scored(), batch_size=1)
    runner.register_hook(EvalHook(val, interval=1, save_best="acc", rule="greater"), priority="LOW")
    if resume:
        runner.resume(resume, map_location="cpu")
    runner.run([loader], [("train", 1)])
elif case in ("mmdet-exp-ema", "mmdet-linear-ema"):
    # mmdetection 2.28.2's EMA hooks, from its wheel (HOOKTRACE_TEST_MMDET2_WHEEL): the module
    # alone, under its own name (the package needs mmcv's compiled ops).
    import os
    import zipfile
    root = tempfile.mkdtemp()
    source = zipfile.ZipFile(os.environ["HOOKTRACE_TEST_MMDET2_WHEEL"]).read("mmdet/core/hook/ema.py")
    for d in ("mmdet", "mmdet/core", "mmdet/core/hook"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
        open(os.path.join(root, d, "__init__.py"), "w").close()
    with open(os.path.join(root, "mmdet/core/hook/ema.py"), "wb") as f:
        f.write(source)
    sys.path.insert(0, root)
    import mmdet.core.hook.ema  # noqa: F401 (registers the hooks in mmcv's HOOKS)
    ema = dict(type="ExpMomentumEMAHook", momentum=0.001, total_iter=5, priority=49) if case == "mmdet-exp-ema" \
        else dict(type="LinearMomentumEMAHook", momentum=0.01, warm_up=4, interval=2, priority=49)
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_epochs=2)
    runner.register_training_hooks(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1), log_config=log, custom_hooks_config=[ema])
    runner.run([loader], [("train", 1)])
else:
    runner = IterBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logging.getLogger(), max_iters=9)
    runner.register_training_hooks(
        lr_config=dict(policy="poly", power=2.0, min_lr=0.001, by_epoch=False),
        optimizer_config=dict(type="GradientCumulativeOptimizerHook", cumulative_iters=2),
        checkpoint_config=dict(interval=4, by_epoch=False, save_last=True), log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook", by_epoch=False)]))
    runner.run([loader], [("train", 1)])
