"""Kaggle through the official `kaggle` client: `credentials` (does the client have any, how
to give it some), `transport` (the client imported lazily with its output captured, request
timeouts, bounded retries, HTTP errors as readable errors), `download` (the competition's
files, checked before they replace anything), `submissions` (submit with at most one
creation, wait for the score, list the submissions), `bundle` (the files of a run on Kaggle:
the project at its commit as a code dataset, the notebook that runs it) and `kernels` (upload
the code, push the notebook at most once, follow it, download its output); and the
`digit-recognizer` commands: `kaggle_cli` (download, submit, submissions; its `submit_file`
is also what `./run_all.sh --submit` and `kaggle-run --submit` submit with) and `kernel_cli`
(kaggle-run), whose options `run_options` adds to `./run_all.sh`'s parser.

May import: `datasets` (to check files before sending) and the shared modules `errors` and
`fileio`. The Kaggle code never writes the leaderboard: its callers (`kaggle_cli` and
`kernel_cli`, commands, which may import any part) record what it returns through
`leaderboard`.
"""
