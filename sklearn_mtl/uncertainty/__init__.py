"""How sure is each task: prediction intervals and sets with a stated coverage.

:class:`ConformalTasks` calibrates a fitted model per task by split
conformal prediction (``_conformal``), with the conformity scores of
``_scores``: absolute and Pearson residuals, CQR on a quantile head, LAC and APS.
"""

from ._conformal import ConformalTasks

__all__ = ["ConformalTasks"]
