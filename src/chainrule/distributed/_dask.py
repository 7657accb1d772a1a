"""The optional dependency: Dask (``pip install 'chainrule[distributed]'``)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

INSTALL = "pip install 'chainrule[distributed]' (or pip install 'dask[distributed]')"


def require(where: str) -> tuple[ModuleType, ModuleType]:
    """``(dask, dask.array)``, or an ImportError that says how to install them."""
    try:
        import dask
        import dask.array
    except ImportError as exc:
        raise ImportError(f"{where} needs Dask: {INSTALL}.") from exc
    return dask, dask.array


def client_module(where: str) -> Any:
    """``dask.distributed``, or an ImportError that says how to install it."""
    try:
        import dask.distributed
    except ImportError as exc:
        raise ImportError(f"{where} needs Dask's distributed scheduler: {INSTALL}.") from exc
    return dask.distributed


def client_of(client: Any, where: str) -> Any:
    """`client`, checked to be a ``dask.distributed.Client``."""
    if not isinstance(client, client_module(where).Client):
        raise TypeError(
            f"{where}: client must be a dask.distributed.Client (Client(LocalCluster()) for "
            f"the processes of this machine, Client('tcp://host:8786') for a cluster), got "
            f"{type(client).__name__}"
        )
    return client
