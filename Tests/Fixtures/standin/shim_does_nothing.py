"""Checks the shim's test of a hook call that does nothing (_does_nothing, read from the
bytecode) on its own: what it must leave out and, above all, what it must never leave out
(a call with any effect). Prints "ok"; fails loudly, naming the case.

Usage: python3 shim_does_nothing.py SHIM_DIR"""
import sys

sys.path.insert(0, sys.argv[1])
import hooktrace_shim as shim  # noqa: E402


class Base(object):
    """A framework's Hook, shaped as mmengine's and mmcv's: stage methods passing the call on."""
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="train")

    def after_train_iter(self, runner):
        """A docstring, then the call passed on."""
        self.after_iter(runner)

    def before_run(self, runner):
        pass

    def _before_iter(self, runner, batch_idx, data_batch=None, mode="train"):
        pass

    def after_iter(self, runner):
        """Empty, with a docstring."""

    # Methods with effects, each in a way a test of the bytecode could miss.
    def calls_runner(self, runner):
        runner.stop()

    def returns_call(self, runner):
        return self._before_iter(runner, 0)

    def passes_attribute(self, runner):
        self.after_iter(runner.model)

    def two_calls(self, runner):
        self.after_iter(runner)
        self.after_iter(runner)

    def global_call(self, runner):
        print(runner)

    def passes_on_to_effect(self, runner):
        self.effect(runner)

    def effect(self, runner):
        runner.touched = True

    def passes_local(self, runner):
        x = runner
        self.after_iter(x)

    def subscript(self, runner):
        self.after_iter(runner[0])

    def passes_on_with_star(self, runner, *args):
        self.after_iter(runner, *args)


kw = dict(batch_idx=0, data_batch=None)
failures = []


def expect(name, got, want):
    if got is not want:
        failures.append("%s: %r, expected %r" % (name, got, want))


class Plain(Base):
    pass


class OwnIter(Base):
    def _before_iter(self, runner, batch_idx, data_batch=None, mode="train"):
        runner.seen = batch_idx


class Overrides(Base):
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        pass  # empty, but the hook's own: kept (only the base class's methods are read)


class Intercepts(Base):
    def __getattribute__(self, name):
        return object.__getattribute__(self, name)


expect("base, passed on to an empty method", shim._does_nothing(Plain(), "before_train_iter", kw, Base), True)
expect("base, docstring, passed on to an empty one", shim._does_nothing(Plain(), "after_train_iter", {}, Base), True)
expect("base, empty", shim._does_nothing(Plain(), "before_run", {}, Base), True)
expect("arguments that do not fit", shim._does_nothing(Plain(), "before_train_iter", dict(batch_idx=0, extra=1), Base), False)
expect("arguments not looked at (None)", shim._does_nothing(Plain(), "before_train_iter", None, Base), True)
expect("the passed-on method overridden", shim._does_nothing(OwnIter(), "before_train_iter", kw, Base), False)
expect("the stage method overridden", shim._does_nothing(Overrides(), "before_train_iter", kw, Base), False)
expect("__getattribute__ of its own", shim._does_nothing(Intercepts(), "before_train_iter", kw, Base), False)
told = Plain()
told.before_train_iter = lambda runner, batch_idx, data_batch=None: None
expect("a method set on the object", shim._does_nothing(told, "before_train_iter", kw, Base), False)
told = Plain()
told._before_iter = lambda *a, **k: None
expect("the passed-on method set on the object", shim._does_nothing(told, "before_train_iter", kw, Base), False)
for name in ["calls_runner", "returns_call", "passes_attribute", "two_calls", "global_call", "passes_on_to_effect",
             "passes_local", "subscript", "passes_on_with_star"]:
    expect(name, shim._does_nothing(Plain(), name, {}, Base), False)
expect("not a method of the base", shim._does_nothing(Plain(), "no_such_stage", {}, Base), False)
if failures:
    sys.exit("\n".join(failures))
print("ok")
