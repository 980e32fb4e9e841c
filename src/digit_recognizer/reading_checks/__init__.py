"""What checks the reader and makes its example pictures: picture makers (`picture_makers`),
the naive preparation it is compared with (`naive_prep`) and notebook 09's held-out checks
(`handwriting_check`).

May import: `reading`, `datasets`, `presentation` and the shared modules. Runtime code
(`reading`, `demo`) never imports it.
"""
