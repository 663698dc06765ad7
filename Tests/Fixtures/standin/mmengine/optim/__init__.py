class OptimWrapper(object):
    """Stand-in of mmengine.optim.OptimWrapper: update_params steps every
    accumulative_counts calls (and the last), as mmengine's does."""

    def __init__(self, optimizer, accumulative_counts=1):
        self.optimizer = optimizer
        self._accumulative_counts = accumulative_counts
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self.clip_grad_kwargs = {}

    def initialize_count_status(self, max_counts):
        self._max_counts = max_counts
        self._remainder_counts = max_counts % self._accumulative_counts

    def update_params(self, loss):
        self._inner_count += 1
