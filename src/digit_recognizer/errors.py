"""The one exception type the project raises for anything a user can fix."""


class DigitRecognizerError(Exception):
    """A readable problem with the user's input or environment (bad file, missing credentials...).

    The command line prints its message without a traceback and exits non-zero.
    """
