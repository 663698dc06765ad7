from .vis_backend import LocalVisBackend  # noqa: F401


class Visualizer(object):
    """Stand-in of mmengine's Visualizer: its backends by name; scalars go to each."""

    def __init__(self, backends):
        self._vis_backends = {type(b).__name__: b for b in backends}

    def add_scalars(self, scalar_dict, step=0):
        for backend in self._vis_backends.values():
            backend.add_scalars(scalar_dict, step)
