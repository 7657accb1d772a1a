"""scikit-learn's estimator protocol, written without importing scikit-learn.

An `Estimator` stores its constructor's arguments unchanged, as attributes of the same
names, and checks them in ``fit`` (so ``set_params`` and ``sklearn.base.clone`` work, and
a bad value is reported where it is used). Learned attributes end in ``_`` and appear only
in ``fit``. ``get_params`` / ``set_params`` read the parameter names off ``__init__``;
``__sklearn_tags__`` tells scikit-learn (1.6 or later, imported only when scikit-learn
itself asks) what kind of estimator this is. With that, ``clone``, ``Pipeline``,
``GridSearchCV`` and ``cross_val_score`` take chainrule's models as their own.

>>> from chainrule.linalg import PCA
>>> pca = PCA(n_components=2)
>>> pca.get_params()
{'method': 'svd', 'n_components': 2}
>>> pca.set_params(method="eigh")
PCA(n_components=2, method='eigh')
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, ClassVar, TypeVar

__all__ = ["DataConversionWarning", "Estimator", "NotFittedError"]

_E = TypeVar("_E", bound="Estimator")


class NotFittedError(ValueError, AttributeError):
    """A model was used before ``fit`` (a ValueError and an AttributeError, as scikit-learn's).

    >>> from chainrule.linear_model import Ridge
    >>> try:
    ...     Ridge().predict([[1.0]])
    ... except NotFittedError as error:
    ...     print(error)
    Ridge.predict: this Ridge is not fitted yet; call fit first.
    """


class DataConversionWarning(UserWarning):
    """Input was converted to the layout the model needs (scikit-learn's warning of that name).

    >>> issubclass(DataConversionWarning, UserWarning)
    True
    """


class Estimator:
    """get_params, set_params, a scikit-learn repr, the fitted check and scikit-learn's tags."""

    _estimator_type: ClassVar[str | None] = None  # "regressor", "classifier" or None
    _fitted_attribute: ClassVar[str] = "coef_"  # present once fitted

    @classmethod
    def _param_names(cls) -> list[str]:
        """The keyword arguments of ``__init__``, sorted (scikit-learn's order)."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return sorted(p.name for p in parameters if p.name != "self" and p.kind not in variadic)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters, by name (no estimator holds another, so `deep` changes nothing)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self: _E, **params: Any) -> _E:
        """Set hyper-parameters by name; they are checked at the next ``fit``. Returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__}.set_params: unknown parameter {name!r}; the "
                    f"parameters are {', '.join(valid)}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """scikit-learn's: the class and the parameters that differ from their defaults."""
        defaults = inspect.signature(type(self).__init__).parameters
        shown = []
        for name in defaults:
            if name in self._param_names():
                value, default = getattr(self, name), defaults[name].default
                if not (type(value) is type(default) and value == default):
                    shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, self._fitted_attribute):
            name = type(self).__name__
            raise NotFittedError(f"{name}.{method}: this {name} is not fitted yet; call fit first.")

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's description of this estimator (only scikit-learn calls this)."""
        sk = importlib.import_module("sklearn.utils")  # present: scikit-learn is asking
        kind = self._estimator_type
        return sk.Tags(
            estimator_type=kind,
            target_tags=sk.TargetTags(required=kind is not None),
            transformer_tags=sk.TransformerTags(preserves_dtype=["float64", "float32"])
            if kind is None
            else None,
            classifier_tags=sk.ClassifierTags() if kind == "classifier" else None,
            regressor_tags=sk.RegressorTags() if kind == "regressor" else None,
        )
