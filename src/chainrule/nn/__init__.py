"""Neural networks built on chainrule's public API: models are pytrees of arrays."""

from .module import Module, count_parameters

__all__ = ["Module", "count_parameters"]
