"""Workflows: what the CLI (and later the web service) call. Each is one transaction."""

from __future__ import annotations

from geoverify.workflows.batches import BatchImportResult, import_batch, list_batches
from geoverify.workflows.common import default_workspace, make_who, sample_boundaries, sample_path
from geoverify.workflows.setup import InitResult, init_workspace
from geoverify.workflows.targets import TargetList, list_targets
from geoverify.workflows.villages import (
    VillageImportResult,
    import_groups,
    import_villages,
    list_villages,
)

__all__ = [
    "BatchImportResult",
    "InitResult",
    "TargetList",
    "VillageImportResult",
    "default_workspace",
    "import_batch",
    "import_groups",
    "import_villages",
    "init_workspace",
    "list_batches",
    "list_targets",
    "list_villages",
    "make_who",
    "sample_boundaries",
    "sample_path",
]
