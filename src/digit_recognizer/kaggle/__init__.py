"""Kaggle through the official `kaggle` client: `credentials` (does the client have any, how
to give it some), `transport` (the client imported lazily with its output captured, request
timeouts, bounded retries, HTTP errors as readable errors), `download` (the competition's
files, checked before they replace anything), `submissions` (submit with at most one
creation, wait for the score, list the submissions); and `kaggle_cli`, the `digit-recognizer`
commands download, submit and submissions.

May import: `datasets` (to check files before sending) and the shared modules `errors` and
`fileio`. The Kaggle code never writes the leaderboard: its callers (`kaggle_cli`, a command,
which may import any part, and `pipeline.run`) record what it returns through `leaderboard`.
"""
