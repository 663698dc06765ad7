"""A stand-in for mmengine, for hooktrace's tests: only Runner.call_hook's signature."""
__version__ = "0.10.7-standin"
