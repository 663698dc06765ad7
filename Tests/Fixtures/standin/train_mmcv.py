"""A stand-in training program that uses the (stand-in) mmcv runner, as a user's would.

Environment: CRASH_AT=N raises after N training iterations; EPOCHS, ITERS set the length;
START_DELAY=S sleeps S seconds before training (a slow data set), STEP_DELAY=S sleeps in
every training step; DONE_FILE=PATH is created when training ends; ITER_LOG=PATH gets the
wall-clock time (time.time()) at which each training step ended, as JSON, at the end.
"""
import json
import os
import sys
import time

from mmcv.runner import EpochBasedRunner, Hook


class SGD(object):
    def __init__(self, lr, momentum):
        self.param_groups = [{"lr": lr, "momentum": momentum}]


ITER_TIMES = [] if os.environ.get("ITER_LOG") else None


class Model(object):
    def __init__(self):
        self.steps = 0

    def train_step(self, batch, optimizer):
        self.steps += 1
        if os.environ.get("STEP_DELAY"):
            time.sleep(float(os.environ["STEP_DELAY"]))
        if ITER_TIMES is not None:
            ITER_TIMES.append(time.time())
        if os.environ.get("CRASH_AT") and self.steps > int(os.environ["CRASH_AT"]):
            raise RuntimeError("CUDA out of memory (simulated)")
        loss = 2.0 / self.steps
        return {"loss": loss, "log_vars": {"loss_cls": loss / 2, "loss": loss}, "num_samples": 2}

    def val_step(self, batch, optimizer):
        return {"log_vars": {"loss": 0.5}, "num_samples": 2}


class StepLrUpdaterHook(Hook):
    def before_run(self, runner):
        self.base = [g["lr"] for g in runner.optimizer.param_groups]

    def before_train_epoch(self, runner):
        for g, b in zip(runner.optimizer.param_groups, self.base):
            g["lr"] = b * (0.1 ** (1 if runner.epoch >= 1 else 0))


class CheckpointHook(Hook):
    """Saves every epoch, links latest.pth, keeps one file (mmcv's max_keep_ckpts=1)."""
    by_epoch = True
    interval = 1

    def after_train_epoch(self, runner):
        name = "epoch_%d.pth" % (runner.epoch + 1)
        with open(os.path.join(runner.work_dir, name), "w") as f:
            f.write("checkpoint")
        latest = os.path.join(runner.work_dir, "latest.pth")
        if os.path.lexists(latest):
            os.remove(latest)
        os.symlink(name, latest)
        old = os.path.join(runner.work_dir, "epoch_%d.pth" % runner.epoch)
        if os.path.exists(old):
            os.remove(old)


class TextLoggerHook(Hook):
    interval = 2
    by_epoch = True

    def before_run(self, runner):
        self.path = os.path.join(runner.work_dir, "20260101_000000.log.json")

    def after_train_iter(self, runner):
        if (runner.inner_iter + 1) % 2 == 0:
            with open(self.path, "a") as f:
                f.write(json.dumps({"mode": "train", "epoch": runner.epoch + 1, "iter": runner.inner_iter + 1,
                                    "lr": runner.optimizer.param_groups[0]["lr"], "loss": runner.outputs["log_vars"]["loss"]}) + "\n")


class MyHook(Hook):
    pass


def main():
    work_dir = sys.argv[1]
    os.makedirs(work_dir, exist_ok=True)
    epochs = int(os.environ.get("EPOCHS", "2"))
    iters = int(os.environ.get("ITERS", "3"))
    # What mmdetection's train_detector stores: the config as Python text.
    config_text = (
        "optimizer = dict(type='SGD', lr=0.1, momentum=0.9)\n"
        "optimizer_config = None\n"
        "lr_config = dict(policy='step', step=[1])\n"
        "checkpoint_config = dict(interval=1, max_keep_ckpts=1)\n"
        "workflow = [('train', 1), ('val', 1)]\n"
        "data = dict(samples_per_gpu=2)\n")
    runner = EpochBasedRunner(Model(), SGD(0.1, 0.9), work_dir=work_dir, max_epochs=epochs, meta={"config": config_text})
    runner.register_hook(StepLrUpdaterHook(), 10)
    runner.register_hook(CheckpointHook(), 50)
    runner.register_hook(MyHook(), 50)
    runner.register_hook(TextLoggerHook(), 90)
    print("training for %d epochs" % epochs)
    sys.stdout.flush()
    if os.environ.get("START_DELAY"):
        time.sleep(float(os.environ["START_DELAY"]))
    runner.run([list(range(iters)), list(range(2))], [("train", 1), ("val", 1)])
    print("done")
    if ITER_TIMES is not None:
        with open(os.environ["ITER_LOG"], "w") as f:
            json.dump(ITER_TIMES, f)
    if os.environ.get("DONE_FILE"):
        open(os.environ["DONE_FILE"], "w").close()


if __name__ == "__main__":
    main()
