"""Stand-in of mmcv.runner.BaseRunner: counters, priority-sorted hooks, call_hook."""


class Hook(object):
    def before_run(self, runner): pass
    def after_run(self, runner): pass
    def before_epoch(self, runner): pass
    def after_epoch(self, runner): pass
    def before_iter(self, runner): pass
    def after_iter(self, runner): pass
    def before_train_epoch(self, runner): self.before_epoch(runner)
    def before_val_epoch(self, runner): self.before_epoch(runner)
    def after_train_epoch(self, runner): self.after_epoch(runner)
    def after_val_epoch(self, runner): self.after_epoch(runner)
    def before_train_iter(self, runner): self.before_iter(runner)
    def before_val_iter(self, runner): self.before_iter(runner)
    def after_train_iter(self, runner): self.after_iter(runner)
    def after_val_iter(self, runner): self.after_iter(runner)

    # The listed stages a hook acts on, as mmcv 1.x computes them: a stage counts when the
    # hook's class overrides its method, or the generic method the stage falls back to.
    _listed = ["before_run", "before_train_epoch", "before_train_iter", "after_train_iter",
               "after_train_epoch", "before_val_epoch", "before_val_iter", "after_val_iter",
               "after_val_epoch", "after_run"]
    _generic = {"before_train_epoch": "before_epoch", "before_val_epoch": "before_epoch",
                "after_train_epoch": "after_epoch", "after_val_epoch": "after_epoch",
                "before_train_iter": "before_iter", "before_val_iter": "before_iter",
                "after_train_iter": "after_iter", "after_val_iter": "after_iter"}

    def get_triggered_stages(self):
        def overridden(name):
            return getattr(type(self), name) is not getattr(Hook, name)
        return [s for s in self._listed
                if overridden(s) or (s in self._generic and overridden(self._generic[s]))]


class BaseRunner(object):
    def __init__(self, model, optimizer=None, work_dir=None, max_epochs=None, meta=None):
        self.model = model
        self.optimizer = optimizer
        self.work_dir = work_dir
        self._max_epochs = max_epochs
        self._max_iters = None
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self.mode = None
        self._hooks = []
        self.meta = meta if meta is not None else {}

    @property
    def hooks(self): return self._hooks
    @property
    def epoch(self): return self._epoch
    @property
    def iter(self): return self._iter
    @property
    def inner_iter(self): return self._inner_iter
    @property
    def max_epochs(self): return self._max_epochs
    @property
    def max_iters(self): return self._max_iters

    def register_hook(self, hook, priority=50):
        hook.priority = priority
        inserted = False
        for i in range(len(self._hooks) - 1, -1, -1):
            if priority >= self._hooks[i].priority:
                self._hooks.insert(i + 1, hook)
                inserted = True
                break
        if not inserted:
            self._hooks.insert(0, hook)

    def call_hook(self, fn_name):
        for hook in self._hooks:
            getattr(hook, fn_name)(self)

    def current_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]
