"""Demo steps of one feature (placeholder: filled in by the feature that owns it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from geoverify.workflows.demo import DemoStep

STEPS: list[DemoStep] = []
