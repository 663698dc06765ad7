"""A stand-in for mmcv 1.x, for hooktrace's tests: only the runner's call pattern."""
__version__ = "1.7.2-standin"
