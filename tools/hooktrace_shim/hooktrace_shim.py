"""Records every runner.call_hook of an mmcv 1.x or mmengine run for hooktrace.

Standard library only (Python 3.8+). Loaded by sitecustomize.py when
HOOKTRACE_SOCKET is set; patches mmcv.runner.BaseRunner.call_hook and
mmengine.runner.Runner.call_hook as soon as those modules are imported, without
any change to the user's code or config.

Protocol version 5 (docs/SHIM.md is the contract; this is its summary). Each
process (each rank under torch.distributed) connects to the recorder's Unix
socket and sends batches: "M<length>\n" followed by a marshal (version 4) list.
The two hot messages are tuples, so that CPython's C marshaller does the
serialising; the rest are JSON strings:

  (0, STAGE_ID, EPOCH, ITER, INNER_ITER, MODE_ID, T_NS)   a call (stage ids defined by ["stage", id, name];
                                                           modes 0 none, 1 train, 2 val, 3 test; T_NS a
                                                           perf_counter_ns value, hello's t0 its origin)
  (1, KIND, VALUE, NAME)                                  an observation (KIND 0 log_var, 1 num_samples,
                                                           2 metric)
  (2, STEPPED, GRAD_NORM)                                 mmengine's OptimWrapper.update_params: whether the
                                                           optimizer stepped, the clipped norm or None; the
  2                                                        common step (stepped, no clipping, one optimizer)
  (5, STAGE_ID, EPOCH, ITER, INNER_ITER, MODE_ID, T_NS,   mmengine's after_train_iter in one tuple: the step's
   LR_SOURCE, LR, NAME, VALUE, …)                          values (log_var observations), the call, and LR (or
                                                           None: unchanged) of ["lr_source", id, optimizer,
                                                           group, hook]
  (6, STAGE_ID, …, LR_SOURCE, LR, COUNT)                  the same as a row: its values come in the batch's
  (7, ROWS, NAME, [VALUE, …], …)                           next column item, read from the message hub; COUNT
                                                           the counted wrapper's counter (or None): the steps
  (9, COUNT)                                               since the last count ["counter", count] set or a
                                                           row or (9, …) moved go first
  (8, HOOK, BYTES)                                        what was appended to the log file since the last look
  (3, OPTIMIZER, GROUP, LR, HOOK) / (4, …, MOMENTUM, HOOK) a param group's lr / momentum changed, by HOOK

  ["hello", {protocol, t0, rank, world_size, pid, argv, python}]
  ["start", {runner, max_epochs, max_iters, loaders, param_groups, hooks, config, meta}]
                                                          hooks: [{type, priority (int), stages?, priority_label?
                                                          (a priority written as a string, kept verbatim)}]
  ["stage", id, name]
  ["lr", optimizer, group, value, hook] / ["mom", optimizer, group, value, hook]
  ["ckpt", "save"|"remove", path, hook] / ["ckpt", "link", path, hook, target] / ["log", hook, {fields}]
  ["best", key, score, checkpoint, hook]                  a new best score (mmengine's save_best)
  ["span", hook, start_ns, duration_ns]
  ["custom", hook, kind, {fields}]                        an effect without its own message (mmengine's loss
                                                           factor under gradient accumulation)
  ["ema", hook, momentum]                                 an averaged model's update (mmengine's EMAHook)
  ["eval", hook, {results}]                               an mmcv EvalHook's evaluation (its results are also sent
                                                           as metric observations)
  ["step", hook, stepped, grad_norm]                      an mmcv optimizer hook's after_train_iter: whether it
                                                           stepped the optimizer, the clipped norm it logged
  ["stop", hook, reason]                                  a hook stopped the train loop (stop_training)
  ["fault", stage, error]                                 the shim's own failure: nothing is recorded after it
  ["end", status, exit_code, message]

The hot path appends a tuple to a list; serialisation happens once per batch.
"""
import atexit
import json
import marshal
import os
import socket
import sys
import time

_perf_ns = time.perf_counter_ns
_BATCH = 2048
# A batch is sent at least this often (ns), so a kill loses at most this much of the run.
_FLUSH_NS = 500000000


class _Channel(object):
    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buffer = []
        self.failed = False
        # Times are perf_counter_ns values as they are (no subtraction in the hot path);
        # the recorder takes t0, which hello carries, from each.
        self.t0 = _perf_ns()
        # The time after which the next call sends what is waiting (_FLUSH_NS after the
        # last batch sent)
        self.flush_at = self.t0 + _FLUSH_NS
        # The time after which mmengine's fast path looks at what is rare (_fast_rare):
        # flush_at, or -1 once a save or a log record asks for a look at this call's end
        self.deadline = self.flush_at
        # While True, a full buffer waits: a call's tuple is in it and what must come
        # before it (the step's values, read after the hooks) is still to be put there.
        self.hold = False
        # After a fault of the shim's own: nothing more of the run is sent, only its end.
        self.quiet = False

    def send(self, message):
        if self.quiet and message[0] != "end":
            return
        self.buffer.append(json.dumps(message, separators=(",", ":"), default=_jsonable))
        if len(self.buffer) >= _BATCH and not self.hold:
            self.flush()

    def flush(self, force=False):
        # The buffer is emptied in place: call_hook holds a reference to it across sends.
        if self.hold and not force:
            return  # a nested call (before_save_checkpoint) inside a call still being written
        if _cols[4]:
            _close_cols(self.buffer)  # the step values of the rows in this batch
        if not self.buffer or self.failed:
            del self.buffer[:]
            return
        data = marshal.dumps(self.buffer, 4)
        del self.buffer[:]
        self.flush_at = self.deadline = _perf_ns() + _FLUSH_NS
        try:
            if self.sock is None:
                # "@name" is an abstract socket (Linux): nothing on disk, gone with the recorder.
                address = "\0" + self.path[1:] if self.path.startswith("@") else self.path
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(30)
                sock.connect(address)
                self.sock = sock
            self.sock.sendall(b"M%d\n" % len(data) + data)
        except OSError as exc:  # the recorder is gone (or stuck): train on, unrecorded
            self.failed = True
            sys.stderr.write("hooktrace: cannot reach the recorder (%s); the rest of this process is not recorded\n" % (exc,))

    def close(self):
        self.flush(force=True)
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass


def _jsonable(value):
    try:
        return float(value)
    except Exception:
        return str(value)


def _scalar(value):
    """A log value as a JSON scalar (tensors and numpy numbers become floats). Exact types
    only: numpy's float64 is a float subclass that marshal writes as raw bytes, which
    would spoil the whole batch."""
    t = type(value)
    if t is float or t is int or t is bool or t is str or value is None:
        return value
    item = getattr(value, "item", None)
    if item is not None:
        try:
            return item()
        except Exception:
            pass
    try:
        return float(value)
    except Exception:
        return str(value)


PROTOCOL_VERSION = 5

_channel = None
_state = {}
_per_hook_timing = False


def _rank():
    for key in ("RANK", "LOCAL_RANK"):
        if key in os.environ:
            try:
                return int(os.environ[key]), int(os.environ.get("WORLD_SIZE", "1"))
            except ValueError:
                pass
    return 0, 1


def _optimizers(runner):
    opt = getattr(runner, "optimizer", None)
    if opt is None:
        wrapper = getattr(runner, "optim_wrapper", None)
        opt = getattr(wrapper, "optimizer", None) if wrapper is not None else None
        if opt is None and wrapper is not None and hasattr(wrapper, "items"):
            opt = {k: getattr(v, "optimizer", v) for k, v in wrapper.items()}
    if opt is None:
        return []
    if isinstance(opt, dict):
        return [(name, o) for name, o in opt.items()]
    return [("", opt)]


def _groups(runner):
    out = []
    for name, opt in _optimizers(runner):
        for i, g in enumerate(getattr(opt, "param_groups", [])):
            m = g.get("momentum")
            if m is None and "betas" in g:
                m = g["betas"][0]
            out.append((name, i, g.get("lr"), m))
    return out


def _hooks(runner):
    out = []
    for h in getattr(runner, "hooks", getattr(runner, "_hooks", [])):
        raw = getattr(h, "priority", 50)
        info = {"type": type(h).__name__, "priority": _priority_int(raw)}
        if isinstance(raw, str):
            # mmengine keeps a priority as written and lists a string verbatim.
            info["priority_label"] = raw
        stages = _triggered_stages(h)
        if stages is not None:
            info["stages"] = stages
        out.append(info)
    return out


def _triggered_stages(hook):
    """The hook's get_triggered_stages() (mmcv >= 1.3, mmengine), or None."""
    method = getattr(hook, "get_triggered_stages", None)
    if not callable(method):
        return None
    try:
        stages = method()
    except Exception:
        return None
    return [str(s) for s in stages] if isinstance(stages, (list, tuple)) else None


def _priority_int(p):
    if isinstance(p, int):
        return p
    value = getattr(p, "value", None)
    if isinstance(value, int):
        return value
    names = {"HIGHEST": 0, "VERY_HIGH": 10, "HIGH": 30, "ABOVE_NORMAL": 40, "NORMAL": 50,
             "BELOW_NORMAL": 60, "LOW": 70, "VERY_LOW": 90, "LOWEST": 100}
    return names.get(str(p).upper(), 50)


def _hook_named(runner, fragment):
    for h in getattr(runner, "hooks", getattr(runner, "_hooks", [])):
        if fragment in type(h).__name__:
            return type(h).__name__
    return "unknown"


# Hooks known to leave learning rates and momenta alone (mmcv 1.x's, mmengine's and
# mmdetection's): every other hook may write them, and a change is the work of the one
# that ran just before it was seen.
_NON_PARAM_HOOKS = frozenset([
    "IterTimerHook", "CheckpointHook", "TextLoggerHook", "TensorboardLoggerHook", "WandbLoggerHook",
    "MlflowLoggerHook", "NeptuneLoggerHook", "DvcliveLoggerHook", "PaviLoggerHook", "SegmindLoggerHook",
    "ClearMLLoggerHook", "OptimizerHook", "Fp16OptimizerHook", "GradientCumulativeOptimizerHook",
    "GradientCumulativeFp16OptimizerHook", "EvalHook", "DistEvalHook", "DistSamplerSeedHook", "EmptyCacheHook",
    "SyncBuffersHook", "ProfilerHook", "EMAHook", "MemoryProfilerHook", "NumClassCheckHook",
    "CheckInvalidLossHook", "SetEpochInfoHook", "SyncNormHook", "SyncRandomSizeHook", "YOLOXModeSwitchHook",
    "ExpMomentumEMAHook", "LinearMomentumEMAHook", "MMDetWandbHook", "RuntimeInfoHook", "LoggerHook",
    "EarlyStoppingHook", "NaiveVisualizationHook", "NPUProfilerHook", "PrepareTTAHook", "DetVisualizationHook",
    "TrackVisualizationHook", "GroundingVisualizationHook", "MeanTeacherHook", "PipelineSwitchHook",
])


def _identify_setters(runner):
    """Each hook's name in the run (its type, `#2`… for repeats, as the trace names it)
    and the hooks that may write learning rates or momenta. With one such hook every
    change is its own; with several, call_hook runs them one by one in the stages where
    they act and looks after each (attribution by identity, not by class name)."""
    names = {}
    counts = {}
    setters, lr_setters, momentum_setters = [], [], []
    kinds = []  # (hook, may write lrs, may write momenta), for _stage_writers
    for h in getattr(runner, "hooks", getattr(runner, "_hooks", [])):
        kind = type(h).__name__
        counts[kind] = counts.get(kind, 0) + 1
        names[id(h)] = kind if counts[kind] == 1 else "%s#%d" % (kind, counts[kind])
        if kind in _NON_PARAM_HOOKS:
            continue
        setters.append(id(h))
        bases = set(c.__name__ for c in type(h).__mro__)
        # mmcv's updater hooks write one of the two; any other hook may write either.
        if "MomentumUpdaterHook" not in bases:
            lr_setters.append(id(h))
        if "LrUpdaterHook" not in bases:
            momentum_setters.append(id(h))
        kinds.append((h, "MomentumUpdaterHook" not in bases, "LrUpdaterHook" not in bases))
    _state["hook_names"] = names
    _state["setter_kinds"] = kinds
    _state["stage_writers"] = {}
    _state["setters"] = frozenset(setters)
    _state["own_loop"] = len(lr_setters) > 1 or len(momentum_setters) > 1
    if len(lr_setters) == 1:
        _state["lr_hook"] = names[lr_setters[0]]
    if len(momentum_setters) == 1:
        _state["mom_hook"] = names[momentum_setters[0]]


_NO_WRITERS = (False, None, None, {})


def _stage_writers(fn_name, framework):
    """Where several hooks may write learning rates or momenta (_identify_setters'
    `own_loop`), which of them may in the stage fn_name: (whether call_hook must look
    after each of them, the one hook that may write lrs there or None, the one that may
    write momenta there or None, {id: name} of those that may). A hook whose method for
    the stage is certain to do nothing (_does_nothing: the framework's Hook's own, passing
    the call on to an empty method) writes nothing there: a user's hook that acts only at
    an epoch's end leaves after_train_iter to the one scheduler hook, and its fast path."""
    if not _state.get("own_loop"):
        return _NO_WRITERS
    cache = _state.setdefault("stage_writers", {})
    got = cache.get(fn_name)
    if got is None:
        base = _hook_base(framework)
        names = _state.get("hook_names", {})
        lr, mom, acting = [], [], {}
        for hook, writes_lr, writes_mom in _state.get("setter_kinds", ()):
            if not hasattr(hook, fn_name) or base is not None and _does_nothing(hook, fn_name, None, base):
                continue
            acting[id(hook)] = names.get(id(hook))
            if writes_lr:
                lr.append(names.get(id(hook)))
            if writes_mom:
                mom.append(names.get(id(hook)))
        got = cache[fn_name] = (len(lr) > 1 or len(mom) > 1, lr[0] if len(lr) == 1 else None,
                                mom[0] if len(mom) == 1 else None, acting)
    return got


def _run_writers(runner, fn_name, kwargs, hooks, writers, one, changes):
    """mmengine's loop over a fast after_train_iter's hooks where several may write
    learning rates (one param group watched, its momentum not scheduled): after each hook
    that may, the group's lr if it changed, credited to that hook, into `changes` (sent
    after the call), as the general path's _after_setter does."""
    acting, optimizer, index, memo = writers
    group, last = one[0], one[1]
    names = memo[1] if memo[0] is hooks else _writer_names(memo, acting, hooks)  # (no call per call_hook)
    for hook, name in zip(hooks, names):
        try:
            getattr(hook, fn_name)(runner, **kwargs)
        except TypeError as e:
            raise TypeError("%s in %s" % (e, hook)) from None
        if name is not None and not _faulted:
            try:  # (the recorder's own: a fault stops the recording, not the hooks)
                v = group["lr"]
                if v != last[0]:
                    last[0] = v
                    changes.append((3, optimizer, index, v if v.__class__ is float else _scalar(v), name))
            except Exception as exc:
                _fault(fn_name, exc)


def _writer_names(memo, acting, hooks):
    """Each planned hook's name if it may write learning rates or momenta in the stage
    (`acting`: _stage_writers'), else None, parallel to `hooks`; kept in `memo`, made again
    with the plan (a new tuple: the callers look at `memo` first)."""
    memo[1] = tuple(acting.get(id(h)) for h in hooks)
    memo[0] = hooks
    return memo[1]


def _run_mmcv_writers(runner, fn_name, hooks, writers):
    """mmcv's loop over a fast stage's hooks where several may write learning rates or
    momenta: after each hook that may, the param groups' changes, credited to it (the
    call is already in the buffer: they follow it), as the general path's _after_setter."""
    acting, watch, memo = writers
    names = memo[1] if memo[0] is hooks else _writer_names(memo, acting, hooks)
    for hook, name in zip(hooks, names):
        getattr(hook, fn_name)(runner)
        if name is not None and not _faulted:
            try:
                watch(fn_name, name, name)
            except Exception as exc:
                _fault(fn_name, exc)


def _bound_watch(watch, writers):
    """The param groups' watch for a stage whose one writer (_stage_writers) is known."""
    if writers[1] is None and writers[2] is None:
        return watch
    lr_by, mom_by = writers[1], writers[2]
    return lambda stage: watch(stage, lr_by, mom_by)


def _after_setter(runner, fn_name, hook):
    """After one hook ran in a call where several may write learning rates or momenta:
    what it changed is its own (behind the barrier: a fault stops the recording only)."""
    if id(hook) in _state["setters"] and not _faulted:
        try:
            _watch_params(runner, fn_name, _state["hook_names"].get(id(hook)))
        except Exception as exc:
            _fault(fn_name, exc)


def _start(runner, framework):
    _state["runner"] = runner
    _identify_setters(runner)
    # What was there before the run (a resumed run's work_dir, its restored hook_msgs) is
    # not this run's doing: only changes from here on are effects.
    work_dir = getattr(runner, "work_dir", None)
    if work_dir:
        _dir_files(work_dir)
    meta = getattr(runner, "meta", None)
    msgs = meta.get("hook_msgs") if isinstance(meta, dict) else None
    if isinstance(msgs, dict):
        seen = _state.setdefault("hook_msgs", {})
        if msgs.get("last_ckpt") is not None:
            seen["last_ckpt"] = msgs["last_ckpt"]
        if msgs.get("best_ckpt") is not None:
            seen["best"] = (msgs.get("best_score"), msgs.get("best_ckpt"))
    loaders = dict(_state.get("run_loaders") or {})
    for mode in loaders:
        _loaders_sent.add(mode)
        for stage in ("before_%s_epoch" % mode, "before_%s_iter" % mode):
            _loader_pending.discard(stage)
    for mode, loop in (("train", "_train_loop"), ("val", "_val_loop"), ("test", "_test_loop")):
        dl = getattr(getattr(runner, loop, None), "dataloader", None)  # mmengine's built loops
        if dl is not None and mode not in loaders:
            try:
                loaders[mode] = len(dl)
            except TypeError:
                pass
    for h in getattr(runner, "hooks", []):
        dl = getattr(h, "dataloader", None)
        if dl is not None and "Eval" in type(h).__name__:
            try:
                loaders["val"] = len(dl)
            except TypeError:
                pass
    meta = getattr(runner, "meta", None) or {}
    config = meta.get("hooktrace_config") if isinstance(meta, dict) else None
    if config is None and isinstance(meta, dict) and isinstance(meta.get("config"), str):
        config = _replay_config(meta["config"], runner, loaders)
    config_error = None
    if config is None:
        try:
            config = _mmengine_config(runner, loaders) if framework == "mmengine" else _mmcv_config(runner, loaders)
        except Exception as exc:  # the recording goes on; only its replay config is missing
            config_error = "%s: %s" % (type(exc).__name__, exc)
    module = sys.modules.get(framework)
    info = {
        "framework": framework,
        "version": str(getattr(module, "__version__", "")),
        "runner": type(runner).__name__,
        "max_epochs": getattr(runner, "_max_epochs", getattr(runner, "max_epochs", None)),
        "max_iters": getattr(runner, "_max_iters", getattr(runner, "max_iters", None)),
        "loaders": loaders,
        "param_groups": _groups(runner),
        "hooks": _hooks(runner),
        "config": config,
        "config_error": config_error,
        "work_dir": getattr(runner, "work_dir", None),
    }
    _channel.send(["start", info])
    _channel.flush()  # the run's start reaches the trace at once
    wrappers = getattr(runner, "optim_wrapper", None)
    if hasattr(wrappers, "items") and not isinstance(wrappers, dict):
        # An OptimWrapperDict: each wrapper's steps are sent with its name.
        _state["wrapper_names"] = {id(w): name for name, w in wrappers.items()}
    for h in getattr(runner, "hooks", getattr(runner, "_hooks", [])):
        name = type(h).__name__
        if name == "TextLoggerHook" or (framework == "mmengine" and name == "LoggerHook"):
            _state["log_every"] = max(1, int(getattr(h, "interval", 10) or 10))
            _state["log_by_epoch"] = bool(getattr(h, "by_epoch", True))
            _state["log_hook"] = name
            if framework == "mmengine":
                # mmengine's LoggerHook also writes a record at the end of the train loader
                # (batch_idx + 1 == its length): look there too, not one call late.
                try:
                    _state["train_len"] = len(runner.train_loop.dataloader)
                except Exception:
                    pass
        elif name == "CheckpointHook" and not getattr(h, "by_epoch", True):
            _state["ckpt_every"] = max(1, int(getattr(h, "interval", 1) or 1))
            # save_last saves at the run's last iteration too, off the interval.
            _state["ckpt_last"] = bool(getattr(h, "save_last", False))


_HOOK_KEYS = ("optimizer", "optimizer_config", "lr_config", "momentum_config", "checkpoint_config", "log_config",
              "custom_hooks", "evaluation", "workflow", "fp16")


def _replay_config(text, runner, loaders):
    """The run's hook settings as a hooktrace config, from the config text mmdetection
    stores in runner.meta['config'] (parsed with mmcv.Config), so that
    `hooktrace replay` can re-run this run's hooks against its recording."""
    try:
        from mmcv import Config
        cfg = Config.fromstring(text, ".py")
    except Exception:
        return None
    out = {}
    kind = type(runner).__name__
    if kind not in ("EpochBasedRunner", "IterBasedRunner"):
        kind = "IterBasedRunner" if getattr(runner, "_max_epochs", None) is None else "EpochBasedRunner"
    if kind == "EpochBasedRunner":
        out["runner"] = {"type": kind, "max_epochs": getattr(runner, "_max_epochs", None)}
    else:
        out["runner"] = {"type": kind, "max_iters": getattr(runner, "_max_iters", None)}
    for key in _HOOK_KEYS:
        if key in cfg and cfg[key] is not None:
            out[key] = _plain(cfg[key])
    data = {}
    for mode, length in loaders.items():
        data[mode] = length
    try:
        data["samples_per_gpu"] = int(cfg["data"]["samples_per_gpu"])
    except Exception:
        pass
    out["data"] = data
    out["work_dir"] = getattr(runner, "work_dir", None)
    return out


_MMENGINE_DEFAULT_KEYS = (("RuntimeInfoHook", "runtime_info"), ("IterTimerHook", "timer"),
                          ("DistSamplerSeedHook", "sampler_seed"), ("LoggerHook", "logger"),
                          ("ParamSchedulerHook", "param_scheduler"), ("CheckpointHook", "checkpoint"))

# The settings of mmengine's hooks, read back from their attributes (mmengine 0.10.7).
_MMENGINE_HOOK_SETTINGS = {
    "CheckpointHook": ("interval", "by_epoch", "save_optimizer", "save_param_scheduler", "out_dir", "max_keep_ckpts",
                       "save_last", "filename_tmpl", "published_keys", "save_begin", "greater_keys", "less_keys"),
    "LoggerHook": ("interval", "ignore_last", "interval_exp_name", "out_dir", "out_suffix", "keep_local",
                   "log_metric_by_epoch"),
    "EarlyStoppingHook": ("monitor", "rule", "min_delta", "strict", "check_finite", "patience", "stopping_threshold"),
    "EMAHook": ("strict_load", "begin_iter", "begin_epoch"),
}

# Each scheduler class's settings, as attributes of the built scheduler (already converted to
# iterations when the config said convert_to_iter_based; mmdetection's QuadraticWarmup has none).
_SCHEDULER_SETTINGS = {
    "Step": ("step_size", "gamma"), "MultiStep": ("gamma",), "Constant": ("factor",),
    "Linear": ("start_factor", "end_factor"), "Exponential": ("gamma",), "Poly": ("eta_min", "power"),
    "CosineAnnealing": ("T_max", "eta_min", "eta_min_ratio"),
    "CosineRestart": ("periods", "restart_weights", "eta_min", "eta_min_ratio"),
    "OneCycle": ("eta_max", "total_steps", "div_factor", "final_div_factor"),
    "ReduceOnPlateau": ("monitor", "rule", "factor", "patience", "threshold", "threshold_rule", "cooldown", "eps"),
    "QuadraticWarmup": (),
}


def _mmengine_config(runner, loaders):
    """The run's hook settings as a hooktrace config of mmengine's keys, read from the
    built objects (any script: Runner(...) or Runner.from_cfg): the train loop, the
    schedulers, the optimizer wrapper(s), the hooks and the log processor, so that
    `hooktrace replay` can re-run this run's hooks against its recording."""
    out = {}
    loop = getattr(runner, "_train_loop", None)
    name = type(loop).__name__
    train = {"type": name, "val_begin": loop.val_begin, "val_interval": loop.val_interval}
    if name == "IterBasedTrainLoop":
        train["max_iters"] = loop._max_iters
    else:
        train["type"] = "EpochBasedTrainLoop"
        train["max_epochs"] = loop._max_epochs
    milestones = list(getattr(loop, "dynamic_milestones", []) or [])[1:]
    intervals = list(getattr(loop, "dynamic_intervals", []) or [])[1:]
    if milestones:
        train["dynamic_intervals"] = [[m, i] for m, i in zip(milestones, intervals)]
    out["train_cfg"] = train
    if getattr(runner, "_val_loop", None) is not None:
        out["val_cfg"] = {"type": "ValLoop"}
    wrappers = runner.optim_wrapper
    schedulers = runner.param_schedulers
    if hasattr(wrappers, "items") and not hasattr(wrappers, "optimizer"):
        names = [n for n, _ in wrappers.items()]
        out["optim_wrapper"] = dict([("constructor", "MultiOptimWrapperConstructor")] +
                                    [(n, _wrapper_config(w, (schedulers or {}).get(n, []))) for n, w in wrappers.items()])
        out["param_scheduler"] = {n: [_scheduler_config(x, wrappers[n]) for x in (schedulers or {}).get(n, [])] for n in names}
    else:
        out["optim_wrapper"] = _wrapper_config(wrappers, schedulers or [])
        out["param_scheduler"] = [_scheduler_config(x, wrappers) for x in (schedulers or [])]
    default_hooks = {}
    custom = []
    for h in runner.hooks:
        kind = type(h).__name__
        cfg = {"type": kind}
        for key in _MMENGINE_HOOK_SETTINGS.get(kind, ()):
            if hasattr(h, key):
                cfg[key] = _plain(getattr(h, key))
        if kind == "CheckpointHook" and getattr(h, "save_best", None):
            cfg["save_best"] = list(h.save_best)
            if getattr(h, "rules", None) and h.save_best != ["auto"]:
                cfg["rule"] = list(h.rules)
        if kind == "EMAHook":
            ema = dict(getattr(h, "ema_cfg", {}) or {})
            cfg["ema_type"] = ema.pop("type", "ExponentialMovingAverage")
            cfg.update(_plain(ema))
        raw = getattr(h, "priority", 50)
        cfg["priority"] = raw if isinstance(raw, (int, str)) else _priority_int(raw)
        key = next((k for t, k in _MMENGINE_DEFAULT_KEYS if t == kind and k not in default_hooks), None)
        if key is not None:
            default_hooks[key] = cfg
        else:
            custom.append(cfg)
    for _, key in _MMENGINE_DEFAULT_KEYS:
        default_hooks.setdefault(key, None)  # a default hook the run does not have
    out["default_hooks"] = default_hooks
    out["custom_hooks"] = custom
    p = getattr(runner, "log_processor", None)
    if p is not None:
        out["log_processor"] = {"window_size": p.window_size, "by_epoch": p.by_epoch, "custom_cfg": _plain(p.custom_cfg),
                                "num_digits": p.num_digits, "log_with_hierarchy": p.log_with_hierarchy}
    if getattr(runner, "_load_from", None):
        out["load_from"] = str(runner._load_from)
        out["resume"] = bool(getattr(runner, "_resume", False))
    out["data"] = dict(loaders)
    out["work_dir"] = getattr(runner, "work_dir", None)
    return out


# mmcv 1.x's schedule hooks: each policy's settings, as attributes of the built hook
# (mmcv 1.7.2's lr_updater.py and momentum_updater.py; mmdetection's YOLOX policy).
_MMCV_LR_SETTINGS = {
    "Fixed": (), "Step": ("step", "gamma", "min_lr"), "Exp": ("gamma",), "Poly": ("power", "min_lr"),
    "Inv": ("gamma", "power"), "CosineAnnealing": ("min_lr", "min_lr_ratio"),
    "FlatCosineAnnealing": ("start_percent", "min_lr", "min_lr_ratio"),
    "CosineRestart": ("periods", "restart_weights", "min_lr", "min_lr_ratio"),
    "Cyclic": ("target_ratio", "cyclic_times", "step_ratio_up", "gamma"),
    "OneCycle": ("total_steps", "pct_start", "div_factor", "final_div_factor", "three_phase"),
    "LinearAnnealing": ("min_lr", "min_lr_ratio"), "YOLOX": ("num_last_epochs", "min_lr_ratio"),
}
_MMCV_MOMENTUM_SETTINGS = {
    "Step": ("step", "gamma", "min_momentum"), "CosineAnnealing": ("min_momentum", "min_momentum_ratio"),
    "LinearAnnealing": ("min_momentum", "min_momentum_ratio"),
    "Cyclic": ("target_ratio", "cyclic_times", "step_ratio_up", "gamma"),
    "OneCycle": ("pct_start", "three_phase"),
}
_MMCV_LOGGER_SETTINGS = ("interval", "ignore_last", "reset_flag", "by_epoch", "interval_exp_name", "out_dir",
                         "out_suffix", "keep_local")


def _schedule_config(h, policy, settings, warmup_key):
    cfg = {"policy": policy, "by_epoch": bool(h.by_epoch)}
    if getattr(h, "warmup", None):
        cfg["warmup"] = h.warmup
        cfg["warmup_ratio"] = h.warmup_ratio
        if getattr(h, "warmup_by_epoch", False):
            cfg["warmup_by_epoch"] = True
            cfg["warmup_iters"] = h.warmup_epochs
        else:
            cfg["warmup_iters"] = h.warmup_iters
    for key in settings:
        if hasattr(h, key):
            cfg[key] = _plain(getattr(h, key))
    anneal = getattr(getattr(h, "anneal_func", None), "__name__", "")
    if anneal:
        cfg["anneal_strategy"] = "linear" if "linear" in anneal else "cos"
    return cfg


def _mmcv_config(runner, loaders):
    """The run's hook settings as an mmcv 1.x hooktrace config, read from the hooks the
    runner holds (any script: register_training_hooks or register_hook), so that
    `hooktrace replay` can re-run them: the schedules' policies and settings, the
    optimizer, checkpoint, logger and evaluation hooks, and the rest as custom hooks."""
    kind = type(runner).__name__
    if kind not in ("EpochBasedRunner", "IterBasedRunner"):
        kind = "IterBasedRunner" if getattr(runner, "_max_epochs", None) is None else "EpochBasedRunner"
    out = {"runner": {"type": kind, "max_epochs": runner._max_epochs} if kind == "EpochBasedRunner"
           else {"type": kind, "max_iters": runner._max_iters}}
    if _state.get("workflow"):
        out["workflow"] = _state["workflow"]
    opt = runner.optimizer
    if isinstance(opt, dict):
        out["optimizer"] = {name: _mmcv_optimizer(o) for name, o in opt.items()}
    elif opt is not None:
        out["optimizer"] = _mmcv_optimizer(opt)
    custom = []
    loggers = []
    out["optimizer_config"] = None
    out["checkpoint_config"] = None
    for h in runner.hooks:
        name = type(h).__name__
        raw = getattr(h, "priority", 50)
        priority = raw if isinstance(raw, (int, str)) else _priority_int(raw)
        if name.endswith("LrUpdaterHook") and "lr_config" not in out:
            policy = name[:-len("LrUpdaterHook")]
            out["lr_config"] = _schedule_config(h, policy, _MMCV_LR_SETTINGS.get(policy, ()), "warmup_iters")
            if policy == "OneCycle":
                out["lr_config"]["max_lr"] = _plain(h._max_lr)
        elif name.endswith("MomentumUpdaterHook") and "momentum_config" not in out:
            policy = name[:-len("MomentumUpdaterHook")]
            out["momentum_config"] = _schedule_config(h, policy, _MMCV_MOMENTUM_SETTINGS.get(policy, ()), "warmup_iters")
            if policy == "OneCycle":
                out["momentum_config"]["base_momentum"] = _plain(h._base_momentum)
                out["momentum_config"]["max_momentum"] = _plain(h._max_momentum)
        elif name in ("OptimizerHook", "Fp16OptimizerHook", "GradientCumulativeOptimizerHook",
                      "GradientCumulativeFp16OptimizerHook") and out["optimizer_config"] is None:
            cfg = {"grad_clip": _plain(getattr(h, "grad_clip", None))}
            if name != "OptimizerHook":
                cfg["type"] = name
            if "Cumulative" in name:
                cfg["cumulative_iters"] = h.cumulative_iters
            out["optimizer_config"] = cfg
        elif name == "CheckpointHook" and out["checkpoint_config"] is None:
            out["checkpoint_config"] = {"interval": h.interval, "by_epoch": h.by_epoch, "save_optimizer": h.save_optimizer,
                                        "out_dir": h.out_dir, "max_keep_ckpts": h.max_keep_ckpts, "save_last": h.save_last}
        elif name.endswith("LoggerHook") and hasattr(h, "interval"):
            cfg = {"type": name}
            for key in _MMCV_LOGGER_SETTINGS:
                if hasattr(h, key):
                    cfg[key] = _plain(getattr(h, key))
            loggers.append(cfg)
        elif name == "IterTimerHook":
            pass  # registered by register_training_hooks
        elif name in ("EvalHook", "DistEvalHook") and "evaluation" not in out:
            ev = {"interval": h.interval, "by_epoch": h.by_epoch, "start": h.start}
            if getattr(h, "save_best", None):
                ev["save_best"] = h.save_best
                if getattr(h, "rule", None):
                    ev["rule"] = h.rule
            for key, value in (getattr(h, "eval_kwargs", None) or {}).items():
                if isinstance(value, (str, int, float, bool, list, tuple)):
                    ev[key] = _plain(value)
            out["evaluation"] = ev
            try:
                loaders.setdefault("val", len(h.dataloader))
            except Exception:
                pass
        elif name in ("ExpMomentumEMAHook", "LinearMomentumEMAHook"):
            # mmdetection 2.x's: total_iter and warm_up live only in the momentum function's
            # closure (its free variables, by name).
            cfg = {"type": name, "priority": priority, "momentum": h.momentum, "interval": h.interval,
                   "skip_buffers": bool(getattr(h, "skip_buffers", False))}
            fn = getattr(h, "momentum_fun", None)
            try:
                free = dict(zip(fn.__code__.co_freevars, [c.cell_contents for c in fn.__closure__ or ()]))
            except Exception:
                free = {}
            key = "total_iter" if name == "ExpMomentumEMAHook" else "warm_up"
            if isinstance(free.get(key), int):
                cfg[key] = free[key]
            custom.append(cfg)
        elif name == "EMAHook":
            # mmcv keeps momentum ** interval; the config's momentum is its interval-th root.
            momentum = h.momentum if h.interval == 1 else h.momentum ** (1.0 / h.interval)
            custom.append({"type": name, "priority": priority, "momentum": momentum, "interval": h.interval,
                           "warm_up": h.warm_up})
        else:
            cfg = {"type": name, "priority": priority}
            custom.append(cfg)
    if loggers:
        out["log_config"] = {"interval": loggers[0].get("interval", 10), "hooks": loggers}
    out["custom_hooks"] = custom
    out["data"] = dict(loaders)
    out["work_dir"] = getattr(runner, "work_dir", None)
    meta = getattr(runner, "meta", None)
    if meta is None:
        out["simulation"] = {"meta": False}  # no before_run log record, no hook_msgs
    elif isinstance(meta, dict):
        # What TextLoggerHook dumps at before_run: the meta, top-level floats rounded to 5
        # digits as its _dump_log does.
        plain = json.loads(json.dumps(meta, default=str))
        out["simulation"] = {"meta": {k: (round(v, 5) if isinstance(v, float) else v) for k, v in plain.items()}}
    return out


def _mmcv_optimizer(opt):
    """An optimizer's type and settings as its groups had them before any schedule."""
    defaults = dict(getattr(opt, "defaults", {}) or {})
    groups = opt.param_groups
    out = {"type": type(opt).__name__, "lr": groups[0].get("initial_lr", groups[0]["lr"])}
    for key in ("momentum", "weight_decay", "dampening", "eps", "nesterov", "amsgrad"):
        if isinstance(defaults.get(key), (int, float, bool)):
            out[key] = defaults[key]
    if "betas" in defaults:
        out["betas"] = list(groups[0].get("betas", defaults["betas"]))
    if "momentum" in groups[0]:
        out["momentum"] = groups[0]["momentum"]
    if len(groups) > 1:
        out["param_groups"] = [dict([("lr", g.get("initial_lr", g["lr"]))] +
                                    ([("momentum", g["momentum"])] if "momentum" in g else []))
                               for g in groups]
    return out


def _starting_values(wrapper, schedulers, param):
    """Each raw group's `param` before the schedulers were built: the base values of the
    first scheduler of it (setdefault('initial_<param>') recorded them), unless that is
    OneCycle (which overwrites them and makes the earlier value irrelevant); else the
    group's current value."""
    groups = wrapper.optimizer.param_groups
    for s in schedulers:
        if getattr(s, "param_name", None) == param:
            if type(s).__name__.startswith("OneCycle"):
                break
            base = list(getattr(s, "base_values", []) or [])
            if len(base) >= len(groups):
                return base[:len(groups)]
            break
    return [_momentum(g) if param == "momentum" else g.get(param) for g in groups]


_OPTIMIZER_SETTINGS = ("weight_decay", "eps", "dampening", "alpha", "rho", "lr_decay", "lambd", "t0",
                       "momentum_decay", "initial_accumulator_value", "nesterov", "amsgrad", "centered")


def _wrapper_config(wrapper, schedulers):
    opt = wrapper.optimizer
    defaults = dict(opt.defaults)
    optimizer = {"type": type(opt).__name__, "lr": defaults.get("lr")}
    if "momentum" in defaults:
        optimizer["momentum"] = defaults["momentum"]
    if "betas" in defaults:
        optimizer["betas"] = list(defaults["betas"])
    for key in _OPTIMIZER_SETTINGS:
        if isinstance(defaults.get(key), (int, float, bool)):
            optimizer[key] = defaults[key]
    groups = opt.param_groups
    scheduled = set(getattr(s, "param_name", "lr") for s in schedulers)
    starts = {p: _starting_values(wrapper, schedulers, p) for p in ["lr", "momentum"] + sorted(scheduled - {"lr", "momentum"})}
    rows = []
    for i, g in enumerate(groups):
        row = {"lr": starts["lr"][i]}
        if "betas" in g:
            row["betas"] = [starts["momentum"][i], g["betas"][1]]
        elif "momentum" in g:
            row["momentum"] = starts["momentum"][i]
        for key in _OPTIMIZER_SETTINGS:
            value = starts[key][i] if key in starts else g.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value != defaults.get(key):
                row[key] = value
        rows.append(row)
    if len(groups) == 1:
        optimizer.update(rows[0])  # one group: its own values are the optimizer's
    else:
        optimizer["param_groups"] = rows
    out = {"type": type(wrapper).__name__, "optimizer": optimizer}
    counts = getattr(wrapper, "_accumulative_counts", 1)
    if counts != 1:
        out["accumulative_counts"] = counts
    clip = getattr(wrapper, "clip_grad_kwargs", None)
    if clip:
        clip = dict(clip)
        if getattr(getattr(wrapper, "clip_func", None), "__name__", "") == "clip_grad_value_":
            clip["type"] = "value"
        out["clip_grad"] = _plain(clip)
    return out


def _scheduler_config(s, wrapper):
    kind = type(s).__name__
    family = kind
    for suffix in ("ParamScheduler", "Momentum", "LR"):
        if kind.endswith(suffix):
            family = kind[:-len(suffix)]
            break
    cfg = {"type": kind, "begin": s.begin, "end": s.end, "by_epoch": bool(s.by_epoch)}
    if kind.endswith("ParamScheduler"):
        cfg["param_name"] = s.param_name
    # last_step as given: the construction step (in range at step 0) has counted one.
    given = s.last_step - (1 if family != "ReduceOnPlateau" and s.begin <= 0 < s.end else 0)
    if given != -1:
        cfg["last_step"] = given
    for key in _SCHEDULER_SETTINGS.get(family, ()):
        if hasattr(s, key) and getattr(s, key) is not None:
            cfg[key] = _plain(getattr(s, key))
    if family == "MultiStep":
        cfg["milestones"] = sorted(s.milestones.elements())
    elif family == "Constant" or family == "Linear" or family == "Poly":
        pass  # total_iters is end - begin - 1, from begin and end
    elif family == "OneCycle":
        phases = s._schedule_phases
        total = s.total_steps
        # pct_start such that pct × total − 1 gives back the first phase's end exactly.
        pct = (phases[0]["end_step"] + 1) / total
        for _ in range(4):
            if pct * total - 1 == phases[0]["end_step"]:
                break
            pct = pct + (phases[0]["end_step"] + 1 - pct * total) / total
        cfg["pct_start"] = float(pct)
        cfg["three_phase"] = len(phases) == 3
        cfg["anneal_strategy"] = "linear" if "linear" in getattr(s.anneal_func, "__name__", "") else "cos"
    elif family == "ReduceOnPlateau":
        n = len(wrapper.optimizer.param_groups)
        values = list(s.min_values)[:n]
        cfg["min_value"] = values[0] if len(set(values)) == 1 else values
    return cfg


def _plain(value):
    """mmcv ConfigDicts and tuples as JSON-able dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _files(work_dir, stamps=None):
    """Checkpoint files in work_dir: name -> link target (None for a regular file;
    mmengine's last_checkpoint file -> the path it names). `stamps`, a dict, gets each
    regular checkpoint's (modification time, size, inode) from the same scan: a file
    written again shows a new one."""
    try:
        out = {}
        for e in os.scandir(work_dir):
            if e.name.endswith(".pth"):
                link = e.is_symlink()
                out[e.name] = os.readlink(e.path) if link else None
                if stamps is not None and not link:
                    st = e.stat(follow_symlinks=False)
                    stamps[e.name] = (st.st_mtime_ns, st.st_size, st.st_ino)
            elif e.name == "last_checkpoint" and e.is_file(follow_symlinks=False):
                # mmengine's pointer to the newest checkpoint (a text file): a link.
                with open(e.path) as f:
                    out[e.name] = f.read(4096).strip()
        return out
    except OSError:
        return {}


def _dir_files(path, baseline=None):
    """The followed checkpoint files of a directory (name -> link target), as last seen:
    work_dir's from the run's start, and those of every other directory a checkpoint is
    saved to (a CheckpointHook's out_dir) from its first save (`baseline`: its files before
    that save; else as they are now). Files there before are not this run's doing."""
    dirs = _state.setdefault("dirs", {})
    key = os.path.abspath(path)
    entry = dirs.get(key)
    if entry is None:
        entry = dirs[key] = (path, _files(path) if baseline is None else dict(baseline))
    return entry[1]


def _param_groups(runner):
    out = []
    for name, opt in _optimizers(runner):
        for i, g in enumerate(getattr(opt, "param_groups", [])):
            out.append((name, i, g))
    return out


def _momentum(g):
    m = g.get("momentum")
    if m is None and "betas" in g:
        m = g["betas"][0]
    return m


def _setter(runner, mmcv_fragment):
    """The hook that writes learning rates or momenta: mmcv's updater hook, or mmengine's
    ParamSchedulerHook (which steps every scheduler of the run)."""
    name = _hook_named(runner, mmcv_fragment)
    return name if name != "unknown" else _hook_named(runner, "ParamSchedulerHook")


def _schedules_momentum(runner):
    """Whether a hook or scheduler of this run may change momenta: mmcv's momentum
    updater hooks, or an mmengine param scheduler of `momentum` (its momentum schedulers
    write betas[0] of Adam-family optimizers through a `momentum` key too)."""
    if _hook_named(runner, "MomentumUpdaterHook") != "unknown":
        return True
    schedulers = getattr(runner, "param_schedulers", None)
    if isinstance(schedulers, dict):
        schedulers = [s for v in schedulers.values() for s in (v if isinstance(v, list) else [v])]
    elif not isinstance(schedulers, (list, tuple)):
        schedulers = [schedulers] if schedulers is not None else []
    return any(getattr(s, "param_name", None) == "momentum" for s in schedulers)


def _watch_params(runner, stage, by=None):
    """Learning rates and momenta that changed in this call (they change only in the
    stages where the updaters act), by hook `by` when call_hook ran the hooks one by one."""
    _fast_watch(runner)(stage, by, by)


def _watcher(runner):
    """The run's watch on its param groups, with what it needs bound once (this runs after
    every call of the stages where learning rates change; plain loops: comprehensions
    cost a frame each)."""
    pgs = _param_groups(runner)
    lrs = [g.get("lr") for _, _, g in pgs]
    moms = [_momentum(g) for _, _, g in pgs]
    watch_momentum = _schedules_momentum(runner)
    append = _channel.buffer.append  # emptied in place by each flush (replaced only by a fault: nothing is sent after it)
    st = _state
    def watch(stage, by=None, mom_by=None):
        # by, mom_by: the hook that wrote lrs, momenta (None: the run's one writer).
        i = 0
        for name, index, g in pgs:
            v = g.get("lr")
            if v != lrs[i]:
                hook = by or st.get("lr_hook")
                if hook is None:
                    hook = st["lr_hook"] = _setter(runner, "LrUpdaterHook")
                # A tuple, not JSON: a schedule may change the lr at every iteration.
                append((3, name, index, v if v.__class__ is float else _scalar(v), hook))
                lrs[i] = v
            i += 1
        if watch_momentum or stage == "before_run" or stage == "after_run":
            i = 0
            for name, index, g in pgs:
                m = _momentum(g)
                if m != moms[i] and m is not None:
                    hook = mom_by or st.get("mom_hook")
                    if hook is None:
                        hook = st["mom_hook"] = _setter(runner, "MomentumUpdaterHook")
                    append((4, name, index, m if m.__class__ is float else _scalar(m), hook))
                    moms[i] = m
                i += 1
    if len(pgs) == 1 and not watch_momentum:
        # One param group whose momentum no scheduler changes (the common case): its lr
        # read directly; the momentum looked at where it may change otherwise.
        only = pgs[0][2]

        def watch_one(stage, by=None, mom_by=None):
            v = only.get("lr")
            if v != lrs[0] or stage == "before_run" or stage == "after_run":
                watch(stage, by, mom_by)
        # For mmengine's fast path, which reads the one lr inline: the group, where the last
        # value seen is kept, the optimizer's name and the group's index.
        watch_one.one = (only, lrs, pgs[0][0], pgs[0][1])
        return watch_one
    return watch


def _calling_hook(runner):
    """The registered hook whose method is running further up the stack (the one that
    called runner.save_checkpoint, say), by identity: its name in the run, or None.
    Walks frames only when a checkpoint is written, which is rare."""
    names = _state.get("hook_names")
    if not names:
        return None
    f = sys._getframe(2)
    depth = 0
    while f is not None and depth < 40:
        s = f.f_locals.get("self")
        if s is not None and s is not runner:
            name = names.get(id(s))
            if name is not None:
                return name
        f = f.f_back
        depth += 1
    return None


def _saver(runner, name):
    """The hook that wrote a checkpoint file when the writer was not seen (a file found by
    the directory scan): mmcv's EvalHook keeps the best_ files; in mmengine (no EvalHook)
    CheckpointHook writes them all."""
    if name.startswith("best_"):
        evaluator = _hook_named(runner, "EvalHook")
        if evaluator != "unknown":
            return evaluator
    return _hook_named(runner, "CheckpointHook")


def _scan(runner, remover=None):
    """Checkpoints that appeared, changed link or went (in work_dir and in every other
    directory saved to), and new log records. `remover`: the hook whose method is running
    (mmengine's CheckpointHook removes its oldest checkpoint before it saves the next)."""
    st = _state
    work_dir = getattr(runner, "work_dir", None)
    if work_dir:
        _dir_files(work_dir)
    # Old checkpoints go right after a save, in the saving hook's method (max_keep_ckpts,
    # the previous best): a removal is the hook's that last saved a file of that kind in
    # that directory since the last scan (each CheckpointHook keeps its own out_dir).
    last = st.pop("last_saver", None) or {}
    dirs = st.get("dirs", {})
    for key in sorted(dirs):
        shown, before = dirs[key]
        files = _files(shown)
        for name in sorted(files):
            if name in before and before[name] == files[name]:
                continue
            hook = _saver(runner, name)
            if files[name] is not None:
                _channel.send(["ckpt", "link", os.path.join(shown, name), hook, files[name]])
            else:
                _channel.send(["ckpt", "save", os.path.join(shown, name), hook])
        for name in sorted(set(before) - set(files)):
            hook = last.get((key, name.startswith("best_"))) or remover or _saver(runner, name)
            _channel.send(["ckpt", "remove", os.path.join(shown, name), hook])
        dirs[key] = (shown, files)
    _hook_messages(runner)
    _tail_log(runner)


def _hook_messages(runner):
    """mmcv 1.x's runner.meta['hook_msgs'] as its hooks change it: CheckpointHook's
    last_ckpt (a custom "hook_msgs" effect), EvalHook's best_score and best_ckpt (a "best")."""
    meta = getattr(runner, "meta", None)
    msgs = meta.get("hook_msgs") if isinstance(meta, dict) else None
    if not isinstance(msgs, dict):
        return
    seen = _state.setdefault("hook_msgs", {})
    last = msgs.get("last_ckpt")
    if last is not None and last != seen.get("last_ckpt"):
        seen["last_ckpt"] = last
        _channel.send(["custom", _hook_named(runner, "CheckpointHook"), "hook_msgs", {"last_ckpt": str(last)}])
    best = (msgs.get("best_score"), msgs.get("best_ckpt"))
    if best[1] is not None and best != seen.get("best"):
        seen["best"] = best
        hook = _hook_named(runner, "EvalHook")
        key = next((getattr(h, "key_indicator", None) for h in runner.hooks if type(h).__name__ == hook), None)
        _channel.send(["best", str(key), _scalar(best[0]), str(best[1]), hook])


def _find_log(runner):
    """The file the run's log records go to, once it exists: mmcv's <timestamp>.log.json in
    work_dir, or the scalars.json of mmengine's local visualization backend."""
    candidates = []
    vis = getattr(runner, "visualizer", None)
    backends = getattr(vis, "_vis_backends", None)
    if isinstance(backends, dict):
        for backend in backends.values():
            path = getattr(backend, "_scalar_save_file", None)
            if isinstance(path, str) and os.path.isabs(path):
                candidates.append(path)
    log_dir = getattr(runner, "log_dir", None)
    if isinstance(log_dir, str):
        candidates.append(os.path.join(log_dir, "vis_data", "scalars.json"))
    for path in candidates:
        if os.path.isfile(path):
            return path
    work_dir = getattr(runner, "work_dir", None)
    if not work_dir:
        return None
    try:
        logs = sorted(e.path for e in os.scandir(work_dir) if e.name.endswith(".log.json"))
    except OSError:
        return None
    return logs[-1] if logs else None


def _tail_log(runner):
    """Sends what was appended to the log file since the last look, as it is: `(8, HOOK,
    BYTES)`, the records (a JSON object per line) of the logger hook HOOK; the recorder
    splits the lines (a line cut at the end waits for the next bytes)."""
    _log_due[0] = False
    if _faulted:
        return
    st = _state
    fd = st.get("log_fd")
    if fd is None:
        path = _find_log(runner)
        if path is None:
            return
        try:
            # Kept open, read raw: each look is one read(2) of what was appended since the
            # last (a short read is the file's end), no open, seek or decoding of nothing.
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        st["log_fd"] = fd
    try:
        data = os.read(fd, 65536)
        if len(data) == 65536:
            chunks = [data]
            while len(chunks[-1]) == 65536:
                chunks.append(os.read(fd, 65536))
            data = b"".join(chunks)
    except OSError:
        return
    if data:
        _channel.buffer.append((8, st.get("log_hook", "TextLoggerHook"), data))


def _observe(runner, stage):
    try:
        outputs = runner.outputs
    except AttributeError:
        return
    st = _state
    if outputs.__class__ is not dict or outputs is st.get("outputs"):
        return
    st["outputs"] = outputs
    append = _channel.buffer.append
    log_vars = outputs.get("log_vars")
    if log_vars:
        for name, value in log_vars.items():
            append((1, 0, value if value.__class__ is float else _scalar(value), name))
    n = outputs.get("num_samples")
    if n is not None:
        append((1, 1, n if n.__class__ is int else _scalar(n), "num_samples"))


# Stages after which learning rates or momenta can have changed (the updaters act in
# before_run / before_*_epoch / before_*_iter); checking after every call would double the cost.
_LR_STAGES = frozenset(["before_run", "before_train_epoch", "before_train_iter", "before_epoch",
                        "after_train_epoch", "after_run", "before_val_epoch"])
# mmengine: its ParamSchedulerHook writes the next iteration's values at the end of one.
_MMENGINE_LR_STAGES = frozenset(["before_run", "before_train", "after_train_iter", "after_train_epoch",
                                 "after_val_epoch", "after_run"])
# Stages after which checkpoints and log records are looked for.
_SCAN_STAGES = frozenset(["after_train_epoch", "after_val_epoch", "after_run", "after_epoch", "after_train", "after_val"])
_started = False
_stage_ids = {}
_LOADER_STAGES = frozenset(["before_train_epoch", "before_val_epoch", "before_train_iter", "before_val_iter"])
_loaders_sent = set()
# Stages whose loader length is still unknown; emptied as the lengths are sent.
_loader_pending = set(_LOADER_STAGES)


def _loader(runner):
    """The length of the current data loader, once per mode (known only once training starts)."""
    mode = getattr(runner, "mode", None)
    if mode in _loaders_sent or mode is None:
        return
    dl = getattr(runner, "data_loader", None)
    try:
        length = len(dl)
    except TypeError:
        return
    _loaders_sent.add(mode)
    for stage in ("before_%s_epoch" % mode, "before_%s_iter" % mode):
        _loader_pending.discard(stage)
    _channel.send(["loader", mode, length])
_MODES = {None: 0, "train": 1, "val": 2, "test": 3}


_faulted = False
# The last mmengine OptimWrapper seen to step plainly (no accumulation, no clipping,
# unnamed): its steps take update_params' short way (none after a fault).
_plain_wrapper = [None]
# The plain OptimWrapper whose steps are told by its own counter (`_inner_count`, one per
# backward) at each after_train_iter instead of by wrapping update_params, and the count
# _count_steps last sent.
_counted = [None, 0]
# A log record was written (mmengine's LocalVisBackend dumped one): the end of the call
# looks at the log file (_tail_log).
_log_due = [False]
# The train_step methods known to call update_params once per step and backward nowhere else.
_OWN_TRAIN_STEPS = frozenset([("mmengine.model.base_model.base_model", "BaseModel.train_step"),
                              ("mmengine.model.wrappers.distributed", "MMDistributedDataParallel.train_step")])


def _fault(stage, exc):
    """A fault of the recorder's own (not of the training's hooks): said once on stderr
    and to the recorder, which keeps the trace up to here; from then on call_hook is the
    framework's own."""
    global _faulted
    if _faulted:
        return
    _faulted = True
    _fast.clear()  # the fast paths: from now on every call takes the checked one
    _fast_mmcv.clear()
    what = "%s: %s" % (type(exc).__name__, exc)
    try:
        _count_steps(_channel.buffer)
    except Exception:
        pass
    try:
        sys.stderr.write("hooktrace: the recorder failed in %s (%s); the training goes on, unrecorded from here\n" % (stage, what))
    except Exception:
        pass
    try:
        _channel.send(["fault", stage, what])
        _channel.hold = False
        _channel.flush()
    except Exception:
        pass
    # Nothing of the run follows the fault: a call under way when it came (the fast paths
    # hold the buffer across the hooks) adds to the old buffer, never sent; messages are
    # dropped but the run's end.
    _channel.buffer = []
    _channel.quiet = True
    _plain_wrapper[0] = None
    _counted[0] = None
    _no_cols()


def _patch_mmcv_save(cls):
    """mmcv's runner.save_checkpoint (CheckpointHook's saves, EvalHook's best): the files
    it wrote or relinked, reported as it returns and credited to the hook that called it
    (by identity), instead of being found by the scan after the call."""
    original = cls.__dict__.get("save_checkpoint")
    if original is None or getattr(original, "_hooktrace", False):
        return

    def look(self, args, kwargs):
        out_dir = args[0] if args else kwargs.get("out_dir")
        stamps = {}
        return out_dir, _files(out_dir, stamps) if out_dir else {}, stamps

    def report(self, seen, args, kwargs):
        out_dir, before, stamps = seen
        # A file written again under the same name (a resumed run's epoch saved anew) has a
        # new modification time.
        rewritten = {}
        after = _files(out_dir, rewritten)
        changed = [n for n in sorted(after) if n not in before or before[n] != after[n]
                   or (after[n] is None and stamps.get(n) != rewritten.get(n))]
        if changed:
            hook = _calling_hook(self)
            files = _dir_files(out_dir, before)
            for name in changed:
                who = hook or _saver(self, name)
                path = os.path.join(out_dir, name)
                if after[name] is not None:
                    _channel.send(["ckpt", "link", path, who, after[name]])
                else:
                    _channel.send(["ckpt", "save", path, who])
                    _state.setdefault("last_saver", {})[(os.path.abspath(out_dir), name.startswith("best_"))] = who
                files[name] = after[name]  # seen: the scan after the call does not report it again

    cls.save_checkpoint = _observed(original, look, report, "save_checkpoint")


def _observed(original, look, report, where):
    """`original` (a method) wrapped: `look(self, args, kwargs)` before it, then the call,
    then `report(self, seen, args, kwargs)`. A failure of `look` skips the report; one of
    `report` ends the recording (a fault); the call itself is never affected."""
    def observed(self, *args, **kwargs):
        if _faulted:
            return original(self, *args, **kwargs)
        try:
            seen = look(self, args, kwargs)
        except Exception:
            seen = None
        result = original(self, *args, **kwargs)
        if seen is None or _faulted:
            return result
        try:
            report(self, seen, args, kwargs)
        except Exception as exc:
            _fault(where, exc)
        return result

    observed._hooktrace = True
    return observed


def _patch_mmcv(module):
    for name in ("EpochBasedRunner", "IterBasedRunner"):
        cls = getattr(module, name, None)
        if cls is not None:
            _patch_mmcv_save(cls)
            _patch_run(cls)
    runner_cls = getattr(module, "BaseRunner", None)
    if runner_cls is None or getattr(runner_cls.call_hook, "_hooktrace", False):
        return
    original = runner_cls.call_hook
    # mmcv's call_hook is its plain loop (every 1.x release's: each hook's method called):
    # the fast path runs it itself (_plan_calls).
    own = _is_plain_hook_loop(original, "mmcv")
    lr_stages = _LR_STAGES
    scan_stages = _SCAN_STAGES
    loader_stages = _LOADER_STAGES
    modes = _MODES
    perf = _perf_ns

    fast = _fast_mmcv
    seen = [None]  # the last train step's outputs, observed once

    def call_hook(self, fn_name):
        # The recorder's work before and after the hooks runs behind a barrier: a fault of
        # its own stops the recording (said once), never the training. The hooks' own
        # exceptions pass through untouched. (Inline, not helper functions: this runs for
        # every call_hook of the training.)
        global _started
        f = fast.get(fn_name)
        if f is not None:
            # The iteration stages, with what they need worked out once (see the end).
            ch = _channel
            try:
                sid, observe, train, one, watch, ckpt_every, ckpt_last, log_every, log_by_epoch, plan, writers = f
                buf = ch.buffer
                if observe:
                    outputs = getattr(self, "outputs", None)
                    if outputs.__class__ is dict and outputs is not seen[0]:
                        seen[0] = outputs
                        log_vars = outputs.get("log_vars")
                        if log_vars:
                            for name, value in log_vars.items():
                                buf.append((1, 0, value if value.__class__ is float else _scalar(value), name))
                        n = outputs.get("num_samples")
                        if n is not None:
                            buf.append((1, 1, n if n.__class__ is int else _scalar(n), "num_samples"))
                t = perf()
                i = self._iter
                buf.append((0, sid, self._epoch, i, self._inner_iter, modes.get(self.mode, 0), t))
            except Exception as exc:
                fast.clear()
                _fault(fn_name, exc)
                return original(self, fn_name)
            if own:
                # mmcv's loop, without the hooks whose call does nothing (_plan_calls).
                if plan[0] != self._hooks:
                    _plan_calls(plan, self._hooks, fn_name, {}, "mmcv")
                if writers is None:
                    for hook in plan[1]:
                        getattr(hook, fn_name)(self)
                else:
                    _run_mmcv_writers(self, fn_name, plan[1], writers)
            else:
                original(self, fn_name)
            if _faulted:
                return
            try:
                if one is not None:
                    group, last, optimizer, index, hook = one
                    v = group.get("lr")
                    if v != last[0]:
                        last[0] = v
                        buf.append((3, optimizer, index, v if v.__class__ is float else _scalar(v), hook))
                elif watch is not None:
                    watch(fn_name)
                if train:
                    if ckpt_every and ((i + 1) % ckpt_every == 0 or ckpt_last and i + 1 == self._max_iters):
                        _scan(self)
                    if log_every and ((self._inner_iter if log_by_epoch else i) + 1) % log_every == 0:
                        _tail_log(self)
                if len(buf) >= _BATCH or t > ch.flush_at:
                    ch.flush()
            except Exception as exc:
                fast.clear()
                _fault(fn_name, exc)
            return
        if _faulted:
            return original(self, fn_name)
        ch = _channel
        try:
            if not _started:
                _started = True
                _start(self, "mmcv")
            buf = ch.buffer
            if fn_name == "after_train_iter" or fn_name == "after_val_iter":
                _observe(self, fn_name)
            elif fn_name in _loader_pending:
                _loader(self)
            sid = _stage_ids.get(fn_name)
            if sid is None:
                sid = _stage_ids[fn_name] = len(_stage_ids)
                ch.send(["stage", sid, fn_name])
            t = perf()
            try:  # mmcv's own counters, without its property calls
                buf.append((0, sid, self._epoch, self._iter, self._inner_iter, modes.get(self.mode, 0), t))
            except AttributeError:
                buf.append((0, sid, self.epoch, self.iter, self.inner_iter, modes.get(self.mode, 0), t))
        except Exception as exc:
            _fault(fn_name, exc)
            return original(self, fn_name)
        watched = False
        if _per_hook_timing:
            for hook in self.hooks:
                t0 = perf()
                getattr(hook, fn_name)(self)
                if not _faulted:
                    try:
                        ch.send(["span", type(hook).__name__, t0, perf() - t0])
                    except Exception as exc:
                        _fault(fn_name, exc)
        elif _state.get("own_loop") and fn_name in lr_stages and type(self).call_hook is call_hook \
                and _stage_writers(fn_name, "mmcv")[0]:
            # Several hooks may write learning rates here: mmcv's loop, looking after each of them.
            for hook in self._hooks:
                getattr(hook, fn_name)(self)
                _after_setter(self, fn_name, hook)
            watched = True
        else:
            original(self, fn_name)
        if _faulted:
            return
        try:
            if fn_name in lr_stages and not watched:
                watch = _state.get("watch")  # _watch_params without its own call
                if watch is None:
                    watch = _fast_watch(self)
                writers = _stage_writers(fn_name, "mmcv")
                watch(fn_name, writers[1], writers[2])
            if fn_name in scan_stages:
                _scan(self)
            elif fn_name == "before_run" and _state.get("log_hook"):
                _tail_log(self)  # TextLoggerHook dumps runner.meta there
            elif fn_name == "after_train_iter":
                st = _state
                every = st.get("ckpt_every")
                if every and ((self.iter + 1) % every == 0 or st.get("ckpt_last") and self.iter + 1 == self._max_iters):
                    _scan(self)
                log_every = st.get("log_every")
                if log_every and ((self.inner_iter if st.get("log_by_epoch") else self.iter) + 1) % log_every == 0:
                    _tail_log(self)
            # The call's start time decides (one clock read per call).
            if len(buf) >= _BATCH or t > ch.flush_at:
                ch.flush()
            # An iteration stage seen once through here takes the fast path from now on,
            # unless its hooks are run one by one (several lr writers), timed one by one,
            # or its loader's length is still to be learnt. mmcv's own counters only.
            # Where several hooks may write learning rates (watched, above), the stage still
            # takes the fast path when the shim runs mmcv's loop: _run_mmcv_writers looks
            # after each writer.
            if fn_name in _ITER_STAGES and (not watched or own) and not _per_hook_timing and not _faulted \
                    and fn_name not in _loader_pending and type(self).call_hook is call_hook \
                    and hasattr(self, "_iter") and hasattr(self, "_epoch") and hasattr(self, "_inner_iter"):
                st = _state
                observe = fn_name == "after_train_iter" or fn_name == "after_val_iter"
                if observe:
                    seen[0] = st.get("outputs")
                watch = one = several = None
                if fn_name in lr_stages:
                    watch = _fast_watch(self)
                    one = getattr(watch, "one", None)
                    writers = _stage_writers(fn_name, "mmcv")
                    if watched:
                        # (each writer's changes looked at after it: none after the loop)
                        several = (writers[3], watch, [None, ()])
                        watch = one = None
                    else:
                        if one is not None:
                            hook = writers[1] or st.get("lr_hook")
                            if hook is None:
                                hook = st["lr_hook"] = _setter(self, "LrUpdaterHook")
                            one = one + (hook,)
                        watch = _bound_watch(watch, writers)
                train = fn_name == "after_train_iter"
                fast[fn_name] = (sid, observe, train, one, watch, st.get("ckpt_every") if train else None,
                                 st.get("ckpt_last"), st.get("log_every") if train else None, st.get("log_by_epoch"),
                                 [None, ()], several)
        except Exception as exc:
            _fault(fn_name, exc)

    call_hook._hooktrace = True
    call_hook._hooktrace_original = original  # for tools/real_shim_bench.py's interleaved timing
    runner_cls.call_hook = call_hook


def _patch_run(cls):
    """Learns every loader's length when mmcv's run(data_loaders, workflow) starts, so the
    run's start carries them all (without this a val loader's length is only seen at the
    first val epoch)."""
    original = cls.__dict__.get("run")
    if original is None or getattr(original, "_hooktrace", False):
        return

    def run(self, data_loaders, workflow, *args, **kwargs):
        try:
            lengths = {}
            for (mode, _), dl in zip(workflow, data_loaders):
                if isinstance(mode, str) and mode not in lengths:
                    lengths[mode] = len(dl)
            _state["run_loaders"] = lengths
            _state["workflow"] = [[str(m), int(n)] for m, n in workflow]
        except Exception:
            pass
        return original(self, data_loaders, workflow, *args, **kwargs)

    run._hooktrace = True
    cls.run = run


def _stage_info(fn_name):
    """What mmengine's patched call_hook needs to know of a stage, worked out once: its id
    (defined to the recorder now), mode, whether it follows a step (outputs) or ends an
    epoch (metrics), and whether learning rates or checkpoints can change in it."""
    sid = _stage_ids.get(fn_name)
    if sid is None:
        sid = _stage_ids[fn_name] = len(_stage_ids)
        _channel.send(["stage", sid, fn_name])
    mode = "train" if "train" in fn_name else "val" if "val" in fn_name else "test" if "test" in fn_name else None
    return (sid, _MODES.get(mode, 0), fn_name.startswith("after_") and fn_name.endswith("_iter"),
            fn_name.endswith("_epoch"), fn_name in _MMENGINE_LR_STAGES, fn_name in _SCAN_STAGES)


def _is_plain_hook_loop(fn, framework="mmengine"):
    """Whether the framework's call_hook is its plain loop over the hooks, told by the names
    its code uses: mmengine's (every 0.x release's: each hook that has the stage's method
    is called with the keyword arguments, a TypeError re-raised naming the hook) or mmcv's
    (every 1.x release's: each hook's method called with the runner). Then the shim runs
    that loop itself instead of wrapping it, which saves a call (and, for mmengine, a
    second copy of the keyword arguments) on every call_hook, and leaves out the calls that
    do nothing (_plan_calls); any other call_hook is wrapped."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    if framework == "mmcv":
        return set(code.co_names) == {"_hooks", "getattr"} and code.co_varnames[:2] == ("self", "fn_name") \
            and code.co_argcount == 2
    return set(code.co_names) == {"_hooks", "hasattr", "getattr", "TypeError"} \
        and code.co_varnames[:3] == ("self", "fn_name", "kwargs")


_ITER_STAGES = frozenset(["before_train_iter", "after_train_iter", "before_val_iter", "after_val_iter",
                          "before_test_iter", "after_test_iter"])
_fast = {}
# mmcv's, likewise (its own tuples).
_fast_mmcv = {}
# Whether a save is under way (mmengine's before_save_checkpoint was called inside the
# current outer call): its end looks for the files.
_saving = [False]


def _plan_calls(plan, hooks, fn_name, kwargs, framework="mmengine"):
    """The hooks a fast call_hook of `fn_name` calls, in order, into `plan`: [a copy of the
    runner's hook list it was made from, the hooks]. The framework's loop calls every hook
    (mmengine's: every hook that has the stage's method), and every hook has them all, from
    the base class Hook: most of those calls do nothing (mmengine's Hook.before_train_iter
    only passes the call on to Hook._before_iter, which is empty; mmcv's to before_iter).
    Left out: a hook whose method is certain to do nothing (_does_nothing). The plan is made
    again whenever the runner's hook list differs from its copy (a hook registered, removed
    or replaced); a method set on a hook or its class after that is not seen (the
    frameworks' own hooks never do that)."""
    base = _hook_base(framework)
    if framework == "mmengine":
        calls = [h for h in hooks if hasattr(h, fn_name)]
    else:
        calls = hooks  # (mmcv's loop has no hasattr: a hook without the method raises there)
    plan[1] = tuple(h for h in calls if base is None or not _does_nothing(h, fn_name, kwargs, base))
    plan[0] = list(hooks)


def _does_nothing(hook, fn_name, kwargs, base):
    """Whether calling hook.fn_name(runner, **kwargs) is certain to do nothing: the method is
    the framework's base class Hook's own (`base`) and is empty or only passes the call on
    to an empty method of Hook's (_empty_or_passed_on), neither is replaced by the hook's
    class or set on the hook itself, and the keyword arguments fit the method (else
    calling it raises, as the framework's loop would; kwargs None: not looked at)."""
    cls = type(hook)
    fn = base.__dict__.get(fn_name)
    if fn is None or getattr(cls, fn_name, None) is not fn or cls.__getattribute__ is not object.__getattribute__:
        return False
    own = getattr(hook, "__dict__", None)
    if own is None or fn_name in own:
        return False
    key = (base, fn_name, None if kwargs is None else tuple(kwargs))
    passed_on = _passed_on.get(key)
    if passed_on is None:
        passed_on = _passed_on[key] = _empty_or_passed_on(base, fn, kwargs)
    if passed_on is False:
        return False
    return passed_on == "" or (passed_on not in own and getattr(cls, passed_on, None) is base.__dict__.get(passed_on))


# (Hook class, stage, keyword argument names): what _empty_or_passed_on said of its method.
_passed_on = {}


def _hook_base(framework):
    """The framework's Hook class (mmengine.hooks.Hook, mmcv.runner.Hook), or None."""
    key = "hook_base_" + framework
    base = _state.get(key, False)
    if base is False:
        try:
            import importlib
            base = getattr(importlib.import_module("mmengine.hooks" if framework == "mmengine" else "mmcv.runner"),
                           "Hook", None)
        except Exception:
            base = None
        _state[key] = base = base if isinstance(base, type) else None
    return base


# The instructions an empty function, or one that passes its call on, may hold (CPython
# 3.6 to 3.14: 3.13 pairs loads, LOAD_FAST_LOAD_FAST); LOAD_FAST only of its arguments (no
# locals in such a function).
_QUIET_OPS = frozenset(["RESUME", "NOP", "CACHE", "EXTENDED_ARG", "LOAD_FAST", "LOAD_FAST_LOAD_FAST",
                        "LOAD_FAST_BORROW", "LOAD_FAST_BORROW_LOAD_FAST_BORROW", "LOAD_CONST", "RETURN_VALUE",
                        "RETURN_CONST", "POP_TOP", "KW_NAMES", "PUSH_NULL", "PRECALL", "CALL", "CALL_KW",
                        "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD", "BUILD_TUPLE"])
_CALL_OPS = frozenset(["CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD"])


def _empty_or_passed_on(base, fn, kwargs):
    """What Hook's method fn does, read from its bytecode: "" if nothing (it returns None),
    the name of the one method of its own it calls if that is all it does and that method
    of Hook's is empty, False otherwise (or if the keyword arguments do not fit fn)."""
    import dis
    import inspect
    if kwargs is not None:  # (None: whether it has effects, raising aside)
        try:
            inspect.signature(fn).bind(None, None, **kwargs)
        except (TypeError, ValueError):
            return False

    def ops(f):
        return [i for i in dis.get_instructions(f) if i.opname not in ("RESUME", "NOP", "CACHE", "EXTENDED_ARG")]

    def empty(f):
        code = getattr(f, "__code__", None)
        if code is None or code.co_names:
            return False
        body = ops(f)
        return [i.opname for i in body] in (["LOAD_CONST", "RETURN_VALUE"], ["RETURN_CONST"]) and body[-1].argval is None

    if empty(fn):
        return ""
    code = fn.__code__
    if len(code.co_names) != 1 or code.co_flags & 0x0C:  # (one name; no *args, **kwargs)
        return False
    name = code.co_names[0]
    body = ops(fn)
    self_name = code.co_varnames[0] if code.co_argcount else None
    # self.NAME(…) with arguments and constants, its result dropped, None returned.
    if len(body) < 4 or body[0].opname not in ("LOAD_FAST", "LOAD_FAST_BORROW") or body[0].argval != self_name \
            or body[1].opname not in ("LOAD_METHOD", "LOAD_ATTR") or body[1].argval != name:
        return False
    rest = body[2:]
    if any(i.opname not in _QUIET_OPS for i in rest) or sum(i.opname in _CALL_OPS for i in rest) != 1:
        return False
    args = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if any(i.opname.startswith("LOAD_FAST") and not set(i.argval if isinstance(i.argval, tuple) else (i.argval,)) <= set(args)
           for i in rest):
        return False
    end = rest[-2:] if rest[-1].opname == "RETURN_CONST" else rest[-3:]
    if [i.opname for i in end] not in (["POP_TOP", "RETURN_CONST"], ["POP_TOP", "LOAD_CONST", "RETURN_VALUE"]) \
            or end[1].argval is not None:
        return False
    return name if empty(base.__dict__.get(name)) else False


def _fast_watch(runner):
    """The run's watch on its param groups (_watcher's), built at its first use."""
    watch = _state.get("watch")
    if watch is None:
        watch = _state["watch"] = _watcher(runner)
    return watch


def _patch_mmengine(module):
    runner_cls = getattr(module, "Runner", None)
    if runner_cls is None or getattr(runner_cls.call_hook, "_hooktrace", False):
        return
    original = runner_cls.call_hook
    own = _is_plain_hook_loop(original)
    stages = {}
    # The iteration stages (nearly every call of a run), once seen through the general path
    # below: (stage id, mode id, after an iteration?, the lr watch or None, the logger's
    # interval or None, the train loader's length). Only what these calls need; emptied by
    # a fault, and never filled for a stage whose hooks are run one by one (_after_setter).
    fast = _fast
    saving = _saving
    # The open run of rows whose step values are read in columns, and the wrapper whose
    # steps are told by its counter (module state: a fault or resume resets them).
    cols = _cols
    counted = _counted

    def call_hook(self, fn_name, **kwargs):
        # As for mmcv: the recorder's own faults stop the recording, not the training.
        # Inline, with what each stage needs worked out once (`stages`, `fast`): this runs
        # for every call_hook of the training.
        f = fast.get(fn_name)
        if f is not None:
            ch = _channel
            if f[2] == 0:
                # before_*_iter: the call alone; after the hooks, only what is rare (a save,
                # a stop, a batch due: the buffer's size is looked at in the after_* calls).
                try:
                    loop = self._train_loop
                    buf = ch.buffer
                    t = _perf_ns()
                    buf.append((0, f[0], loop._epoch, loop._iter, kwargs.get("batch_idx", 0), f[1], t))
                except Exception as exc:
                    fast.clear()
                    _fault(fn_name, exc)
                    return original(self, fn_name, **kwargs)
                # (mmengine's loop, as below: inline in both, a call per call_hook saved;
                # the hooks whose call does nothing left out, see _plan_calls.)
                if own:
                    plan = f[5]
                    if plan[0] != self._hooks:
                        _plan_calls(plan, self._hooks, fn_name, kwargs)
                    for hook in plan[1]:
                        try:
                            getattr(hook, fn_name)(self, **kwargs)
                        except TypeError as e:
                            raise TypeError("%s in %s" % (e, hook)) from None
                else:
                    original(self, fn_name, **kwargs)
                if t > ch.deadline or loop.stop_training is True:
                    try:
                        _fast_rare(self, ch, buf, t, loop)
                    except Exception as exc:
                        fast.clear()
                        _fault(fn_name, exc)
                return
            try:
                # kind: 1 the step's outputs read from themselves first (after_val_iter…),
                # 2 mmengine's after_train_iter with its values in the message hub.
                # one/watch: the lr watch.
                sid, mode_id, kind, one, watch, plan, writers = f
                loop = self._train_loop
                buf = ch.buffer
                inner = kwargs.get("batch_idx", 0)
                epoch = loop._epoch
                it = loop._iter
                t = _perf_ns()
                # What the step produced happened before this call: it goes first.
                # (mmengine's models return an OrderedDict: BaseModel.parse_losses.)
                if kind == 2 and isinstance(pending := kwargs.get("outputs"), dict):
                    # The step's optimizer steps: a counted wrapper's counter, which the row
                    # carries (the recorder counts the steps since the last count it saw).
                    w = counted[0]
                    k = w._inner_count if w is not None else None
                    # The step's values are in the message hub after the hooks (RuntimeInfoHook
                    # puts each there as a number): the call goes as a row (6, …) whose values
                    # are read in columns when the batch goes (_close_cols), or with them
                    # (_step_read), where the buffer ends now (a nested call made by the
                    # hooks goes after it: the buffer is held).
                    at = len(buf)
                    ch.hold = True
                else:
                    pending = None
                    if kind:
                        if mode_id == 1:  # (no optimizer steps in val and test loops)
                            _count_steps(buf)
                        _step_values(buf, kwargs.get("outputs"))
                    buf.append((0, sid, epoch, it, inner, mode_id, t))
            except Exception as exc:
                ch.hold = False
                fast.clear()
                _fault(fn_name, exc)
                return original(self, fn_name, **kwargs)
            changes = None
            try:
                if own:
                    if plan[0] != self._hooks:
                        _plan_calls(plan, self._hooks, fn_name, kwargs)
                    if writers is None:
                        for hook in plan[1]:
                            try:
                                getattr(hook, fn_name)(self, **kwargs)
                            except TypeError as e:
                                raise TypeError("%s in %s" % (e, hook)) from None
                    else:
                        changes = []
                        _run_writers(self, fn_name, kwargs, plan[1], writers, one, changes)
                else:
                    original(self, fn_name, **kwargs)
            except BaseException:
                # A hook failed (the training is ending): the call is still recorded, in its
                # place; the step's values go with the failure, the lr changes made before it
                # after it.
                if pending is not None:
                    ch.hold = False
                    buf[at:at] = [(0, sid, epoch, it, inner, mode_id, t)] if k is None else [(9, k), (0, sid, epoch, it, inner, mode_id, t)]
                if changes:
                    buf.extend(changes)
                raise
            # (After a fault of the shim's own in a nested call, `buf` is the buffer _fault
            # set aside: what is added to it here is never sent.)
            try:
                if pending is not None:
                    ch.hold = False
                    if len(buf) == at and pending.keys() == cols[1]:
                        # The common case, in one tuple: the call, the lr if it changed (None
                        # if not); the step's values are the next row of the open run of
                        # columns, read from the message hub's histories when the batch goes.
                        if one is not None:
                            group, last, source = one
                            v = group["lr"]
                            if v != last[0]:
                                last[0] = v
                                if v.__class__ is not float:
                                    v = _scalar(v)
                            else:
                                v = None
                            buf.append((6, sid, epoch, it, inner, mode_id, t, source, v, k))
                        else:
                            # Several param groups: their changes follow the row.
                            buf.append((6, sid, epoch, it, inner, mode_id, t, -1, None, k))
                            if watch is not None:
                                watch(fn_name)
                        cols[4] += 1
                    else:
                        _step_read(self, buf, at, pending, (0, sid, epoch, it, inner, mode_id, t), k, one, watch, fn_name)
                elif one is not None:
                    _lr_changed(buf, one)
                elif watch is not None:
                    watch(fn_name)
                if changes:
                    buf.extend(changes)  # (several writers: each change after the call, by its hook)
                # Rare: a save was made in this call or a log record written (either sets
                # the deadline back), a hook asked the loop to stop, a batch is due.
                if t > ch.deadline or len(buf) >= _BATCH or loop.stop_training is True:
                    _fast_rare(self, ch, buf, t, loop)
            except Exception as exc:
                fast.clear()
                _fault(fn_name, exc)
            return
        if _faulted:
            return original(self, fn_name, **kwargs)
        ch = _channel
        st = _state
        try:
            if "started" not in st:
                st["started"] = True
                _start(self, "mmengine")
            info = stages.get(fn_name)
            if info is None:
                info = stages[fn_name] = _stage_info(fn_name)
            sid, mode_id, after_iter, epoch_end, lr_stage, scan_stage = info
            inner = kwargs.get("batch_idx", 0)
            buf = ch.buffer
            # What the step or the evaluation produced happened before this call: send it first.
            if after_iter:
                outputs = kwargs.get("outputs")
                _count_steps(buf)
                if _cols[4] and mode_id == 1:
                    # This step's values are read here, not from the hub: the open run of
                    # rows ends before its hooks put them there.
                    _end_cols(buf)
                _step_values(buf, outputs)
            elif epoch_end:
                metrics = kwargs.get("metrics")
                if isinstance(metrics, dict):
                    for name, value in metrics.items():
                        buf.append((1, 2, _scalar(value), name))
            if fn_name == "before_save_checkpoint":
                # Called from inside the saving call: what that call did before it (a scheduler
                # step, the oldest checkpoint removed) is the outer call's, so look now, while
                # the outer call is the latest; the save itself comes after, as in a simulation.
                _watch_params(self, fn_name)
                # mmengine's order around a save: a new best score, the previous best (or the
                # oldest checkpoint) removed, then the kept ids, last_ckpt or best_ckpt.
                saver = _calling_hook(self)
                hub_hook = saver or _hook_named(self, "CheckpointHook")
                _hub_info(self, hub_hook, scores=True)
                _scan(self, saver)
                _hub_info(self, hub_hook, scores=False)
                saving[0] = True
                ch.deadline = -1  # the outer call's end looks for the files (_fast_rare)
            elif fn_name == "before_train":
                # The hub as the run starts training (after load_or_resume): restored values
                # are the checkpoint's, not this run's changes.
                _hub_info(self, None, baseline=True)
            t = _perf_ns()
            loop = getattr(self, "_train_loop", None)
            try:  # the loop's own counters, without the runner's and loop's properties
                buf.append((0, sid, loop._epoch, loop._iter, inner, mode_id, t))
            except AttributeError:
                buf.append((0, sid, getattr(self, "epoch", 0), getattr(self, "iter", 0), inner, mode_id, t))
        except Exception as exc:
            _fault(fn_name, exc)
            return original(self, fn_name, **kwargs)
        outer = fn_name != "before_save_checkpoint"
        if outer:
            saving[0] = False
        # Several hooks may write learning rates: look after each of them (attribution by
        # identity), in mmengine's loop run here; that loop is also run here whenever
        # call_hook is mmengine's plain one (see _is_plain_hook_loop).
        watched = lr_stage and outer and st.get("own_loop") and type(self).call_hook is call_hook \
            and _stage_writers(fn_name, "mmengine")[0]
        if watched or own:
            # A hook that asks the train loop to stop is seen as it does (by identity); not
            # in the iteration stages' fast path, where the check would cost every call.
            stoppable = outer and not st.get("stopped") and getattr(loop, "stop_training", None) is False
            for hook in self._hooks:
                if hasattr(hook, fn_name):
                    try:
                        getattr(hook, fn_name)(self, **kwargs)
                    except TypeError as e:
                        raise TypeError("%s in %s" % (e, hook)) from None
                    if watched:
                        _after_setter(self, fn_name, hook)
                    if stoppable and loop.stop_training is True and not _faulted:
                        stoppable = False
                        try:
                            st["stopped"] = True
                            ch.send(["stop", st["hook_names"].get(id(hook), type(hook).__name__), ""])
                        except Exception as exc:
                            _fault(fn_name, exc)
        else:
            original(self, fn_name, **kwargs)
        if _faulted:
            return
        try:
            if outer:
                if lr_stage and not watched:
                    writers = _stage_writers(fn_name, "mmengine")
                    _fast_watch(self)(fn_name, writers[1], writers[2])
                if scan_stage or saving[0]:
                    saving[0] = False
                    _scan(self)
                # A hook asked the train loop to stop (mmengine's EarlyStoppingHook).
                if getattr(loop, "stop_training", False) is True and not st.get("stopped"):
                    st["stopped"] = True
                    ch.send(["stop", _hook_of_type(self, "EarlyStoppingHook"), ""])
            if len(buf) >= _BATCH or t > ch.flush_at:
                ch.flush()
            # mmengine's LoggerHook writes its train records every `interval` batches, and
            # at the loader's end (batch_idx + 1 == its length); a watched log file says so
            # itself (_patch_vis_backend).
            if after_iter and mode_id == 1:
                every = st.get("log_every")
                if _log_due[0] or every and ((inner + 1) % every == 0 or inner + 1 == st.get("train_len")):
                    _tail_log(self)
            train_after = after_iter and mode_id == 1
            # An iteration stage seen once here takes the fast path from now on. Where several
            # hooks may write learning rates (watched, above), only mmengine's after_train_iter
            # with one param group watched does, when the shim runs mmengine's loop:
            # _run_writers looks after each writer. (An after_train_iter whose log records no
            # watch tells stays on this path, which looks at the logger's interval.)
            if fn_name in _ITER_STAGES and (not watched or own and train_after) and not _faulted \
                    and hasattr(loop, "_iter") and hasattr(loop, "stop_training") \
                    and not (train_after and not _logs_watched(self)):
                watch = _fast_watch(self) if lr_stage else None
                one = getattr(watch, "one", None)
                kind = 2 if train_after and (not watched or one is not None) and _hub_filled(self) is not None \
                    else 1 if after_iter else 0
                several = watched and kind == 2 and one is not None
                if not watched or several:
                    writers = _stage_writers(fn_name, "mmengine")
                    if one is not None:
                        one = _lr_source(self, one, writers[1])
                        if several:
                            several = (writers[3], watch.one[2], watch.one[3], [None, ()])
                    if watch is not None:
                        watch = _bound_watch(watch, writers)
                    fast[fn_name] = (sid, mode_id, kind, one, None if one is not None else watch, [None, ()],
                                     several or None)
        except Exception as exc:
            _fault(fn_name, exc)

    call_hook._hooktrace = True
    call_hook._hooktrace_original = original  # for tools/real_shim_bench.py's interleaved timing
    runner_cls.call_hook = call_hook
    _patch_save(runner_cls)
    _patch_resume(runner_cls)


# mmengine's after_train_iter rows (protocol 4): the step's values are not read at each
# call but from the message hub's histories (RuntimeInfoHook appends each output to
# `train/NAME` once per step) when the batch is sent, a column per name for the rows since.
# The open run: [names in the outputs' order, their set, the HistoryBuffers, the
# histories' lengths before the run's first row, rows]; names is None when none is open.
_cols = [None, None, None, None, 0]


def _no_cols():
    """No run of rows open: the next step's values are read directly."""
    _cols[:] = [None, None, None, None, 0]
# Runs stop this far before a history's max_length (beyond it, lengths stop growing).
_COLS_MARGIN = 4 * _BATCH


def _close_cols(buf):
    """Sends the open run's columns `(7, ROWS, NAME, [VALUE…], …)`: each name's last ROWS
    values, before a value written since the last row (the step under way, whose own
    values are read directly). A history that grew by other than the rows (a second
    writer) or was replaced gives None values: the rows keep their calls."""
    names, keys, hists, bases, n = _cols
    _cols[4] = 0
    if not n or names is None:
        return
    out = [7, n]
    go_on = True
    try:
        for i in range(len(names)):
            h = hists[i]
            hist = h._log_history
            length = len(hist)
            extra = length - bases[i] - n
            if extra in (0, 1) and length - extra >= n:
                values = hist[length - extra - n:length - extra].tolist()
                bases[i] = length - extra
                # Near max_length the history stops growing: from here, values directly.
                go_on = go_on and length + _COLS_MARGIN <= h.max_length
            else:
                values = [None] * n
                go_on = False
            out.append(names[i])
            out.append(values)
    except Exception:
        out = [7, n]
        for name in names:
            out.append(name)
            out.append([None] * n)
        go_on = False
    buf.append(tuple(out))
    if not go_on:
        # The next step reads its values directly and opens a run again, with the
        # histories looked up afresh (one may have been replaced).
        _no_cols()


def _end_cols(buf):
    """Closes the open run and opens none: the next step's values are read directly."""
    if _cols[4]:
        _close_cols(buf)
    _no_cols()


def _open_cols(runner, outputs):
    """Opens a run for the outputs' names (after a step whose values were read directly),
    with their message-hub histories (`train/NAME`) and the histories' lengths now."""
    names = tuple(outputs)
    hub = getattr(getattr(runner, "message_hub", None), "_log_scalars", None)
    if not names or not isinstance(hub, dict):
        return
    hists = [hub.get("train/" + name) for name in names]
    if None in hists:
        return
    bases = []
    for h in hists:
        length = len(h._log_history)
        max_length = getattr(h, "max_length", None)
        if not isinstance(max_length, int) or length + _COLS_MARGIN > max_length:
            return
        bases.append(length)
    _cols[:] = [names, frozenset(names), hists, bases, 0]


def _step_read(runner, buf, at, outputs, call, count, one, watch, fn_name):
    """mmengine's after_train_iter when its values are not the next row of the open run
    (other names, a first step, nested calls): the run so far is closed, this step's values
    read from the outputs themselves (what RuntimeInfoHook gave the hub, whatever else
    wrote there since) and a run opened for its names. `count`: the counted wrapper's
    counter before the hooks (None if there is none), which goes first."""
    nested = len(buf) != at
    _end_cols(buf)
    values = _output_values(outputs)
    if not nested and one is not None:
        if count is not None:
            buf.append((9, count))
        buf.append((5,) + call[1:] + (one[2], _lr_update(one)) + values)
    else:
        _nested_after(buf, at, values, call, count, one, watch, fn_name)
    _open_cols(runner, outputs)


def _nested_after(buf, at, values, call, count, one, watch, fn_name):
    """mmengine's after_train_iter when the hooks made nested calls (a save): the step's
    optimizer steps, values and the call go before what those calls added, then the lr if
    it changed."""
    tail = buf[at:]
    del buf[at:]
    if count is not None:
        buf.append((9, count))
    _append_values(buf, values)
    buf.append(call)
    buf.extend(tail)
    if one is not None:
        _lr_changed(buf, one)
    elif watch is not None:
        watch(fn_name)


def _fast_rare(runner, ch, buf, t, loop):
    """What mmengine's fast path does seldom, after the hooks: the files a save made in
    this call, a stop asked by a hook, the log records written in it, a batch sent. (A
    save or a log record sets the channel's deadline back, so that one comparison in the
    fast path stands for all of these.)"""
    if _saving[0]:
        _saving[0] = False
        _scan(runner)
    if loop.stop_training is True and not _state.get("stopped"):
        _state["stopped"] = True
        ch.send(["stop", _hook_of_type(runner, "EarlyStoppingHook"), ""])
    if _log_due[0]:
        _tail_log(runner)
    if len(buf) >= _BATCH or t > ch.flush_at:
        ch.flush()
    else:
        ch.deadline = ch.flush_at


def _lr_source(runner, one, hook=None):
    """The one param group mmengine's fast path watches, as it needs it: (the group, the
    last lr seen, its source id). The source (optimizer, group, hook: `hook`, else the
    run's one writer) is defined to the recorder once (`lr_source`); the fast path's tuples
    name it by id."""
    group, last, optimizer, index = one
    hook = hook or _state.get("lr_hook")
    if hook is None:
        hook = _state["lr_hook"] = _setter(runner, "LrUpdaterHook")
    sources = _state.setdefault("lr_sources", [])  # (optimizer, group, hook); the id is the index
    key = (optimizer, index, hook)
    if key in sources:
        source = sources.index(key)
    else:
        source = len(sources)
        sources.append(key)
        _channel.send(["lr_source", source, optimizer, index, hook])
    return (group, last, source)


def _lr_update(one):
    """The watched group's lr if it changed since the last look (a float), else None (the
    fast path reads it inline)."""
    group, last, source = one
    v = group["lr"]
    if v == last[0]:
        return None
    last[0] = v
    return v if v.__class__ is float else _scalar(v)


def _lr_changed(buf, one):
    """The watched group's lr, sent as a `(3, …)` tuple if it changed (outside the fast
    path's own tuple: a nested call, or a stage without step values)."""
    v = _lr_update(one)
    if v is not None:
        optimizer, index, hook = _state["lr_sources"][one[2]]
        buf.append((3, optimizer, index, v, hook))


def _step_values(buf, outputs):
    """The step's outputs as observations, each read from its own value (mmengine's fast
    path when RuntimeInfoHook does not put them in the message hub, or outside training)."""
    if isinstance(outputs, dict):
        _append_values(buf, _output_values(outputs))


def _append_values(buf, values):
    """Step values (name, value, name, value, …) as log_var observations `(1, 0, …)`."""
    for k in range(0, len(values), 2):
        buf.append((1, 0, values[k + 1], values[k]))


def _output_values(outputs):
    """The step's outputs as (name, value, name, value, …), each value as RuntimeInfoHook
    turns it into a number for the message hub (a tensor's or numpy number's .item())."""
    values = []
    for name, value in outputs.items():
        values.append(name)
        values.append(value if value.__class__ is float else _scalar(value))
    return tuple(values)


def _hub_filled(runner):
    """mmengine's own RuntimeInfoHook if it is registered (unchanged by a subclass), which
    puts each train output into the message hub as a number in after_train_iter; else None."""
    hub = getattr(getattr(runner, "message_hub", None), "_log_scalars", None)
    if not isinstance(hub, dict):
        return None
    for h in getattr(runner, "_hooks", []):
        for c in type(h).__mro__:
            if c.__name__ == "RuntimeInfoHook" and c.__module__.startswith("mmengine."):
                return h if type(h).after_train_iter is c.__dict__.get("after_train_iter") else None
    return None


def _hub_value(value):
    """A message-hub value as an effect field: numbers as floats (a best score), a list of
    checkpoint ids as compact JSON text, a path as itself."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return json.dumps([_scalar(v) for v in value], separators=(",", ":"))
    v = _scalar(value)
    return float(v) if isinstance(v, int) else v


def _is_hub_checkpoint_key(key):
    return key in ("keep_ckpt_ids", "last_ckpt") or key.startswith("best_score") or key.startswith("best_ckpt")


def _hub_info(runner, hook, scores=None, baseline=False):
    """mmengine's CheckpointHook keeps its state in the message hub (keep_ckpt_ids,
    last_ckpt, best_score[_key], best_ckpt[_key]) so that a resumed run has it: each change
    is a "message_hub" effect of `hook`. `scores`: only the best_score keys (True) or all but
    them (False), for the order mmengine makes them in around a save; `baseline`: take the
    hub as it is (a resumed run's restored values are not this run's doing)."""
    info = getattr(getattr(runner, "message_hub", None), "_runtime_info", None)
    if not isinstance(info, dict):
        return
    seen = _state.setdefault("hub_seen", {})
    for key in list(info):
        if not _is_hub_checkpoint_key(key) or (scores is not None and key.startswith("best_score") != scores):
            continue
        value = _hub_value(info[key])
        if seen.get(key, seen) == value:
            continue
        seen[key] = value
        if not baseline:
            _channel.send(["custom", hook, "message_hub", {key: value}])


def _send_best(runner, filename, path, saver="CheckpointHook"):
    """The new best score behind a best_ checkpoint mmengine's CheckpointHook just saved
    (it has put the score in the message hub already)."""
    for hook in getattr(runner, "hooks", []):
        keys = getattr(hook, "key_indicators", None)
        if type(hook).__name__ != "CheckpointHook" or not keys:
            continue
        for key in keys:
            if len(keys) > 1 and not filename.startswith("best_%s_" % key.replace("/", "_")):
                continue
            score = runner.message_hub.get_info("best_score" if len(keys) == 1 else "best_score_" + key)
            if score is not None:
                _channel.send(["best", key, _scalar(score), path, saver])
            return


def _patch_resume(runner_cls):
    """mmengine's Runner.resume (inside train, after before_run): torch's load_state_dict
    replaces the optimizer's param group dicts, so the watch on them is built anew; the
    values the checkpoint brings are sent as changes made by "Runner.resume"."""
    original = getattr(runner_cls, "resume", None)
    if original is None or getattr(original, "_hooktrace", False):
        return

    def look(self, args, kwargs):
        return {(n, i): (g.get("lr"), _momentum(g)) for n, i, g in _param_groups(self)}

    def report(self, before, args, kwargs):
        for name, index, g in _param_groups(self):
            lr, mom = g.get("lr"), _momentum(g)
            old = before.get((name, index), (None, None))
            if lr != old[0]:
                _channel.buffer.append((3, name, index, _scalar(lr), "Runner.resume"))
            if mom is not None and mom != old[1]:
                _channel.buffer.append((4, name, index, _scalar(mom), "Runner.resume"))
        _state.pop("watch", None)
        _fast.clear()
        _end_cols(_channel.buffer)  # the rows so far are the old histories'
        if _counted[0] is not None:
            # The counter as the checkpoint left it: a new base, no steps.
            _counted[1] = _counted[0]._inner_count
            _channel.send(["counter", _counted[1]])
        _send_resumed(self, args[0] if args else kwargs.get("filename"))

    runner_cls.resume = _observed(original, look, report, "resume")


# The most values of each message-hub history a resumed run's recording carries (what the
# log processor's windows read; mmengine's default window is 10).
_RESUMED_HISTORY = 1000


def _send_resumed(runner, checkpoint):
    """What Runner.resume loaded that a replay of this recording needs to resume the same
    way: the loop's counters, the message hub's entries CheckpointHook keeps and its
    resumed scalar histories (their last values), the work_dir's files before the run.
    A "resumed" effect of Runner.resume; docs/SHIM.md."""
    loop = runner.train_loop
    hub = runner.message_hub
    entries = {k: _hub_value(v) for k, v in getattr(hub, "_runtime_info", {}).items() if _is_hub_checkpoint_key(k)}
    resumed = getattr(hub, "_resumed_keys", {})
    scalars = {}
    for key, buffer in getattr(hub, "_log_scalars", {}).items():
        if resumed.get(key, True) and key.startswith("train/"):
            values, counts = buffer.data
            scalars[key] = [[float(v) for v in values[-_RESUMED_HISTORY:]], [float(c) for c in counts[-_RESUMED_HISTORY:]]]
    files = []
    for key in sorted(_state.get("dirs", {})):
        shown, names = _state["dirs"][key]
        for name in sorted(names):
            files.append([os.path.join(shown, name), names[name]])
    state = {"hub": entries, "scalars": scalars, "files": files, "work_dir": str(getattr(runner, "work_dir", "") or "")}
    _channel.send(["custom", "Runner.resume", "resumed", {"checkpoint": str(checkpoint), "epoch": int(loop._epoch), "iter": int(loop._iter),
                                                         "state": json.dumps(state, separators=(",", ":"))}])


def _patch_save(runner_cls):
    """Every file mmengine's Runner.save_checkpoint writes, when it writes it (a directory
    scan cannot see a checkpoint written again under the same name, as CheckpointHook does
    after a new best). The saving hook's own call is the latest call then (the nested
    before_save_checkpoint), as in a simulation."""
    original = getattr(runner_cls, "save_checkpoint", None)
    if original is None or getattr(original, "_hooktrace", False):
        return

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        result = original(self, out_dir, filename, *args, **kwargs)
        if _faulted:
            return result
        try:
            path = os.path.join(out_dir, filename)
            hook = _calling_hook(self) or _saver(self, filename)
            _state.setdefault("last_saver", {})[(os.path.abspath(out_dir), filename.startswith("best_"))] = hook
            _channel.send(["ckpt", "save", path, hook])
            if filename.startswith("best_"):
                _send_best(self, filename, path, hook)
            _dir_files(out_dir)[filename] = None  # seen: the next scan does not report it again
            work_dir = getattr(self, "work_dir", None)
            if work_dir and not filename.startswith("best_"):
                # CheckpointHook rewrites last_checkpoint (in work_dir) after a regular save,
                # often with the same text (a save again after a new best): report it again.
                _dir_files(work_dir).pop("last_checkpoint", None)
        except Exception:  # the recorder never breaks the training
            pass
        return result

    save_checkpoint._hooktrace = True
    runner_cls.save_checkpoint = save_checkpoint


def _count_steps_of(wrapper, original, cls):
    """Once a plain wrapper is the runner's and its model's train_step is mmengine's own
    (one update_params per step, no backward of its own), its steps are told by its
    counter: this wrapper's update_params becomes the original again (an attribute of the
    instance; the class keeps the shim's for any other wrapper), sparing a call per step."""
    runner = _state.get("runner")
    if runner is None or getattr(runner, "optim_wrapper", None) is not wrapper or _counted[0] is not None:
        return
    step = getattr(type(getattr(runner, "model", None)), "train_step", None)
    if (getattr(step, "__module__", None), getattr(step, "__qualname__", None)) not in _OWN_TRAIN_STEPS:
        return
    for c in type(wrapper).__mro__:
        if c is cls:
            break
        if "update_params" in c.__dict__:
            return  # a subclass's own update_params: left as it is
    _counted[:] = [wrapper, wrapper._inner_count]
    _channel.send(["counter", wrapper._inner_count])
    wrapper.update_params = original.__get__(wrapper, type(wrapper))


def _count_steps(buf):
    """The counted wrapper's counter, as `(9, COUNT)`, if it moved since this was last
    sent: the recorder counts the steps since the last count it saw (a row's or this
    item's), before the call that follows. (`_counted[1]` is what this last sent: the
    rows' counts are not noted there, so a count may be sent twice, which adds no step.)"""
    w = _counted[0]
    if w is not None:
        k = w._inner_count
        if k != _counted[1]:
            _counted[1] = k
            buf.append((9, k))


def _patch_vis_backend(module):
    """mmengine's LocalVisBackend writes each log record with `_dump`: after it, the call
    under way reads the record from the file (in mmengine's fast path, at its end), so
    the records are effects of the call that wrote them without the shim reading the file
    at every logging interval."""
    cls = getattr(module, "LocalVisBackend", None)
    original = getattr(cls, "_dump", None)
    if original is None or getattr(original, "_hooktrace", False):
        return

    def _dump(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if not _faulted:
            _log_due[0] = True
            _channel.deadline = -1
        return result

    _dump._hooktrace = True
    cls._dump = _dump


def _logs_watched(runner):
    """Whether every log file the run's visualizer may write is watched (its backends'
    `_dump` is _patch_vis_backend's): then a log record tells the shim itself."""
    backends = getattr(getattr(runner, "visualizer", None), "_vis_backends", None)
    if not isinstance(backends, dict):
        return False
    for backend in backends.values():
        if hasattr(backend, "_scalar_save_file") and not getattr(getattr(type(backend), "_dump", None), "_hooktrace", False):
            return False
    return True


def _patch_optim_wrapper(module):
    """Each mmengine OptimWrapper.update_params (one per training step): whether the
    optimizer stepped (gradient accumulation steps every `accumulative_counts` and at the
    last iteration), the clipped grad norm when it clipped by norm, and the loss factor
    whenever it changes (with accumulation)."""
    cls = getattr(module, "OptimWrapper", None)
    original = getattr(cls, "update_params", None)
    if original is None or getattr(original, "_hooktrace", False):
        return

    plain = _plain_wrapper

    def update_params(self, *args, **kwargs):
        if self is plain[0]:
            # The common step, once its wrapper is known to be plain: a bare 2.
            result = original(self, *args, **kwargs)
            _channel.buffer.append(2)
            return result
        if _faulted:
            return original(self, *args, **kwargs)
        try:
            name = _state.get("wrapper_names")
            name = name.get(id(self), "") if name else ""
            n = self._accumulative_counts
            if n != 1:
                before = self._inner_count
                factor = n if self._max_counts == -1 or before < self._max_counts - self._remainder_counts else self._remainder_counts
                factors = _state.setdefault("loss_factors", {})
                if factor != factors.get(name):
                    factors[name] = factor
                    fields = {"optimizer": name, "divide_loss_by": factor} if name else {"divide_loss_by": factor}
                    _channel.send(["custom", "OptimWrapper", "loss_factor", fields])
        except Exception as exc:
            _fault("update_params", exc)
        result = original(self, *args, **kwargs)
        if _faulted:
            return result
        try:
            clip = self.clip_grad_kwargs
            if n == 1 and not name and not clip:
                # The common step (no accumulation, no clipping, one optimizer): a bare 2.
                # These settings are the wrapper's own from its construction on: the
                # next steps of the same wrapper take the short way above.
                plain[0] = self
                _channel.buffer.append(2)
                _count_steps_of(self, original, cls)
                return result
            plain[0] = None
            k = self._inner_count
            stepped = k % n == 0 or k == self._max_counts
            norm = None
            if stepped and clip and "max_norm" in clip:
                norm = _scalar(self.message_hub.get_scalar("train/" + self.grad_name).current())
            _channel.buffer.append((2, stepped, norm, name) if name else (2, stepped, norm))
        except Exception as exc:
            _fault("update_params", exc)
        return result

    code = getattr(original, "__code__", None)
    if code is not None and code.co_argcount == 4 and not code.co_kwonlyargcount and not code.co_flags & 0x0C \
            and code.co_varnames[:4] == ("self", "loss", "step_kwargs", "zero_kwargs") and original.__defaults__ == (None, None):
        # mmengine's own signature (every 0.x release since 0.4): the same with the
        # arguments passed on as they are, which spares building a tuple and a dict at
        # every step (measured: the *args/**kwargs wrapper cost ~1.3 µs per step).
        general = update_params

        def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
            if self is plain[0]:
                result = original(self, loss, step_kwargs, zero_kwargs)
                _channel.buffer.append(2)
                return result
            return general(self, loss, step_kwargs, zero_kwargs)

    update_params._hooktrace = True
    update_params._hooktrace_original = original  # for tools/real_shim_bench.py's interleaved timing
    cls.update_params = update_params


def _patch_mmcv_optimizer_hooks(module):
    """mmcv 1.x's optimizer hooks (OptimizerHook, its Fp16 and GradientCumulative kinds):
    whether each after_train_iter stepped the optimizer (counted at optimizer.step for the
    call's duration) and the clipped norm it logged, as a "step" message by the hook."""
    for name in ("OptimizerHook", "Fp16OptimizerHook", "GradientCumulativeOptimizerHook",
                 "GradientCumulativeFp16OptimizerHook"):
        cls = getattr(module, name, None)
        original = cls.__dict__.get("after_train_iter") if cls is not None else None
        if original is None or getattr(original, "_hooktrace", False):
            continue
        cls.after_train_iter = _counting_steps(original)


def _counting_steps(original):
    def after_train_iter(self, runner):
        if _faulted or _channel is None or not (_started or _state.get("started")):
            return original(self, runner)
        opt = getattr(runner, "optimizer", None)
        own = opt is not None and not isinstance(opt, dict) and "step" in getattr(opt, "__dict__", {})
        count = [0]
        norms = None
        try:
            step = opt.step

            def counted(*args, **kwargs):
                count[0] += 1
                return step(*args, **kwargs)

            opt.step = counted
            history = getattr(getattr(runner, "log_buffer", None), "val_history", {})
            norms = len(history.get("grad_norm", ()))
        except Exception:
            opt = None
        try:
            return original(self, runner)
        finally:
            if opt is not None:
                try:
                    if own:
                        opt.step = step
                    else:
                        del opt.step
                    history = runner.log_buffer.val_history.get("grad_norm", [])
                    norm = _scalar(history[-1]) if norms is not None and len(history) > norms else None
                    _channel.send(["step", type(self).__name__, count[0] > 0, norm])
                except Exception as exc:
                    _fault("after_train_iter", exc)

    after_train_iter._hooktrace = True
    return after_train_iter


def _patch_mmcv_eval(module):
    """mmcv 1.x's EvalHook (and DistEvalHook, mmdetection's subclasses): the results of
    each evaluation, read from the dataset's evaluate() as EvalHook.evaluate calls it, sent
    as metric observations and an "eval" effect of the hook."""
    cls = getattr(module, "EvalHook", None)
    original = cls.__dict__.get("evaluate") if cls is not None else None
    if original is None or getattr(original, "_hooktrace", False):
        return

    def evaluate(self, runner, results):
        if _faulted or _channel is None or not _started:
            return original(self, runner, results)
        captured = {}
        dataset = None
        try:
            dataset = self.dataloader.dataset
            own = "evaluate" in getattr(dataset, "__dict__", {})
            inner = dataset.evaluate

            def recording(*args, **kwargs):
                res = inner(*args, **kwargs)
                captured["res"] = res
                return res

            dataset.evaluate = recording
        except Exception:
            dataset = None
        try:
            return original(self, runner, results)
        finally:
            if dataset is not None:
                try:
                    if own:
                        dataset.evaluate = inner
                    else:
                        del dataset.evaluate
                    res = captured.get("res")
                    if isinstance(res, dict):
                        fields = {}
                        for name, value in res.items():
                            value = _scalar(value)
                            _channel.buffer.append((1, 2, value, str(name)))
                            fields[str(name)] = value
                        _channel.send(["eval", type(self).__name__, fields])
                except Exception as exc:
                    _fault("evaluate", exc)

    evaluate._hooktrace = True
    cls.evaluate = evaluate


def _patch_ema_class(cls, momentum_of):
    """An EMA hook class: each update (an "ema" message with the momentum it used, as
    `momentum_of(hook, runner)` gives it before the update, None when the hook skips the
    iteration) and each swap of the model's parameters with their averages at the epoch's
    edges (an "ema_swap" custom effect), by the hook by identity."""
    if cls is None or getattr(cls.__dict__.get("after_train_iter"), "_hooktrace", False):
        return
    update, before, after = cls.after_train_iter, cls.before_train_epoch, cls.after_train_epoch

    def after_train_iter(self, runner):
        momentum = None
        if not _faulted and _channel is not None and _started:
            try:
                momentum = momentum_of(self, runner)
            except Exception as exc:
                _fault("after_train_iter", exc)
        result = update(self, runner)
        if momentum is not None and not _faulted:
            _channel.send(["ema", _state.get("hook_names", {}).get(id(self), type(self).__name__), momentum])
        return result

    def swapping(original):
        def swap(self, runner):
            result = original(self, runner)
            if not _faulted and _channel is not None and _started:
                _channel.send(["custom", _state.get("hook_names", {}).get(id(self), type(self).__name__), "ema_swap", {}])
            return result
        swap._hooktrace = True
        return swap

    after_train_iter._hooktrace = True
    cls.after_train_iter = after_train_iter
    cls.before_train_epoch = swapping(before)
    cls.after_train_epoch = swapping(after)


def _patch_mmcv_ema(module):
    """mmcv 1.x's EMAHook: its after_train_iter updates when runner.iter is a multiple of
    the interval, with min(momentum, (1 + iter) / (warm_up + iter))."""
    def momentum_of(hook, runner):
        step = runner.iter
        return min(hook.momentum, (1 + step) / (hook.warm_up + step)) if step % hook.interval == 0 else None
    _patch_ema_class(getattr(module, "EMAHook", None), momentum_of)


def _patch_mmdet_ema(module):
    """mmdetection 2.x's ExpMomentumEMAHook and LinearMomentumEMAHook (their BaseEMAHook):
    an update after every interval-th iteration, with the momentum of the hook's own
    get_momentum (a pure function of runner.iter)."""
    def momentum_of(hook, runner):
        return hook.get_momentum(runner) if (runner.iter + 1) % hook.interval == 0 else None
    _patch_ema_class(getattr(module, "BaseEMAHook", None), momentum_of)


def _hook_of_type(runner, kind):
    """The registered hook of class `kind` (the only mmengine hook that does what is being
    attributed), else "unknown"."""
    for h in getattr(runner, "hooks", []):
        if type(h).__name__ == kind:
            return kind
    return "unknown"


def _ema_momentum(model, steps):
    """The momentum of an averaged model's update at `steps` (mmengine 0.10.7's averaged
    models and mmdetection's ExpMomentumEMA), or None for a class not known here."""
    kind = type(model).__name__
    if kind == "ExponentialMovingAverage":
        return float(model.momentum)
    if kind == "MomentumAnnealingEMA":
        return max(model.momentum, model.gamma / (model.gamma + steps))
    if kind == "StochasticWeightAverage":
        return 1 / float(steps // model.interval + 1)
    if kind == "ExpMomentumEMA":
        import math
        return (1 - model.momentum) * math.exp(-float(1 + steps) / model.gamma) + model.momentum
    return None


def _patch_averaged_model(module):
    """Each averaging of mmengine's averaged models (EMAHook's ema_model): an "ema" message
    with its momentum, by the hook that owns the model."""
    cls = getattr(module, "BaseAveragedModel", None)
    original = getattr(cls, "update_parameters", None)
    if original is None or getattr(original, "_hooktrace", False):
        return

    def update_parameters(self, model):
        if not _faulted and _channel is not None and (_started or _state.get("started")):
            try:
                steps = int(self.steps)
                if steps > 0 and steps % self.interval == 0:  # the first call copies
                    momentum = _ema_momentum(self, steps)
                    if momentum is not None:
                        owner = "EMAHook"
                        for h in getattr(_state.get("runner"), "hooks", []):
                            if getattr(h, "ema_model", None) is self:
                                owner = type(h).__name__
                        _channel.send(["ema", owner, momentum])
            except Exception as exc:
                _fault("update_parameters", exc)
        return original(self, model)

    update_parameters._hooktrace = True
    cls.update_parameters = update_parameters


_TARGETS = {"mmcv.runner": _patch_mmcv, "mmcv.runner.base_runner": _patch_mmcv, "mmengine.runner": _patch_mmengine,
            "mmengine.runner.runner": _patch_mmengine, "mmengine.optim.optimizer.optimizer_wrapper": _patch_optim_wrapper,
            "mmengine.optim": _patch_optim_wrapper, "mmengine.model.averaged_model": _patch_averaged_model,
            "mmcv.runner.hooks.optimizer": _patch_mmcv_optimizer_hooks, "mmcv.runner.hooks.evaluation": _patch_mmcv_eval,
            "mmcv.runner.hooks.ema": _patch_mmcv_ema, "mmdet.core.hook.ema": _patch_mmdet_ema,
            "mmengine.model": _patch_averaged_model, "mmengine.visualization.vis_backend": _patch_vis_backend,
            "mmengine.visualization": _patch_vis_backend}


class _Finder(object):
    """Patches the runner modules right after they are imported."""

    def find_spec(self, name, path=None, target=None):
        if name not in _TARGETS:
            return None
        import importlib.util
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module):
            original_exec(module)
            try:
                _TARGETS[name](module)
                _state["patched"] = True
            except Exception as exc:
                sys.stderr.write("hooktrace: could not patch %s: %r\n" % (name, exc))

        loader.exec_module = exec_module
        return spec


def _finish():
    status = "completed"
    code = 0
    exc = getattr(sys, "last_value", None)
    if exc is not None:
        status, code = "failed", 1
    if not _faulted:
        try:
            _count_steps(_channel.buffer)  # a step not followed by its after_train_iter
        except Exception:
            pass
    _channel.send(["end", status, code, "" if exc is None else repr(exc)])
    _channel.close()


def install():
    global _channel, _per_hook_timing
    _channel = _Channel(os.environ["HOOKTRACE_SOCKET"])
    _per_hook_timing = os.environ.get("HOOKTRACE_PER_HOOK_TIMING") == "1"
    rank, world = _rank()
    _channel.send(["hello", {"protocol": PROTOCOL_VERSION, "t0": _channel.t0, "rank": rank, "world_size": world, "pid": os.getpid(), "argv": list(sys.argv),
                             "python": sys.version.split()[0]}])
    sys.meta_path.insert(0, _Finder())
    for name, patch in _TARGETS.items():
        if name in sys.modules:
            patch(sys.modules[name])
            _state["patched"] = True
    atexit.register(_finish)
