"""Reads each config given with the real framework's Config.fromfile (mmcv 1.x's or
mmengine's, custom_imports not imported) and prints one JSON line per config: its dict with
tuples as lists, or the error it raised. The test compares it with `hooktrace config`.

Usage: python3 compare_real.py mmcv|mmengine CONFIG...
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")
if sys.argv[1] == "mmcv":
    from mmcv.utils import Config
else:
    from mmengine.config import Config


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


for path in sys.argv[2:]:
    try:
        cfg = Config.fromfile(path, import_custom_modules=False)
        print(json.dumps({"config": plain(cfg._cfg_dict.to_dict())}))
    except Exception as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
