"""Pictures of the calculus: derivatives, gradients, optimizer paths and training curves.

`tangent` draws f, f' and the tangent line at a point; `difference_quotient` shows the central
difference converging to f' as h shrinks, until round-off takes over; `gradient_field` draws
the contours of f(x, y) with its gradient arrows; `optimizer_paths` races the optimizers of
`chainrule.surfaces` on one surface; `training_curves` (alias `loss_curves`) draws a history.

matplotlib is an optional extra (``pip install 'chainrule[plot]'``); without it, the plot
functions raise an ImportError that says how to install it. Every function returns the
matplotlib figure, and saves it when given a path (the format follows the suffix: .png, .svg,
.pdf).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "difference_quotient",
    "gradient_field",
    "loss_curves",
    "optimizer_paths",
    "tangent",
    "training_curves",
]


def pyplot() -> Any:
    """matplotlib.pyplot with a non-interactive backend, or an ImportError saying what to do."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(
            "chainrule's plots need matplotlib, an optional extra: "
            "pip install 'chainrule[plot]' (or pip install matplotlib)."
        ) from exc
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(history: dict[str, list[float]], path: str | Path | None = None) -> Any:
    """Loss and metric curves per epoch, from the history `chainrule.train.fit` returns.

    One panel for the loss (training and, if present, validation), one per metric found as
    ``train_<name>`` / ``val_<name>`` keys.

    >>> fig = training_curves({"epoch": [1, 2], "loss": [0.9, 0.5], "val_loss": [1.0, 0.7],
    ...                        "train_accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]})
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'accuracy']
    """
    plt = pyplot()
    epochs = history.get("epoch") or list(range(1, len(history["loss"]) + 1))
    metrics = sorted(
        {key.split("_", 1)[1] for key in history if key.startswith(("train_", "val_"))} - {"loss"}
    )
    fig, axes = plt.subplots(
        1, 1 + len(metrics), figsize=(5 * (1 + len(metrics)), 3.6), squeeze=False
    )
    panels = [("loss", "loss", "val_loss")] + [(m, f"train_{m}", f"val_{m}") for m in metrics]
    for ax, (title, train_key, val_key) in zip(axes[0], panels, strict=True):
        for key, label in ((train_key, "training"), (val_key, "held-out")):
            if history.get(key):
                ax.plot(epochs, history[key], marker="o", markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
