"""Runs a hooktrace mmengine config (JSON) with real mmengine 0.10.7 and torch.

A stand-in model (one linear layer) and datasets of the lengths the config's `data`
gives (batch size 1, no shuffling) take the place of the detector, so the hooks see
the loops, counters, schedules and checkpoints a real run of that config has
(`load_from` loads a checkpoint of the stand-in's own weights). Keys
that need mmdetection (`default_scope`, `val_evaluator`, `test_cfg`, mmdetection's
hooks) are replaced or dropped: mmdetection's visualization hook by mmengine's
passive one, the evaluator by a metric that reports `simulation.metrics`' names (none
without them).

Usage: python3 real_mmengine_train.py CONFIG.json [WORK_DIR]
(for the optional integration test and for checking the simulator by hand:
`hooktrace record -o real.htrace -- python3 real_mmengine_train.py c.json`, then
`hooktrace diff` against `hooktrace record --config c.json`).
"""
import json
import os
import logging
import sys

import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import METRICS, OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset


class StandIn(BaseModel):
    """A detector's shape in two layers: parameters named backbone.* first, then head.*,
    as paramwise_cfg's custom_keys see a detector's."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.head = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        out = self.head(self.backbone(inputs))
        if mode == "loss":
            losses = dict(loss=(out * out).mean())
            # HOOKTRACE_TEST_AUX=A-B: a second loss at iterations A to B (the outputs' names
            # change mid-run, as a model's may).
            if AUX is not None and AUX[0] <= MessageHub.get_current_instance().get_info("iter") <= AUX[1]:
                losses["loss_aux"] = out.abs().mean()
            return losses
        return [dict(pred=float(v)) for v in out.detach().flatten()]


class StandInMulti(StandIn):
    """The stand-in for several optimizers (the single-optimizer one keeps mmengine's own
    train_step, as detectors do)."""

    def train_step(self, data, optim_wrapper):
        """With several optimizers (an OptimWrapperDict), a GAN-style step: each wrapper,
        in the dict's order, updates its own part every `simulation.update_every[name]`
        iterations (every iteration by default), as hooktrace's simulation assumes."""
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper)
        it = MessageHub.get_current_instance().get_info("iter")
        log_vars = None
        for name, wrapper in optim_wrapper.items():
            if (it + 1) % UPDATE_EVERY.get(name, 1):
                continue
            with wrapper.optim_context(self):
                losses = self._run_forward(self.data_preprocessor(data, True), mode="loss")
            parsed, log_vars = self.parse_losses(losses)
            wrapper.update_params(parsed)
        if log_vars is None:
            with torch.no_grad():
                _, log_vars = self.parse_losses(self._run_forward(self.data_preprocessor(data, True), mode="loss"))
        return log_vars


UPDATE_EVERY = {}
AUX = tuple(int(x) for x in os.environ["HOOKTRACE_TEST_AUX"].split("-")) if os.environ.get("HOOKTRACE_TEST_AUX") else None


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class MultiOptimWrapperConstructor:
    """An OptimWrapperDict of one wrapper per entry, each on the stand-in's module of that
    name (`backbone`, `head`), built by mmengine's default constructor (the shape of
    mmagic's constructor of the same name)."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        self.cfg = optim_wrapper_cfg

    def __call__(self, model):
        return OptimWrapperDict(**{name: build_optim_wrapper(getattr(model, name), dict(cfg)) for name, cfg in self.cfg.items()})


class Ones(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return dict(inputs=torch.ones(2) * (1 + i % 3))


@METRICS.register_module(force=True)
class NamedMetrics(BaseMetric):
    """Reports each configured name with a value rising with each evaluation (0.1 per
    evaluation), or constant for names starting with "flat"."""

    def __init__(self, names=(), **kwargs):
        super().__init__(**kwargs)
        self.names = list(names)
        # A resumed run (HOOKTRACE_TEST_EVALS_DONE) goes on from the evaluations done before.
        self.calls = int(os.environ.get("HOOKTRACE_TEST_EVALS_DONE", "0"))

    def process(self, data_batch, data_samples):
        self.results.append(1)

    def compute_metrics(self, results):
        self.calls += 1
        # A name starting with "flat" stays at 0.5 (a simulation's constant curve).
        return {n: 0.5 if n.startswith("flat") else 0.1 * self.calls for n in self.names}


PASSIVE = {"DetVisualizationHook": "mmengine.hooks.NaiveVisualizationHook"}


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    work_dir = sys.argv[2] if len(sys.argv) > 2 else cfg.get("work_dir", "work_dirs/run")
    data = cfg.get("data", {})
    train_cfg = dict(cfg["train_cfg"])
    if "dynamic_intervals" in train_cfg:  # mmengine asserts tuples (JSON has only lists)
        train_cfg["dynamic_intervals"] = [tuple(x) for x in train_cfg["dynamic_intervals"]]
    loader = lambda n: DataLoader(Ones(n), batch_size=1, shuffle=False, collate_fn=lambda b: dict(inputs=torch.stack([x["inputs"] for x in b])))
    hooks = dict(cfg.get("default_hooks", {}))
    for key, hook in list(hooks.items()):
        if isinstance(hook, dict) and hook.get("type") in PASSIVE:
            hooks[key] = dict(type="NaiveVisualizationHook")
    # The metrics a simulation of this config reports: `simulation.metrics`, else none (a
    # simulation gives CocoMetric's names only for a CocoMetric val_evaluator).
    metric_names = list(cfg.get("simulation", {}).get("metrics", {}).keys())
    UPDATE_EVERY.update(cfg.get("simulation", {}).get("update_every", {}))
    # The loaders' batch size is 1 on one process: what `samples_per_gpu` and `gpus` must say.
    assert data.get("samples_per_gpu", 1) == 1 and data.get("gpus", 1) == 1, "the stand-in runs batch 1 on one GPU"
    optim_wrapper = cfg["optim_wrapper"]
    model = StandInMulti() if optim_wrapper.get("constructor") == "MultiOptimWrapperConstructor" else StandIn()
    groups = optim_wrapper.get("optimizer", {}).get("param_groups")
    if groups is not None:
        # hooktrace's per-group overrides: one group per parameter of the stand-in (weight,
        # bias, ...), built by hand since mmengine's builder makes one group per optimizer.
        from mmengine.optim import OptimWrapper
        opt = dict(optim_wrapper["optimizer"])
        opt.pop("param_groups")
        kind = getattr(torch.optim, opt.pop("type"))
        if "betas" in opt:
            opt["betas"] = tuple(opt["betas"])
        params = list(model.parameters())
        assert len(groups) <= len(params), "the stand-in has %d parameters" % len(params)
        torch_groups = [dict(params=[params[i]], **g) for i, g in enumerate(groups)]
        wrapper_args = {k: v for k, v in optim_wrapper.items() if k not in ("type", "optimizer")}
        optim_wrapper = OptimWrapper(optimizer=kind(torch_groups, **opt), **wrapper_args)
    kwargs = dict(
        model=model,
        work_dir=work_dir,
        train_dataloader=loader(data.get("train", 4)),
        train_cfg=train_cfg,
        optim_wrapper=optim_wrapper,
        param_scheduler=cfg.get("param_scheduler"),
        default_hooks=hooks,
        custom_hooks=cfg.get("custom_hooks"),
        log_processor=cfg.get("log_processor", {}),
        auto_scale_lr=cfg.get("auto_scale_lr"),
        default_scope="mmengine",
        env_cfg=dict(cudnn_benchmark=False),
        log_level=logging.WARNING,
    )
    if cfg.get("load_from") is not None:
        # The stand-in's own weights, saved where the run can load them (the path in the
        # config names a checkpoint the stand-in cannot have).
        path = os.path.join(os.path.dirname(os.path.abspath(work_dir)), "load_from.pth")
        torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
        kwargs.update(load_from=path, resume=bool(cfg.get("resume", False)))
    # A crash (HOOKTRACE_TEST_CRASH_AT=N: an error as iteration N starts), then a resume in
    # a new process (HOOKTRACE_TEST_RESUME=checkpoint: Runner's load_from with resume=True).
    crash_at = os.environ.get("HOOKTRACE_TEST_CRASH_AT")
    if crash_at is not None:
        from mmengine.hooks import Hook

        class Crash(Hook):
            def before_train_iter(self, runner, batch_idx, data_batch=None):
                if runner.iter == int(crash_at):
                    raise RuntimeError("crashed at iteration %s (HOOKTRACE_TEST_CRASH_AT)" % crash_at)
        kwargs["custom_hooks"] = list(kwargs["custom_hooks"] or []) + [Crash()]
    # A second writer of train/loss (HOOKTRACE_TEST_SECOND_WRITER=A-B): a hook after
    # RuntimeInfoHook that puts -1.0 there at iterations A to B.
    second = os.environ.get("HOOKTRACE_TEST_SECOND_WRITER")
    if second:
        from mmengine.hooks import Hook
        first_it, last_it = (int(x) for x in second.split("-"))

        class SecondWriter(Hook):
            priority = "LOWEST"

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                if first_it <= runner.iter <= last_it:
                    runner.message_hub.update_scalar("train/loss", -1.0)
        kwargs["custom_hooks"] = list(kwargs["custom_hooks"] or []) + [SecondWriter()]
    # A second writer of the learning rate (HOOKTRACE_TEST_LR_KICK=N): a user's hook before
    # ParamSchedulerHook that triples every group's lr in iteration N's after_train_iter;
    # HOOKTRACE_TEST_LR_DUMP=PATH: the first group's lr after each after_train_iter, as JSON.
    kick = os.environ.get("HOOKTRACE_TEST_LR_KICK")
    if kick:
        from mmengine.hooks import Hook

        class KickHook(Hook):
            priority = "NORMAL"

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                if runner.iter == int(kick):
                    for g in runner.optim_wrapper.optimizer.param_groups:
                        g["lr"] *= 3
        kwargs["custom_hooks"] = list(kwargs["custom_hooks"] or []) + [KickHook()]
    lr_dump = os.environ.get("HOOKTRACE_TEST_LR_DUMP")
    lrs_seen = []
    if lr_dump:
        from mmengine.hooks import Hook

        class LrDumpHook(Hook):
            priority = "LOWEST"

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                lrs_seen.append(runner.optim_wrapper.optimizer.param_groups[0]["lr"])
        kwargs["custom_hooks"] = list(kwargs["custom_hooks"] or []) + [LrDumpHook()]
    if os.environ.get("HOOKTRACE_TEST_RESUME"):
        # torch ≥ 2.6 loads weights only by default; mmengine 0.10.7's checkpoints hold its
        # HistoryBuffer objects (a checkpoint of this test's own making: trusted).
        os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
        kwargs.update(load_from=os.environ["HOOKTRACE_TEST_RESUME"], resume=True)
    if "val_cfg" in cfg:
        kwargs.update(val_dataloader=loader(data.get("val", 2)), val_cfg=cfg["val_cfg"],
                      val_evaluator=dict(type="NamedMetrics", names=metric_names))
    runner = Runner(**kwargs)
    runner.train()
    if lr_dump:
        with open(lr_dump, "w") as f:
            json.dump(lrs_seen, f)
    dump = os.environ.get("HOOKTRACE_TEST_HUB_DUMP")
    if dump:
        # Every train/ history of the message hub as the run left it (what the step values
        # recorded must equal, name by name).
        hub = runner.message_hub.log_scalars
        with open(dump, "w") as f:
            json.dump({k[len("train/"):]: v.data[0].tolist() for k, v in hub.items() if k.startswith("train/")}, f)


if __name__ == "__main__":
    main()
