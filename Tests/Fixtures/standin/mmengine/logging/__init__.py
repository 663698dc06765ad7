import array


class HistoryBuffer(object):
    """Stand-in of mmengine's HistoryBuffer: the last `max_length` values in
    `_log_history` (mmengine's is a numpy array; an array('d') slices and lists the same)."""

    def __init__(self, max_length=1000000):
        self.max_length = max_length
        self._log_history = array.array("d")

    def update(self, value):
        history = self._log_history
        history.append(float(value))
        if len(history) > self.max_length:
            self._log_history = history[len(history) - self.max_length:]


class MessageHub(object):
    """Stand-in of mmengine's MessageHub: scalar histories by key."""

    def __init__(self):
        self._log_scalars = {}

    def update_scalar(self, key, value):
        self._log_scalars.setdefault(key, HistoryBuffer()).update(value)
