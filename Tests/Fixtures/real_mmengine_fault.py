"""A real mmengine training (real_mmengine_train.py's) whose recorder breaks inside a
nested call: the shim's look at the message hub in the Nth before_save_checkpoint raises,
while mmengine's after_train_iter that saves is still under way (its call held by the
shim's fast path). The training must finish as if it were not recorded, and nothing the
held call adds after the fault may reach the trace.

Usage: python3 real_mmengine_fault.py CONFIG.json WORK_DIR N
"""
import os
import runpy
import sys

fault_at = int(sys.argv.pop())
shim = sys.modules.get("hooktrace_shim")
if shim is not None:
    real_hub_info = shim._hub_info
    seen = [0]

    def hub_info(runner, hook, scores=None, baseline=False):
        if scores:
            seen[0] += 1
            if seen[0] == fault_at:
                raise RuntimeError("a bug in the recorder (planted by the test)")
        return real_hub_info(runner, hook, scores=scores, baseline=baseline)

    shim._hub_info = hub_info
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_mmengine_train.py"), run_name="__main__")
