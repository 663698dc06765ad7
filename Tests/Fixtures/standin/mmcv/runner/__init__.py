from .base_runner import BaseRunner, Hook  # noqa: F401
from .epoch_based_runner import EpochBasedRunner  # noqa: F401
