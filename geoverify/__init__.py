"""geoverify: suspect-target verification, patrol coverage and reports for anti-drug offices."""

from __future__ import annotations

from geoverify.errors import (
    CRSError,
    GeoverifyError,
    InputError,
    NotFoundError,
    RejectedInputError,
    RowProblem,
    StoreError,
    TransitionError,
)
from geoverify.model import Assignment, Result, Status, TargetSource, VillageKind

__version__ = "0.1.0"

__all__ = [
    "Assignment",
    "CRSError",
    "GeoverifyError",
    "InputError",
    "NotFoundError",
    "RejectedInputError",
    "Result",
    "RowProblem",
    "Status",
    "StoreError",
    "TargetSource",
    "TransitionError",
    "VillageKind",
    "__version__",
]
