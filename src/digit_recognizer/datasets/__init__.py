"""The data: Kaggle's CSV files and the embedded sample (`data`), the networks' inputs and the
train/validation split (`preprocess`), and the submission format with its local score
(`submit`).

May import: the package's shared modules (`errors`, `fileio`). Never the Kaggle client, the
learning code or the pipeline: a file format does not know who downloads or trains.
"""
