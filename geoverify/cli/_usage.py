"""Usage errors said in Chinese first: the two click overrides every group and command share.

Light on purpose (click alone): the top-level group uses them before any command is imported,
and ``geoverify --version`` must stay fast. The wording and the JSON document come from
:func:`geoverify.cli._common.usage_error`, imported only when an error is said.
"""

from __future__ import annotations

from typing import Any

import click


def _said(error: click.UsageError, args: list[str]) -> click.UsageError:
    from geoverify.cli._common import usage_error  # only on an error

    return usage_error(error, args)


class SaysUsageInChinese:
    """Usage errors (unknown option, missing argument, bad value) said in Chinese first, and
    also as one JSON document on stdout when ``--json`` was given; click still explains on
    stderr and exits with code 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        given = list(args)  # click takes the arguments off the list as it parses them
        try:
            return super().make_context(info_name, args, parent=parent, **extra)  # type: ignore[misc]
        except click.UsageError as e:
            said = _said(e, given)
            if said is e:
                raise
            raise said from e


class ResolvesInChinese:
    """An unknown subcommand said as :class:`SaysUsageInChinese` says a usage error."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)  # type: ignore[misc]
        except click.UsageError as e:
            said = _said(e, args)
            if said is e:
                raise
            raise said from e
