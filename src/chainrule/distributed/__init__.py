"""chainrule beyond one process, on Dask: gradients over chunked data, data-parallel
training, and sweeps of trainings.

An optional extra: ``pip install 'chainrule[distributed]'`` (Dask and its distributed
scheduler). The same code runs on threads in this process, on a `LocalCluster` of worker
processes, or on a cluster whose scheduler you name; what runs where is Dask's choice:

- `value_and_grad` / `grad`: the gradient of a mean or sum over examples held as
  ``dask.array`` chunks, each chunk's part computed where it lives;
- ``train.fit(..., client=client)``: synchronous data-parallel training (each step's batch
  split over the workers, their gradients combined, one optimizer update);
- `sweep`: many trainings at once, one per setting, with a table and a plot.

Work goes to workers as Python objects, which Dask serialises with pickle (cloudpickle for
functions): a cluster runs the code its client sends, so connect only to clusters you
trust, as with any Dask cluster.
"""

from .gradients import grad, value_and_grad
from .sweeps import SweepResult, grid, sample, sweep

__all__ = ["SweepResult", "grad", "grid", "sample", "sweep", "value_and_grad"]
