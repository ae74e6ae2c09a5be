"""Bundled real data and generators of multi-task problems."""

from ._adult import ADULT_TASKS, load_adult
from ._generators import make_multitask

__all__ = ["ADULT_TASKS", "load_adult", "make_multitask"]
