"""``geoverify report monthly|district``."""

from __future__ import annotations

import click

from geoverify.cli import report_district, report_monthly
from geoverify.cli._common import JsonGroup


@click.group("report", cls=JsonGroup)
def report_group() -> None:
    """Reports: the monthly patrol table (月报) and the report to the district (反馈区禁毒办)."""


for _command in [*report_monthly.COMMANDS, *report_district.COMMANDS]:
    report_group.add_command(_command)

COMMANDS = [report_group]
