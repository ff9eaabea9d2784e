"""Where assignment runs: in this process (``local``) or on a dask cluster (``dask``).

:func:`assign_targets_dask` gives exactly what :func:`geoverify.assign.assign_targets` gives —
the same index order, dtypes and values — with the targets cut into spatially compact
partitions (Hilbert order, dask-geopandas) and each partition assigned on a dask worker against
the whole villages and groups, which are sent to every worker once. A target's result depends
only on its own geometry and the villages and groups, so the partitions are independent; the one
thing they must agree on, the metric CRS, is chosen once here from the whole input.

dask, dask-geopandas and distributed are optional (``pip install 'geoverify[dask]'``) and are
imported only when the dask engine is used. The store is not involved: the caller reads and
writes it as before.
"""

from __future__ import annotations

import itertools
import math
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from geoverify.assign import DEFAULT_TOLERANCE_M
from geoverify.errors import EngineError, GeoverifyError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import pyproj

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ENGINES",
    "MIN_PARTITION_TARGETS",
    "EngineError",
    "assign_targets_dask",
    "assigner",
    "check_engine",
    "connect",
]

#: The engines ``batch import --engine`` accepts.
ENGINES = ("local", "dask")
Engine = Literal["local", "dask"]
#: Seconds to wait for a dask scheduler to answer.
CONNECT_TIMEOUT_S = 10.0
#: Fewest targets worth a partition of their own: each partition prepares the villages (and the
#: cell grid of :mod:`geoverify.assign`) again, so tiny partitions only add that cost.
MIN_PARTITION_TARGETS = 50_000
#: Bits per axis of the Hilbert curve that orders the targets before they are partitioned.
_HILBERT_LEVEL = 16

_INSTALL_HINT = "pip install 'geoverify[dask]'"


AssignFn = Callable[..., "pd.DataFrame"]


# --- dask, when asked for --------------------------------------------------------------------


def _import_dask(*, distributed: bool) -> None:
    """Import dask and dask-geopandas (and distributed), or say how to install them."""
    names = ["dask", "dask_geopandas"] + (["distributed"] if distributed else [])
    for name in names:
        try:
            __import__(name)
        except ImportError as e:
            msg = (
                f"未安装 dask 引擎所需的 {name}，请运行 {_INSTALL_HINT} "
                f"(the dask engine needs {name}; install it with {_INSTALL_HINT}): {e}"
            )
            raise EngineError(msg) from e


def _unreachable(address: str, why: object) -> EngineError:
    msg = (
        f"无法连接 dask 调度器 {address}，未写入任何数据 "
        f"(cannot reach the dask scheduler at {address}; nothing was written): {why}"
    )
    return EngineError(msg)


def _probe(address: str, timeout: float) -> None:
    """Fail fast, with the address, when nothing listens there (a TCP or TLS scheduler)."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as e:
        raise _unreachable(address, e) from e
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise _unreachable(address, e) from e


def connect(address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """A :class:`distributed.Client` of the scheduler at ``address`` (``tcp://host:port``)."""
    _import_dask(distributed=True)
    from distributed import Client

    address = address.strip()
    if not address:
        raise _unreachable("''", "empty address")
    _probe(address, timeout)
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TimeoutError) as e:
        raise _unreachable(address, e) from e


def check_engine(engine: str, scheduler: str | None) -> None:
    """Refuse an unknown engine, and a scheduler without the dask engine."""
    if engine not in ENGINES:
        msg = f"未知的计算引擎 {engine!r} (unknown engine; one of {', '.join(ENGINES)})"
        raise EngineError(msg)
    if scheduler is not None and engine != "dask":
        msg = "只有 dask 引擎才能指定调度器 (a scheduler address needs the dask engine)"
        raise EngineError(msg)


@contextmanager
def assigner(engine: str = "local", scheduler: str | None = None) -> Iterator[AssignFn]:
    """A function with the signature of :func:`~geoverify.assign.assign_targets` that runs on
    ``engine``.

    With ``engine="dask"`` dask is imported and the scheduler (if any) connected on entry, so
    that a missing package or an unreachable scheduler stops a command before it reads or writes
    anything; the connection is closed on exit.
    """
    check_engine(engine, scheduler)
    if engine == "local":
        from geoverify.assign import assign_targets

        yield assign_targets
        return
    _import_dask(distributed=scheduler is not None)
    if scheduler is None:
        yield assign_targets_dask
        return
    client = connect(scheduler)
    try:

        def run(*args: Any, **kwargs: Any) -> pd.DataFrame:
            return assign_targets_dask(*args, scheduler=client, **kwargs)

        yield run
    finally:
        client.close()


# --- the dask engine -------------------------------------------------------------------------


def _assign_partition(
    part: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame | None,
    tolerance_m: float,
    metric: pyproj.CRS,
) -> pd.DataFrame:
    """One partition, on a worker: one thread, as dask runs the partitions side by side."""
    from geoverify.assign import assign_targets

    return assign_targets(
        part,
        villages,
        groups,
        tolerance_m=tolerance_m,
        metric=metric,
        threads=1,
    )


def _threads(client: Any) -> int:
    if client is None:
        return os.cpu_count() or 1
    return max(1, sum(client.nthreads().values()))


def assign_targets_dask(
    targets: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    groups: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    metric: pyproj.CRS | None = None,
    scheduler: Any = None,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`geoverify.assign.assign_targets` on dask: the same frame, computed in partitions.

    Parameters
    ----------
    targets, villages, groups, tolerance_m, metric
        As for :func:`~geoverify.assign.assign_targets`. ``metric`` defaults to the CRS that
        function would choose for the whole input; it is chosen once and given to every
        partition, so that all measure alike.
    scheduler
        None: dask's threaded scheduler in this process. A scheduler address
        (``tcp://host:port``): a :class:`distributed.Client` connected for this call. A
        ``distributed.Client``: used as is.
    npartitions
        Partitions of the targets; default about two per worker thread, none smaller than
        :data:`MIN_PARTITION_TARGETS` targets.

    Returns
    -------
    pandas.DataFrame
        Exactly what :func:`~geoverify.assign.assign_targets` returns for the same arguments.

    Raises
    ------
    EngineError
        dask is not installed, or the scheduler cannot be reached.
    geoverify.errors.InputError
        The same errors, with the same messages, as :func:`~geoverify.assign.assign_targets`.
    """
    import geopandas as gpd
    import pandas as pd

    from geoverify import assign

    _import_dask(distributed=scheduler is not None)
    import dask
    import dask.dataframe as dd
    import dask_geopandas

    # Every check of the whole input, with the in-process messages: an empty frame of targets
    # checks the tolerance, the CRSs and the villages; the targets without geometry, if any, give
    # the same count and labels as the whole frame would.
    empty = assign.assign_targets(
        targets.iloc[:0], villages, groups, tolerance_m=tolerance_m, metric=metric
    )
    n = len(targets)
    if n == 0:
        return empty
    geometry = targets.geometry
    missing = (geometry.isna() | geometry.is_empty).to_numpy()
    if missing.any():
        assign.assign_targets(
            targets[missing], villages, groups, tolerance_m=tolerance_m, metric=metric
        )
    metric_crs = assign._choose_metric(metric, villages.geometry, geometry)

    own_client = isinstance(scheduler, str)
    client = connect(scheduler) if own_client else scheduler
    address = getattr(getattr(client, "scheduler", None), "address", None) or str(scheduler)
    try:
        # Only the geometry travels, indexed by position; the input order is restored at the end.
        light = gpd.GeoDataFrame(geometry=geometry.reset_index(drop=True))
        parts = npartitions or max(
            1, min(math.ceil(n / MIN_PARTITION_TARGETS), 2 * _threads(client))
        )
        parts = max(1, min(int(parts), n))
        with dask.config.set({"dataframe.convert-string": False}):
            # Spatial partitions: the targets in Hilbert order (computed here, where they are),
            # cut into consecutive runs.
            order = np.arange(n)
            if parts > 1:
                x0, y0, x1, y1 = (float(b) for b in light.total_bounds)
                # never zero-wide (all targets on one line or one point)
                bounds = (x0, y0, x1 if x1 > x0 else x0 + 1.0, y1 if y1 > y0 else y0 + 1.0)
                hilbert = (
                    dask_geopandas.from_geopandas(light, npartitions=min(parts, 4))
                    .hilbert_distance(total_bounds=bounds, level=_HILBERT_LEVEL)
                    .compute(scheduler="threads")
                )
                order = np.argsort(hilbert.to_numpy(), kind="stable")
            ordered = light.iloc[order]
            if client is None:
                frame = dask_geopandas.from_geopandas(ordered, npartitions=parts, sort=False)
            else:
                # The partitions go to the workers as data (spread over them), not inside the
                # task graph.
                cuts = np.linspace(0, n, parts + 1).astype(int)
                chunks = [ordered.iloc[a:b] for a, b in itertools.pairwise(cuts)]
                frame = dd.from_delayed(
                    client.scatter(chunks, hash=False), meta=ordered.iloc[:0], verify_meta=False
                )
            v, g = villages, groups
            if client is not None:
                v = client.scatter(villages, broadcast=True, hash=False)
                g = (
                    client.scatter(groups, broadcast=True, hash=False)
                    if groups is not None
                    else None
                )
            meta = assign.assign_targets(
                light.iloc[:0], villages, groups, tolerance_m=tolerance_m, metric=metric_crs
            )
            result = frame.map_partitions(
                _assign_partition,
                v,
                g,
                tolerance_m,
                metric_crs,
                meta=meta,
                align_dataframes=False,
            )
            # Each partition's result comes straight back here and is written into the
            # columns at its targets' positions (no concatenation, no second copy).
            columns = {c: np.empty(n, dtype=meta[c].to_numpy().dtype) for c in meta.columns}
            filled = 0
            try:
                if client is not None:
                    for future in client.compute(result.to_delayed()):
                        filled += _fill(columns, future.result())
                        future.release()
                else:
                    for part in dask.compute(*result.to_delayed(), scheduler="threads"):
                        filled += _fill(columns, part)
            except (OSError, TimeoutError) as e:
                if isinstance(e, GeoverifyError) or client is None:
                    raise
                msg = (
                    f"与 dask 调度器 {address} 的连接中断，未写入任何数据 "
                    f"(lost the dask scheduler at {address}; nothing was written): {e}"
                )
                raise EngineError(msg) from e
    finally:
        if own_client:
            client.close()
    if filled != n:  # pragma: no cover - a partition lost or doubled rows
        msg = f"dask 返回 {filled} 行，应为 {n} 行 (dask returned {filled} rows, not {n})"
        raise EngineError(msg)
    index = targets.index
    return pd.DataFrame(
        {c: pd.Series(a, dtype=meta[c].dtype, index=index) for c, a in columns.items()},
        index=index,
    )


def _fill(columns: dict[str, NDArray[Any]], part: pd.DataFrame) -> int:
    """Write one partition's result at its rows (its index holds the targets' positions)."""
    rows = part.index.to_numpy()
    for column, values in columns.items():
        values[rows] = part[column].to_numpy()
    return len(part)
