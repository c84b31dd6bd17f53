"""Surrogates: linear models that predict a metric of a configuration before synthesis, with a
standard deviation, chosen per metric by cross-validation; and the model file that carries
them with their knob schema.

Every surrogate is a scikit-learn regressor (``__init__`` stores parameters, ``fit`` returns
self, learned attributes end in ``_``) whose ``predict(X, return_std=True)`` gives a mean and
a standard deviation. The seed paper's model, ordinary least squares on one-hot knobs, is
:func:`baseline` and is always reported beside the chosen one.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import ARDRegression, BayesianRidge, LinearRegression, RidgeCV
from sklearn.metrics import mean_absolute_percentage_error, r2_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from .errors import DseError, did_you_mean
from .features import KnobEncoder
from .ir import Kernel
from .space import knob_text
from .structure import PROXIES, Columns, columns_of, row_count
from .targets import DEFAULT_TARGET, costed_on

PREDICT_CHUNK = 20_000
"""Rows encoded at once when predicting many configurations."""

Z90 = 1.6448536269514722
"""Half-width of a central 90% interval, in standard deviations."""

MODEL_FORMAT = "3"
"""The shape of what a model file pickles (surrogates, encoders, the kernel's structure): raised
whenever it changes, so that a file from before is refused with one line instead of failing
inside a prediction."""


class LinearSurrogate(RegressorMixin, BaseEstimator):
    """A linear model of one metric over encoded knobs.

    ``model``: ``ols``, ``ridge`` (regularisation chosen by leave-one-out), ``bayes`` (Bayesian
    ridge) or ``ard``. ``log_target``: fit log(1 + y), so that effects multiply.
    ``onehot``: encode every knob one-hot (the seed paper's encoding) instead of log2 factors.
    ``interactions``/``kernel``/``target``/``structure``: see :class:`dse.features.KnobEncoder`.
    ``bounded``: keep predictions near the range seen in training. ``nonnegative``: never
    predict below 0 a metric that never was in training."""

    def __init__(self, knobs: list[str], model: str = "ridge", log_target: bool = True, interactions: bool = False,
                 kernel: Kernel | None = None, onehot: bool = False, bounded: bool = True,
                 target: str = DEFAULT_TARGET, structure: tuple[str, ...] | str | None = None,
                 nonnegative: bool = True):
        self.knobs = knobs
        self.structure = structure
        self.target = target
        self.bounded = bounded
        self.nonnegative = nonnegative
        self.model = model
        self.log_target = log_target
        self.interactions = interactions
        self.kernel = kernel
        self.onehot = onehot

    def _regressor(self):
        return {"ols": LinearRegression, "ridge": lambda: RidgeCV(alphas=np.logspace(-4, 4, 17)),
                "bayes": BayesianRidge, "ard": ARDRegression}[self.model]()

    def _features(self, X: pd.DataFrame | Columns) -> pd.DataFrame | Columns:
        if not self.onehot:
            return X
        return {knob: values.astype(str) for knob, values in columns_of(X, self.knobs).items()}

    def _encoder(self) -> KnobEncoder:
        return KnobEncoder(self.knobs, self.interactions, self.kernel, self.target, self.structure)

    def fit(self, X: pd.DataFrame, y) -> LinearSurrogate:
        y = np.asarray(y, dtype=float)
        table = self._features(X)
        self.encoder_ = self._encoder()
        self.scaler_ = StandardScaler()
        features = self.scaler_.fit_transform(self.encoder_.fit_transform(table))
        self.range_ = (float(y.min()), float(y.max()))
        self.floor_ = 0.0 if self.nonnegative and self.range_[0] >= 0 else -np.inf
        target = np.log1p(np.maximum(y, 0)) if self.log_target else y
        self.regressor_ = self._regressor().fit(features, target)
        residuals = target - self.regressor_.predict(features)
        self.sigma_ = float(np.sqrt(np.mean(residuals ** 2) * len(y) / max(1, len(y) - 1)))
        self._fold_weights()
        return self

    def _fold_weights(self) -> None:
        """The fitted model as weights on the unscaled base columns: ``linear_`` on each, ``pairs_``
        (a matrix) on each interaction product, ``offset_`` the intercept. Predicting with them
        never builds the matrix of interaction products: x·W·x sums them."""
        weights = self.regressor_.coef_ / self.scaler_.scale_
        self.offset_ = float(self.regressor_.intercept_ - weights @ self.scaler_.mean_)
        base = len(self.encoder_.base_columns_)
        self.linear_ = weights[:base]
        self.pairs_ = np.zeros((base, base))
        np.add.at(self.pairs_, self.encoder_.pair_positions_, weights[base:])

    def _latent(self, X: pd.DataFrame | Columns, encoded: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation in the fitted scale (log or raw). ``encoded`` keeps
        encodings of ``X`` for surrogates whose encoders agree (one encoding per table)."""
        key = (self.onehot, self.kernel is not None, tuple(self.encoder_.base_columns_))
        if encoded is None:
            encoded = {}
        if key not in encoded:
            encoded[key] = self.encoder_.base_matrix(self.encoder_.encode(self._features(X), encoded), row_count(X))
        base = encoded[key]
        if self.model in ("bayes", "ard"):  # the posterior's spread needs every feature
            return self.regressor_.predict(self.scaler_.transform(self.encoder_.expand(base)), return_std=True)
        mean = base @ self.linear_ + self.offset_
        if self.encoder_.pairs_:
            mean += np.einsum("ij,ij->i", base @ self.pairs_, base)
        return mean, np.full(len(base), self.sigma_)

    def _bounded(self, values: np.ndarray) -> np.ndarray:
        """Predictions not below :attr:`floor_`, and with ``bounded``, within the training range
        widened by its span on each side (a linear model extrapolates without limit; a metric
        does not)."""
        if self.bounded:
            low, high = self.range_
            values = np.clip(values, low - (high - low), 2 * high - low)
        return np.maximum(values, self.floor_)

    def predict(self, X: pd.DataFrame, return_std: bool = False):
        centre, spread = self._latent(X)
        if self.log_target:
            centre = np.expm1(np.clip(centre, None, 700))
            spread = spread * (1 + centre)  # first order: d expm1(t) = (1 + y) dt
        centre = self._bounded(centre)
        return (centre, spread) if return_std else centre

    def interval(self, X: pd.DataFrame, encoded: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, low, high) of a central 90% interval; multiplicative on log targets."""
        centre, spread = self._latent(X, encoded)
        ends = centre, centre - Z90 * spread, centre + Z90 * spread
        if self.log_target:
            ends = tuple(np.expm1(np.clip(e, None, 700)) for e in ends)
        return tuple(self._bounded(e) for e in ends)


def baseline(knobs: list[str]) -> LinearSurrogate:
    """The seed paper's model: ordinary least squares on one-hot knobs, raw target."""
    return LinearSurrogate(knobs, model="ols", log_target=False, onehot=True, bounded=False, nonnegative=False)


def candidates(knobs: list[str], kernel: Kernel | None, target: str = DEFAULT_TARGET,
               metric: str | None = None) -> dict[str, LinearSurrogate]:
    """The family cross-validation chooses from; with a kernel and a ``metric`` the structure
    has a proxy for, also that proxy's parts on a raw target and the proxy on a log target
    (a power law)."""
    family = {}
    if kernel is not None and metric in PROXIES:
        total, *parts = PROXIES[metric]
        # a proxy follows the structure beyond the training range, so its predictions are not bounded
        family["proxy/log"] = LinearSurrogate(knobs, "ridge", True, kernel=kernel, bounded=False, target=target,
                                              structure=(f"log2_{total}",))
        family["proxy/raw"] = LinearSurrogate(knobs, "ridge", False, kernel=kernel, bounded=False, target=target,
                                              structure=tuple(parts) or (total,))
    for log_target in (True, False):
        scale = "log" if log_target else "raw"
        family[f"ridge/{scale}"] = LinearSurrogate(knobs, "ridge", log_target)
        family[f"ridge/{scale}/interactions"] = LinearSurrogate(knobs, "ridge", log_target, interactions=True)
        family[f"bayes/{scale}"] = LinearSurrogate(knobs, "bayes", log_target)
        if kernel is not None:
            family[f"ridge/{scale}/kernel"] = LinearSurrogate(knobs, "ridge", log_target, kernel=kernel, target=target)
            family[f"ridge/{scale}/kernel+interactions"] = LinearSurrogate(knobs, "ridge", log_target, True, kernel,
                                                                           target=target)
            family[f"ridge/{scale}/structure"] = LinearSurrogate(knobs, "ridge", log_target, kernel=kernel,
                                                                 target=target, structure="all")
    return family


def scores(actual, predicted) -> dict[str, float]:
    """R² and mean absolute percentage error (of values that are not zero)."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    nonzero = actual != 0
    mape = mean_absolute_percentage_error(actual[nonzero], predicted[nonzero]) if nonzero.any() else float("nan")
    return {"r2": float(r2_score(actual, predicted)), "mape": float(mape)}


def _folds(rows: int, folds: int, seed: int) -> KFold:
    return KFold(min(folds, rows), shuffle=True, random_state=seed)


def cross_validate(estimator, X: pd.DataFrame, y, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions of ``y``."""
    return cross_val_predict(estimator, X, np.asarray(y, float), cv=_folds(len(y), folds, seed))


def _fold_r2(y: np.ndarray, predicted: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """R² on each fold of :func:`cross_validate`'s split."""
    return np.array([r2_score(y[test], predicted[test]) if len(test) > 1 else np.nan
                     for _, test in _folds(len(y), folds, seed).split(y)])


def _size(model: LinearSurrogate | BlendSurrogate, X: pd.DataFrame) -> int:
    """Features a surrogate fits (a blend: its members' together)."""
    if isinstance(model, BlendSurrogate):
        return sum(_size(member, X) for member in model.members)
    return len(model._encoder().fit(model._features(X)).columns_)


def choose(X: pd.DataFrame, y, knobs: list[str], kernel: Kernel | None = None, folds: int = 5,
           target: str = DEFAULT_TARGET, metric: str | None = None) -> tuple[str, BaseEstimator, dict, dict]:
    """The simplest candidate (fewest features) whose mean R² over the cross-validation folds
    is within one standard error of the best, refitted on all rows: (name, model, its CV
    scores, the baseline's CV scores). The rule keeps the model that extrapolates least
    wildly when several fit alike. Besides each candidate, the blend of the best model on a
    log target with the best on a raw one competes: the log model is accurate in proportion,
    the raw one on the largest designs, and their mean often beats both. With a structural
    proxy for the metric, a chosen model that is not the proxy's is kept near it
    (:class:`GuidedSurrogate`)."""
    y = np.asarray(y, float)
    family = candidates(knobs, kernel, target, metric)
    predicted = {name: cross_validate(model, X, y, folds) for name, model in family.items()}
    results = {name: scores(y, values) for name, values in predicted.items()}
    best_of = {scale: max((n for n in family if family[n].log_target == (scale == "log")),
                          key=lambda n: results[n]["r2"]) for scale in ("log", "raw")}
    blend = f"blend({best_of['log']}, {best_of['raw']})"
    family[blend] = BlendSurrogate([family[best_of["log"]], family[best_of["raw"]]])
    predicted[blend] = (predicted[best_of["log"]] + predicted[best_of["raw"]]) / 2
    results[blend] = scores(y, predicted[blend])
    per_fold = {name: _fold_r2(y, values, folds) for name, values in predicted.items()}
    top = max(per_fold, key=lambda name: np.nanmean(per_fold[name]))
    margin = np.nanstd(per_fold[top]) / np.sqrt(np.sum(~np.isnan(per_fold[top])))
    close = [name for name in family if np.nanmean(per_fold[name]) >= np.nanmean(per_fold[top]) - margin]
    best = min(close, key=lambda name: (_size(family[name], X), -np.nanmean(per_fold[name])))
    model, out_of_fold = family[best], predicted[best]
    if "proxy/log" in family and not best.startswith("proxy/"):
        # kept near the proxy: twice as far as its usual misses in cross-validation, and not wildly off
        misses = np.abs(np.log1p(np.maximum(predicted["proxy/log"], 0)) - np.log1p(np.maximum(y, 0)))
        model = GuidedSurrogate(model, family["proxy/log"], 2 * float(np.quantile(misses, 0.95)) + np.log(1.25))
        # its out-of-fold predictions: the chosen model's, kept near the proxy's (same folds)
        out_of_fold = _near(predicted[best], predicted["proxy/log"], model.width)
        best = f"{best} near proxy"
        results[best] = scores(y, out_of_fold)
    model = ConformalSurrogate.around(model, y, out_of_fold)
    return best, clone(model).fit(X, y), results[best], scores(y, cross_validate(baseline(knobs), X, y, folds))


class BlendSurrogate(RegressorMixin, BaseEstimator):
    """The mean of several surrogates; its spread adds theirs to their disagreement."""

    def __init__(self, members: list[LinearSurrogate]):
        self.members = members

    def fit(self, X: pd.DataFrame, y) -> BlendSurrogate:
        self.members_ = [clone(member).fit(X, y) for member in self.members]
        return self

    def predict(self, X: pd.DataFrame, return_std: bool = False):
        means, spreads = zip(*(member.predict(X, return_std=True) for member in self.members_))
        mean = np.mean(means, axis=0)
        spread = np.sqrt(np.mean([s ** 2 + (m - mean) ** 2 for m, s in zip(means, spreads)], axis=0))
        return (mean, spread) if return_std else mean

    def interval(self, X: pd.DataFrame, encoded: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, low, high): the members' means averaged, the interval spanning theirs."""
        ends = [member.interval(X, encoded) for member in self.members_]
        return (np.mean([e[0] for e in ends], axis=0), np.min([e[1] for e in ends], axis=0),
                np.max([e[2] for e in ends], axis=0))


def _near(mean: np.ndarray, guide: np.ndarray, width: float) -> np.ndarray:
    """``mean`` clipped to within ``width`` of ``guide`` on the log1p scale."""
    centre = np.log1p(np.maximum(guide, 0))
    return np.clip(mean, np.expm1(centre - width), np.expm1(centre + width))


class GuidedSurrogate(RegressorMixin, BaseEstimator):
    """A surrogate whose predictions stay within ``width`` (on the log1p scale) of a structural
    proxy model's: the proxy follows the structure to designs far beyond those seen in
    training, where a model of many knob columns may not."""

    def __init__(self, model: LinearSurrogate | BlendSurrogate, guide: LinearSurrogate, width: float):
        self.model = model
        self.guide = guide
        self.width = width

    def fit(self, X: pd.DataFrame, y) -> GuidedSurrogate:
        self.model_ = clone(self.model).fit(X, y)
        self.guide_ = clone(self.guide).fit(X, y)
        return self

    def _shift(self, X: pd.DataFrame, mean: np.ndarray, encoded: dict | None = None) -> np.ndarray:
        """How far ``mean`` moves to come within the band around the guide."""
        return _near(mean, self.guide_.interval(X, encoded)[0], self.width) - mean

    def predict(self, X: pd.DataFrame, return_std: bool = False):
        mean, spread = self.model_.predict(X, return_std=True)
        mean = np.maximum(mean + self._shift(X, mean), self.guide_.floor_)
        return (mean, spread) if return_std else mean

    def interval(self, X: pd.DataFrame, encoded: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, low, high): the model's, moved with its mean into the band, not below the
        guide's floor."""
        encoded = {} if encoded is None else encoded
        mean, low, high = self.model_.interval(X, encoded)
        shift = self._shift(X, mean, encoded)
        return tuple(np.maximum(end + shift, self.guide_.floor_) for end in (mean, low, high))


class ConformalSurrogate(RegressorMixin, BaseEstimator):
    """A surrogate whose 90% interval is set by its errors on rows it did not see (out of fold
    in cross-validation, as in split-conformal prediction), not by its residuals on the rows it
    fitted, which are smaller. For a metric never negative the errors are taken on the log1p
    scale, so the interval is in proportion to the prediction: a raw-target model's constant
    spread is too wide for small designs and too narrow for large ones. ``half_width``: the
    errors' 90% quantile; ``relative``: on the log1p scale."""

    def __init__(self, model: LinearSurrogate | BlendSurrogate | GuidedSurrogate, half_width: float,
                 relative: bool = True):
        self.model = model
        self.half_width = half_width
        self.relative = relative

    @classmethod
    def around(cls, model, y: np.ndarray, out_of_fold: np.ndarray) -> ConformalSurrogate:
        """``model`` with the interval its out-of-fold predictions of ``y`` call for."""
        relative = bool(np.min(y) >= 0)
        if relative:
            errors = np.abs(np.log1p(y) - np.log1p(np.maximum(out_of_fold, 0)))
        else:
            errors = np.abs(y - out_of_fold)
        # with split-conformal prediction's finite-sample correction (cross-validation only approaches it)
        return cls(model, float(np.quantile(errors, min(1.0, 0.9 * (1 + 1 / len(y))))), relative)

    def fit(self, X: pd.DataFrame, y) -> ConformalSurrogate:
        self.model_ = clone(self.model).fit(X, y)
        return self

    def _ends(self, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not self.relative:
            return mean - self.half_width, mean + self.half_width
        centre = np.log1p(np.maximum(mean, 0))
        return np.maximum(np.expm1(centre - self.half_width), 0.0), np.expm1(centre + self.half_width)

    def predict(self, X: pd.DataFrame, return_std: bool = False):
        mean = self.model_.predict(X)
        if not return_std:
            return mean
        low, high = self._ends(mean)
        return mean, (high - low) / (2 * Z90)

    def interval(self, X: pd.DataFrame, encoded: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean = self.model_.interval(X, encoded)[0]
        return (mean, *self._ends(mean))


@dataclass
class SurrogateModel:
    """What ``dse train`` writes: per metric the chosen surrogate and the baseline, with the
    knob schema, the target and the data they were trained on."""

    knobs: dict[str, list]  # knob -> values seen in training (None: inactive)
    surrogates: dict[str, ConformalSurrogate]
    baselines: dict[str, LinearSurrogate]
    report: dict[str, dict]  # per metric: the chosen model's name, its scores and the baseline's
    target: str | None
    data_hash: str
    kernel_name: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def check(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The knob columns of ``frame`` as :data:`Columns`, checked against the schema; a knob
        the frame lacks takes its first value (or stays inactive if it ever was)."""
        unknown = [c for c in frame.columns if c not in self.knobs]
        if unknown:
            raise DseError(f"unknown knob '{unknown[0]}'{did_you_mean(unknown[0], self.knobs)}; "
                           f"the model knows {', '.join(self.knobs)}")
        given = columns_of(frame)
        columns = {}
        for knob, values in self.knobs.items():
            columns[knob] = given.get(knob, np.full(len(frame), None if None in values else values[0], dtype=object))
            known = {str(v) for v in values}
            for value in set(columns[knob].tolist()):  # each distinct value once
                if not pd.isna(value) and knob_text(value) not in known:
                    raise DseError(f"{knob}={value}: not a value the model was trained on "
                                   f"({', '.join(sorted(known - {'None'}))})")
        return columns

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per metric: mean, and the low and high ends of a 90% interval."""
        columns = self.check(frame)
        out: dict[str, list] = {}
        for start in range(0, len(frame), PREDICT_CHUNK):  # bounded memory for interaction features
            chunk, encoded = {knob: values[start:start + PREDICT_CHUNK] for knob, values in columns.items()}, {}
            for metric, surrogate in self.surrogates.items():
                for name, values in zip((metric, f"{metric}_low", f"{metric}_high"), surrogate.interval(chunk, encoded)):
                    out.setdefault(name, []).append(values)
        return pd.DataFrame({name: np.concatenate(parts) for name, parts in out.items()}, index=frame.index)

    def save(self, path: str | Path) -> None:
        import joblib
        try:
            joblib.dump(self, path)
        except OSError as error:
            raise DseError(f"{path}: cannot write ({error.strerror or error})") from None

    @staticmethod
    def load(path: str | Path) -> SurrogateModel:
        import joblib
        path = Path(path)
        if not path.is_file():
            raise DseError(f"{path}: no such model file")
        try:
            model = joblib.load(path)
        except Exception as error:  # a corrupt or foreign file fails in many ways inside pickle
            raise DseError(f"{path}: not a model file written by dse train ({type(error).__name__})") from None
        if not isinstance(model, SurrogateModel):
            raise DseError(f"{path}: not a model file written by dse train")
        mismatched = {k: v for k, v in library_versions().items() if model.versions.get(k) != v}
        if mismatched:
            name, now = next(iter(mismatched.items()))
            raise DseError(f"{path}: trained with {name} {model.versions.get(name, 'unknown')}, this is {name} {now}; "
                           f"train it again")
        return model


def train(table, kernel: Kernel | None = None, target: str | None = None, folds: int = 5,
          test=None, progress=None) -> SurrogateModel:
    """Per metric that varies in ``table``: the cross-validated choice of surrogate and the
    baseline, fitted on every row; scored on ``test`` (another table) when given."""
    surrogates, baselines, report = {}, {}, {}
    frame = table.frame
    target = target or table.target
    costing = costed_on(target)  # operator costs of structural features
    for metric in table.metrics:
        rows = frame[frame[metric].notna()]
        if rows[metric].nunique() < 2 or len(rows) < 4:
            continue
        name, model, cv, base_cv = choose(rows, rows[metric], table.knobs, kernel, folds, costing, metric)
        surrogates[metric] = model
        baselines[metric] = baseline(table.knobs).fit(rows, rows[metric])
        report[metric] = {"model": name, "cv_r2": cv["r2"], "cv_mape": cv["mape"],
                          "baseline_cv_r2": base_cv["r2"], "baseline_cv_mape": base_cv["mape"], "rows": len(rows)}
        if test is not None and metric in test.metrics:
            held = test.frame[test.frame[metric].notna()]
            ours, theirs = scores(held[metric], model.predict(held)), scores(held[metric], baselines[metric].predict(held))
            report[metric].update({"test_r2": ours["r2"], "test_mape": ours["mape"], "baseline_test_r2": theirs["r2"],
                                   "baseline_test_mape": theirs["mape"]})
        if progress:
            progress(metric)
    if not surrogates:
        raise DseError(f"{table.source}: no metric varies over at least 4 rows; nothing to learn")
    return SurrogateModel(knob_schema(frame, table.knobs), surrogates, baselines, report,
                          target, table.hash, table.kernel, library_versions())


def library_versions() -> dict[str, str]:
    import sklearn

    from . import __version__
    return {"hls-dse": __version__, "model format": MODEL_FORMAT, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def knob_schema(frame: pd.DataFrame, knobs: list[str]) -> dict[str, list]:
    schema = {}
    for knob in knobs:
        values = {None if (isinstance(v, float) and np.isnan(v)) or v is None else knob_text(v) for v in frame[knob]}
        schema[knob] = sorted(values, key=lambda v: (v is None, str(v)))
    return schema
