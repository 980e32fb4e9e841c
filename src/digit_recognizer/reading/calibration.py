"""What a model's readings are worth: when a digit is unsure, and when a mark is no digit.

A network's softmax gives ten probabilities that always add up to one, so a letter still gets
a confident digit, and a model trained with label smoothing never says more than about 90%.
Two measures, fitted once per model (`Calibration.fit`, cached) on labelled digits that the
caller gives (`Reference`; the commands take them from the embedded sample,
`datasets.reference`):

- **unsure**: a reading's confidence is the least probability that the digit and its
  one-pixel shifts give it (`predict.confidence`). On digits the model never trained on, it
  reads most right; a digit is unsure when its confidence is below what RIGHT_SHARE of those
  right readings reach. So the mark means the same for a model with label smoothing as for
  one without.
- **typical**: a network's last layer reads the digit from features. On digits it trained on,
  each digit's mean features and their shared covariance are measured; a mark whose features
  lie further from every digit's mean (Mahalanobis) than TYPICAL_SHARE of those digits does
  not look like any digit the model was trained on. Models whose last layer has no single
  input (the k-fold ensemble's average) get no such measure.

Without a Reference, readings are uncalibrated: `predict.UNSURE` is the level, every mark is
typical. Keras is imported only when a model is fitted.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

TYPICAL_SHARE = 0.999
SHRINK = 1e-3  # of the covariance's mean variance, added to its diagonal
# A digit is unsure below the confidence that this share of the model's right readings of
# unseen rows reach. Chosen on the calibration set of bench/photo_reading.py.
RIGHT_SHARE = 0.85

_fitted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Reference:
    """Labelled uint8 digits (n, 28, 28): some the model trained on, some it never saw."""

    trained: np.ndarray
    trained_labels: np.ndarray
    unseen: np.ndarray
    unseen_labels: np.ndarray


@dataclass
class Calibration:
    unsure: float  # a digit read with less confidence is unsure
    features: object = None  # a Keras model: inputs -> the last layer's inputs (or None)
    means: np.ndarray | None = None  # (10, d)
    precision: np.ndarray | None = None  # (d, d): the inverse of the shared covariance
    limit: float = np.inf  # the TYPICAL_SHARE quantile of the training rows' distances

    @classmethod
    def fit(cls, model, reference: Reference) -> Calibration:
        """Fitted once per model object (cached)."""
        if model not in _fitted:
            _fitted[model] = _fit(model, reference)
        return _fitted[model]

    def typical(self, x: np.ndarray) -> np.ndarray:
        """For each input (as the model takes it): near the digits the model trained on."""
        if self.features is None:
            return np.ones(len(x), bool)
        return self.distance(x) <= self.limit

    def distance(self, x: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each input to the nearest digit's mean features."""
        features = np.asarray(self.features.predict_on_batch(x), np.float64)
        return _nearest(features, self.means, self.precision)


def _fit(model, reference: Reference) -> Calibration:
    from digit_recognizer.reading import predict

    if not hasattr(model, "layers"):  # a stand-in, not a Keras model
        return Calibration(predict.UNSURE)
    best, _, confidence = predict.read_digits(model, reference.unseen)
    right = confidence[best == reference.unseen_labels]
    unsure = float(np.quantile(right, 1 - RIGHT_SHARE)) if len(right) else predict.UNSURE
    try:
        inputs = model.layers[-1].input
    except (AttributeError, IndexError, ValueError):
        return Calibration(unsure)
    if isinstance(inputs, (list, tuple)) or len(inputs.shape) != 2:
        return Calibration(unsure)
    import keras

    features = keras.Model(model.inputs, inputs)
    f = np.asarray(features.predict(predict.model_input(model, reference.trained),
                                    batch_size=256, verbose=0), np.float64)
    y = reference.trained_labels
    means = np.stack([f[y == k].mean(axis=0) for k in range(10)])
    centred = f - means[y]
    covariance = centred.T @ centred / len(f)
    covariance += SHRINK * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    precision = np.linalg.inv(covariance)
    limit = float(np.quantile(_nearest(f, means, precision), TYPICAL_SHARE))
    return Calibration(unsure, features, means, precision, limit)


def _nearest(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    apart = features[:, None, :] - means[None, :, :]
    return np.einsum("nkd,de,nke->nk", apart, precision, apart).min(axis=1)
