"""A stand-in for mmcv 1.x, for hooktrace's tests: only the runner's call pattern."""
__version__ = "1.7.2-standin"


class Config(dict):
    """Stand-in of mmcv.Config: a config from Python text."""

    @staticmethod
    def fromstring(text, suffix):
        namespace = {}
        exec(text, namespace)
        return Config({k: v for k, v in namespace.items() if not k.startswith("__")})
