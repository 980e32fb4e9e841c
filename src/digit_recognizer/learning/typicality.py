"""How far a 28x28 input is from the digits a model knows: a letter, a doodle or a shadow is far.

A network's softmax gives ten probabilities that always add up to one, so a letter still gets
a confident digit. Its last layer's inputs (the features it reads the digit from) tell more:
`Typicality.fit` measures, on the embedded sample's training rows, each digit's mean features
and their shared covariance, and `distance` gives an input's Mahalanobis distance to the nearest
digit's mean (squared). `TYPICAL_SHARE` of those rows lie within `limit`; a mark beyond it
does not look like any digit the model was trained on.

Models whose last layer has no single input (the k-fold ensemble's average) get no Typicality
(`fit` returns None), and their readings rest on `reading.predict.confidence` alone. Keras is
imported only when a model is fitted.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from digit_recognizer.datasets import data

FIT_ROWS = 4000  # of the sample's training rows: enough for a stable covariance, ~1 s
TYPICAL_SHARE = 0.999
SHRINK = 1e-3  # of the covariance's mean variance, added to its diagonal

_fitted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class Typicality:
    features: object  # a Keras model: inputs -> the last layer's inputs
    means: np.ndarray  # (10, d)
    precision: np.ndarray  # (d, d): the inverse of the shared covariance
    limit: float  # the TYPICAL_SHARE quantile of the training rows' distances

    @classmethod
    def fit(cls, model) -> Typicality | None:
        """Fitted once per model object (cached)."""
        if model in _fitted:
            return _fitted[model]
        fitted = _fit(model)
        _fitted[model] = fitted
        return fitted

    def distance(self, x: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each input (n, 28, 28, 1 as the model takes it) to
        the nearest digit's mean."""
        features = np.asarray(self.features.predict_on_batch(x), np.float64)
        return _nearest(features, self.means, self.precision)


def _fit(model) -> Typicality | None:
    import keras

    last = model.layers[-1]
    try:
        inputs = last.input
    except (AttributeError, ValueError):
        return None
    if isinstance(inputs, (list, tuple)) or len(inputs.shape) != 2:
        return None
    features = keras.Model(model.inputs, inputs)
    x, y = data.read_digits_csv(data.sample_dir() / "train.csv.gz", labelled=True)
    x, y = x[:FIT_ROWS], y[:FIT_ROWS]
    shaped = x.astype(np.float32) / 255
    if tuple(model.input_shape[1:]) != (28, 28):
        shaped = shaped[..., None]
    f = np.asarray(features.predict(shaped, batch_size=256, verbose=0), np.float64)
    means = np.stack([f[y == k].mean(axis=0) for k in range(10)])
    centred = f - means[y]
    covariance = centred.T @ centred / len(f)
    covariance += SHRINK * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    precision = np.linalg.inv(covariance)
    limit = float(np.quantile(_nearest(f, means, precision), TYPICAL_SHARE))
    return Typicality(features, means, precision, limit)


def _nearest(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    apart = features[:, None, :] - means[None, :, :]
    return np.einsum("nkd,de,nke->nk", apart, precision, apart).min(axis=1)
