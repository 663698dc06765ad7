import json
import os


class LocalVisBackend(object):
    """Stand-in of mmengine's LocalVisBackend: each record a JSON line of
    `_scalar_save_file`, written by `_dump` (which the recorder shim watches)."""

    def __init__(self, save_dir):
        os.makedirs(save_dir, exist_ok=True)
        self._scalar_save_file = os.path.join(save_dir, "scalars.json")

    def add_scalars(self, scalar_dict, step=0):
        record = dict(scalar_dict)
        record.setdefault("step", step)
        self._dump(record, self._scalar_save_file, "json")

    def _dump(self, value_dict, file_path, file_format):
        with open(file_path, "a+") as f:
            json.dump(value_dict, f)
            f.write("\n")
