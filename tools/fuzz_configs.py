#!/usr/bin/env python3
"""Config fuzzer: mutates a valid run config at random (edge numbers, wrong types,
huge values) and runs `hooktrace record` on each, reporting any crash, hang or
exit without a message. Every config must either record (exit 0) or fail with a
clear error (exit 2). Not part of the tests (it is slow and random by design).

Usage: tools/fuzz_configs.py [SEED] [COUNT]   (builds nothing: run `swift build` first)
"""
import atexit, json, os, random, shutil, subprocess, sys, tempfile
H = os.environ.get("HOOKTRACE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "debug", "hooktrace"))
_work = tempfile.mkdtemp(prefix="hooktrace-fuzz-")
atexit.register(shutil.rmtree, _work, True)
os.chdir(_work)
vals = [0, -1, 1, 2, 10**12, -10**12, 0.0, -0.5, 1e308, float('nan'), 1.5, None, "x", [], {}, [0], [1, 0], True]
base = {
  "runner": {"type": "EpochBasedRunner", "max_epochs": 2},
  "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9},
  "optimizer_config": {"grad_clip": None},
  "lr_config": {"policy": "step", "step": [1], "warmup": "linear", "warmup_iters": 3, "warmup_ratio": 0.1},
  "checkpoint_config": {"interval": 1, "max_keep_ckpts": 2},
  "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
  "evaluation": {"interval": 1, "metric": "bbox", "save_best": "auto"},
  "data": {"train": 5, "val": 3},
  "simulation": {"seed": 3, "iter_time": 0.5, "loss": {"start": 2.0, "end": 0.5, "noise": 0.1}},
  "custom_hooks": [{"type": "EMAHook", "priority": 49}],
  "momentum_config": {"policy": "step", "step": [1]},
}
policies = [
  {"policy": "CosineAnnealing", "min_lr_ratio": 0.01},
  {"policy": "Cyclic", "target_ratio": [10, 1e-4], "cyclic_times": 1, "step_ratio_up": 0.4, "by_epoch": False},
  {"policy": "OneCycle", "max_lr": 0.1, "by_epoch": False},
  {"policy": "CosineRestart", "periods": [4, 6], "restart_weights": [1, 0.5], "min_lr": 0.001},
  {"policy": "FlatCosineAnnealing", "start_percent": 0.5, "min_lr": 0.0},
  {"policy": "poly", "power": 1.0, "min_lr": 0.0},
  {"policy": "exp", "gamma": 0.9},
  {"policy": "inv", "gamma": 0.1, "power": 0.5},
  {"policy": "LinearAnnealing", "min_lr": 0.0},
]
random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
def paths(o, prefix=()):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from paths(v, prefix + (i,))
    yield prefix
bad = 0
for n in range(int(sys.argv[2]) if len(sys.argv) > 2 else 200):
    cfg = json.loads(json.dumps(base))
    if random.random() < 0.6:
        cfg["lr_config"] = dict(random.choice(policies))
    if random.random() < 0.3:
        cfg["runner"] = {"type": "IterBasedRunner", "max_iters": random.choice([1, 7, 20])}
        cfg["workflow"] = [["train", random.choice([1, 3])], ["val", 1]] if random.random() < 0.5 else [["train", 1]]
    if random.random() < 0.3:
        cfg["momentum_config"] = random.choice([{"policy": "cyclic", "by_epoch": False}, {"policy": "CosineAnnealing", "min_momentum_ratio": 0.9}, {"policy": "step", "step": [1]}, {"policy": "OneCycle", "by_epoch": False}])
    ps = [p for p in paths(cfg) if p]
    for _ in range(random.choice([1, 1, 2])):
        p = random.choice(ps)
        o = cfg
        try:
            for k in p[:-1]: o = o[k]
            o[p[-1]] = random.choice(vals)
        except Exception:
            pass
    text = json.dumps(cfg, allow_nan=True).replace("NaN", "1e999" if random.random() < 0.5 else "-1e999")
    open("c.json", "w").write(text)
    try:
        r = subprocess.run([H, "record", "--config", "c.json", "-o", "c.htrace", "--quiet"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        print("TIMEOUT", text); bad += 1; continue
    if r.returncode not in (0, 2) or "Fatal error" in r.stderr or (r.returncode == 2 and not r.stderr.strip()):
        bad += 1
        print("BAD", r.returncode, r.stderr[-400:], text)
print("bad", bad)
sys.exit(1 if bad else 0)
