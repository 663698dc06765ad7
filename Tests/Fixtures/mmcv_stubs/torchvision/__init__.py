"""A stand-in for torchvision, which mmcv 1.7's runner imports only to resolve
`torchvision://` checkpoint URLs (never used by hooktrace's tests): lets the pure-Python
mmcv 1.7.2 source run against a CPU torch that has no matching torchvision."""
__version__ = "0.0.0-hooktrace-stub"


class _Models(object):
    def __getattr__(self, name):
        raise AttributeError("torchvision is a stub in hooktrace's tests: no models")


models = _Models()
