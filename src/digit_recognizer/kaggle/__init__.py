"""Kaggle through the official `kaggle` client: download and check the competition's files,
submit with at most one creation, read scores (`kaggle_io`), and the `digit-recognizer
kaggle ...` commands (`kaggle_cli`).

May import: `datasets` (to check files before sending) and the shared modules. The client
wrapper never writes the leaderboard: its callers record what it returns.
"""
