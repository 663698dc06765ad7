#!/usr/bin/env python3
"""The peer of `hooktrace record` in tools/bench: mmcv 1.7.2's own EpochBasedRunner running
the hooks of the Faster R-CNN 1x example (traces/examples/faster_rcnn_r50_fpn_1x_coco.json):
StepLrUpdaterHook (linear warmup, steps 8 and 11), OptimizerHook, CheckpointHook,
IterTimerHook, TextLoggerHook, mmdetection's NumClassCheckHook (a check that reads the
model; stubbed as a hook that does nothing) and EvalHook, for 12 epochs of 7330 iterations.

What is stubbed, so that only the runner and its hooks do work:
- the model (train_step returns a constant loss dict), the data loaders (a range of the
  loaders' lengths), the evaluation (a fixed metric), checkpoint files (save_checkpoint
  writes nothing), sleep (mmcv's runner sleeps 2 s per epoch; the sleep is skipped);
- torch, when it is not installed: mmcv's runner and these hooks touch only an optimizer's
  `param_groups`, a loader's length, `torch.no_grad` and a few names at import time, so a
  permissive stand-in module is enough. The script says which it used.

Usage: MMCV_SRC=/path/to/mmcv-1.7.2 python3 tools/mmcv_peer.py [--epochs N] [--iters N]
Exits 3 (and says so) when mmcv's source is not found.
"""
import abc
import argparse
import importlib.abc
import importlib.machinery
import os
import sys
import time
import types


class _Permissive:
    """Any attribute, call, subscript or base class: what import-time code expects."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Permissive()

    def __call__(self, *args, **kwargs):
        return _Permissive()

    def __getitem__(self, key):
        return _Permissive()

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    def __mro_entries__(self, bases):
        return (object,)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _PermissiveType(abc.ABCMeta):
    """A stand-in class: usable as a base, in isinstance, and for any class attribute."""

    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Permissive()


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = _PermissiveType(name, (object,), {"__init__": lambda self, *a, **k: None,
                                                  "__call__": lambda self, *a, **k: _Permissive(),
                                                  "__getattr__": lambda self, n: _Permissive()})
        setattr(self, name, value)
        return value


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, roots):
        self.roots = roots

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        if module.__name__ == "torch":
            module.__version__ = "1.13.0"
            for sub in ("cuda", "distributed"):
                setattr(module, sub, importlib.import_module("torch." + sub))
            module.no_grad = _Permissive
            module.Tensor = _PermissiveType("Tensor", (object,), {})
        if module.__name__ in ("torch.cuda", "torch.distributed"):
            module.is_available = lambda: False
            module.is_initialized = lambda: False
        if module.__name__ == "torch.nn":
            module.Module = _PermissiveType("Module", (object,), {"__init__": lambda self, *a, **k: None})


def load_mmcv():
    src = os.environ.get("MMCV_SRC", "")
    if not os.path.isfile(os.path.join(src, "mmcv", "runner", "epoch_based_runner.py")):
        print("mmcv 1.7.2's source not found (set MMCV_SRC to the unpacked sdist); peer skipped", file=sys.stderr)
        sys.exit(3)
    sys.path.insert(0, src)
    stubbed = []
    try:
        import torch  # noqa: F401
        torch_kind = "real torch " + torch.__version__
    except ImportError:
        stubbed.append("torch")
        torch_kind = "torch stubbed (not installed)"
    # Import-time dependencies of mmcv that the runner never uses.
    for name in ["cv2", "addict", "yapf", "PIL", "torchvision", "tensorboardX", "turbojpeg", "tifffile"]:
        try:
            __import__(name)
        except ImportError:
            stubbed.append(name)
    sys.meta_path.insert(0, _StubFinder(set(stubbed)))
    import mmcv  # noqa: F401
    from mmcv.runner import EpochBasedRunner
    from mmcv.runner.hooks import HOOKS, Hook
    return EpochBasedRunner, HOOKS, Hook, torch_kind


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--iters", type=int, default=7330)
    parser.add_argument("--val", type=int, default=5000)
    args = parser.parse_args()
    EpochBasedRunner, HOOKS, Hook, torch_kind = load_mmcv()
    import logging
    import mmcv.runner.epoch_based_runner as ebr
    import mmcv.runner.checkpoint as ckpt
    from mmcv.runner.hooks import EvalHook

    ebr.time.sleep = lambda s: None  # the runner's 2 s pause per epoch

    class Model:
        def train_step(self, data, optimizer, **kwargs):
            return {"loss": 1.0, "log_vars": {"loss": 1.0, "loss_cls": 0.5, "loss_bbox": 0.5}, "num_samples": 2}

        def val_step(self, data, optimizer, **kwargs):
            return self.train_step(data, optimizer)

        def train(self):
            pass

        def eval(self):
            pass

    import torch
    optimizer_base = torch.optim.Optimizer if "stubbed" in torch_kind else object

    class Optimizer(optimizer_base):
        def __init__(self):
            self.param_groups = [{"lr": 0.02, "momentum": 0.9, "weight_decay": 0.0001}]

        def zero_grad(self):
            pass

        def step(self):
            pass

        def state_dict(self):
            return {}

    class Loss:
        """What OptimizerHook calls: loss.backward()."""
        def backward(self):
            pass

    from torch.utils.data import DataLoader
    loader_base = DataLoader if "stubbed" in torch_kind else object

    class Loader(loader_base):
        """A loader of n batches (EvalHook checks for a DataLoader; with real torch the
        check is met by a real DataLoader instead, below)."""
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

        def __iter__(self):
            return iter(range(self.n))

    class NumClassCheckHook(Hook):
        """mmdetection's check of the model's class count: reads the model, changes nothing."""
        def before_train_epoch(self, runner):
            pass

        def before_val_epoch(self, runner):
            pass

    class StubEval(EvalHook):
        def _do_evaluate(self, runner):
            self.latest_results = None
            runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
            runner.log_buffer.output["bbox_mAP"] = 0.374
            runner.log_buffer.ready = True

    model = Model()
    original = Model.train_step

    def train_step(self, data, optimizer, **kwargs):
        out = original(self, data, optimizer)
        out["loss"] = Loss()
        return out
    Model.train_step = train_step
    ckpt.save_checkpoint = lambda *a, **k: None
    ebr.save_checkpoint = lambda *a, **k: None

    logger = logging.getLogger("peer")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    import tempfile
    work_dir = tempfile.mkdtemp(prefix="hooktrace-mmcv-peer-")
    if "stubbed" in torch_kind:
        optimizer = Optimizer()
    else:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.02, momentum=0.9, weight_decay=0.0001)
    runner = EpochBasedRunner(model, optimizer=optimizer, work_dir=work_dir, logger=logger,
                              meta={"exp_name": "faster_rcnn_r50_fpn_1x_coco.py", "seed": 0}, max_epochs=args.epochs)
    runner.register_training_hooks(
        lr_config={"policy": "step", "warmup": "linear", "warmup_iters": 500, "warmup_ratio": 0.001, "step": [8, 11]},
        optimizer_config={"grad_clip": None},
        checkpoint_config={"interval": 1, "create_symlink": False},
        log_config={"interval": 50, "hooks": [{"type": "TextLoggerHook"}]},
    )
    runner.register_hook(NumClassCheckHook())
    val_loader = Loader(args.val) if "stubbed" in torch_kind else DataLoader(list(range(args.val)), batch_size=1)
    runner.register_hook(StubEval(val_loader, interval=1, save_best=None), priority="LOW")
    start = time.process_time()
    runner.run([Loader(args.iters)], [("train", 1)])
    cpu = time.process_time() - start
    # What shows the hooks ran: the LR in force at the end, and the text logger's records.
    records = 0
    for name in os.listdir(work_dir):
        if name.endswith(".log.json"):
            with open(os.path.join(work_dir, name)) as f:
                records += sum(1 for _ in f)
    print("mmcv 1.7.2 EpochBasedRunner (%s): %d epochs x %d iterations, %.3f s CPU in run(); "
          "runner.iter %d, final lr %r, %d log records"
          % (torch_kind, args.epochs, args.iters, cpu, runner.iter, runner.current_lr()[0], records))


if __name__ == "__main__":
    main()
