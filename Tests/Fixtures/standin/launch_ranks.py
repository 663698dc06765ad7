"""Starts two 'ranks' of the stand-in mmcv program, as torch.distributed's launcher would."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
procs = []
for rank in range(2):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2")
    procs.append(subprocess.Popen([sys.executable, os.path.join(here, "train_mmcv.py"), os.path.join(sys.argv[1], "rank%d" % rank)], env=env))
sys.exit(max(p.wait() for p in procs))
