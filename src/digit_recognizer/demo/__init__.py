"""The web demo: a page to draw, upload or photograph digits (`page`) and
`digit-recognizer serve` (`serve_cli`).

May import: `reading` and the shared modules.
"""
