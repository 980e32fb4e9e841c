"""Helpers behind the Digit Recognizer notebooks: data, models, training, evaluation, submission."""

from digit_recognizer.errors import DigitRecognizerError

__all__ = ["DigitRecognizerError"]
__version__ = "0.1.0"
