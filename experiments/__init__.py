"""Rerun the blog's experiment on real photos with both engines and write the results.

``python -m experiments`` trains the blog's model with the hand-written library and
with Keras on each dataset, one subprocess at a time: the blog's settings, its two
remedies for overfitting, and k-fold cross-validation. It then builds
``docs/results.md`` and its pictures from the runs' ``history.json`` files.
``--quick`` shrinks every run (2 epochs, 2 folds, 16x16 images) for tests.
"""

from .plan import ENGINES, EXPERIMENTS, Run, Settings, make_plan
from .report import summarize_history, write_report
from .runner import run_plan

__all__ = [
    "ENGINES",
    "EXPERIMENTS",
    "Run",
    "Settings",
    "make_plan",
    "run_plan",
    "summarize_history",
    "write_report",
]
