"""len(data_loader) as the real samplers give it, for the loader-length tests.

Reads a JSON object from stdin: {"framework": "mmengine" | "mmdet2", "cases": [...]}, and
prints the list of lengths. mmengine: each case {n, gpus, batch_size, sampler, drop_last}
with mmengine 0.10.7's DefaultSampler / InfiniteSampler and torch's DataLoader (the world
size patched in as mmengine's samplers read it; rank 0). mmdet2: each case {groups, gpus,
samples_per_gpu} with mmdetection 2.28.2's GroupSampler / DistributedGroupSampler, read
from its release wheel (argv[1]) rather than imported: the package needs compiled mmcv ops.
"""
import json
import sys
import types
import zipfile

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class Sized(Dataset):
    def __init__(self, n, flag=None):
        self.n = n
        if flag is not None:
            self.flag = flag

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def mmengine_lengths(cases):
    import mmengine.dataset.sampler as samplers
    out = []
    for c in cases:
        samplers.get_dist_info = lambda g=c["gpus"]: (0, g)
        dataset = Sized(c["n"])
        if c["sampler"] == "InfiniteSampler":
            sampler = samplers.InfiniteSampler(dataset, shuffle=True, seed=0)
        else:
            sampler = samplers.DefaultSampler(dataset, shuffle=True, seed=0, round_up=c.get("round_up", True))
        loader = DataLoader(dataset, batch_size=c["batch_size"], sampler=sampler, drop_last=c["drop_last"])
        out.append(len(loader))
    return out


def mmdet2_lengths(wheel, cases):
    source = zipfile.ZipFile(wheel).read("mmdet/datasets/samplers/group_sampler.py").decode()
    # DistributedGroupSampler imports a seed helper from mmdet.core, which needs mmcv's ops.
    for name in ("mmdet", "mmdet.core", "mmdet.core.utils"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["mmdet.core.utils"].sync_random_seed = lambda seed=None, device="cuda": 0
    module = types.ModuleType("group_sampler")
    exec(compile(source, "group_sampler.py", "exec"), module.__dict__)
    out = []
    for c in cases:
        flag = np.concatenate([np.full(size, i, dtype=np.uint8) for i, size in enumerate(c["groups"])])
        dataset = Sized(len(flag), flag)
        spg = c["samples_per_gpu"]
        if c["gpus"] == 1:
            sampler = module.GroupSampler(dataset, spg)
        else:
            sampler = module.DistributedGroupSampler(dataset, spg, num_replicas=c["gpus"], rank=0, seed=0)
        out.append(len(DataLoader(dataset, batch_size=spg, sampler=sampler)))
    return out


def main():
    request = json.load(sys.stdin)
    if request["framework"] == "mmengine":
        print(json.dumps(mmengine_lengths(request["cases"])))
    else:
        print(json.dumps(mmdet2_lengths(sys.argv[1], request["cases"])))


if __name__ == "__main__":
    main()
