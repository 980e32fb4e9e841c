"""Learning: the networks (`models`) and how each trains (`recipes`, `train`, `schedules`,
`augment`, `batches`, `precision`), scoring (`evaluate`), averages (`ensemble`), independent
training jobs here or on Ray (`members`, `executors`) and the controlled experiments
(`experiments`).

May import: `datasets` and the shared modules. Never the pipeline (its stage manifest and
`layout`) nor `presentation`: a recipe belongs to the model, paths come in as arguments, and
scoring draws nothing.
"""
