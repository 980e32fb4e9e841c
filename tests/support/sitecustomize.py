"""The fake Kaggle server's settings, for the Python processes a test starts.

Tests that run the command line or the pipeline in a subprocess put this folder on its
PYTHONPATH (tests/kaggle_fixtures.py, tests/conftest.py), so Python imports this module when
each process starts. With any of these variables set, it sets the Kaggle modules' constants
(the production code reads no such variables):

  FAKE_KAGGLE_ROWS=TRAIN,TEST  rows of the fake competition's train.csv and test.csv
  FAKE_KAGGLE_BACKOFF_S=S      first retry delay (doubles each retry)
  FAKE_KAGGLE_POLL_S=S         delay between two requests for a submission's score or a run's
                               status (and between two progress lines of a run); a run not
                               shown after 100 of them (kernels.START_S) is given up
  FAKE_KAGGLE_ROOT=DIR         what a Kaggle notebook sees as /kaggle (input/, working/)
"""

from __future__ import annotations

import os


def _apply() -> None:
    rows = os.environ.get("FAKE_KAGGLE_ROWS")
    backoff = os.environ.get("FAKE_KAGGLE_BACKOFF_S")
    poll = os.environ.get("FAKE_KAGGLE_POLL_S")
    root = os.environ.get("FAKE_KAGGLE_ROOT")
    if not (rows or backoff or poll or root):
        return
    try:
        from digit_recognizer.kaggle import download, kernels, submissions, transport
    except ImportError:  # a Python without the project (run_all.sh's first checks)
        return
    if rows:
        download.TRAIN_ROWS, download.TEST_ROWS = (int(n) for n in rows.split(","))
    if backoff:
        transport.BACKOFF_S = float(backoff)
    if poll:
        submissions.POLL_S = kernels.POLL_S = kernels.REPORT_S = float(poll)
        kernels.START_S = 100 * float(poll)
    if root:
        from pathlib import Path

        from digit_recognizer.pipeline import sources

        sources.KAGGLE_INPUT, sources.KAGGLE_WORKING = Path(root) / "input", \
            Path(root) / "working"


_apply()
