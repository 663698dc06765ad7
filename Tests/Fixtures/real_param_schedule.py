"""Prints, for a hooktrace mmengine config (JSON), the value of one group setting per
epoch as real mmengine 0.10.7 schedules it: the config's optimizer (with its
`param_groups`, one stand-in parameter each) in mmengine's OptimWrapper, the config's
`param_scheduler` built by mmengine's registry, stepped once per epoch (the config
must schedule by epoch). Output: a JSON list, per epoch, of each group's value as a
float's hex (bit for bit).

Usage: python3 real_param_schedule.py CONFIG.json PARAM EPOCHS
"""
import json
import sys

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS


def main():
    cfg = json.load(open(sys.argv[1]))
    param, epochs = sys.argv[2], int(sys.argv[3])
    opt = dict(cfg["optim_wrapper"]["optimizer"])
    groups = opt.pop("param_groups", [{}])
    kind = getattr(torch.optim, opt.pop("type"))
    if "betas" in opt:
        opt["betas"] = tuple(opt["betas"])
    torch_groups = [dict(params=[torch.nn.Parameter(torch.zeros(1))], **g) for g in groups]
    wrapper = OptimWrapper(optimizer=kind(torch_groups, **opt))
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper)) for s in cfg["param_scheduler"]]
    out = []
    for _ in range(epochs):
        out.append([float(g[param]).hex() for g in wrapper.optimizer.param_groups])
        wrapper.optimizer.step()
        for s in schedulers:
            s.step()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
