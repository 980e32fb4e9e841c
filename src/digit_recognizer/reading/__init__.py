"""Reading pictures of handwritten digits: preparation MNIST-style and segmentation of numbers
(`images`), a trained model's reading (`predict`), and `digit-recognizer predict`
(`predict_cli`).

May import: the shared modules only. Never the CSV layer (`datasets`), the learning code
or the pipeline: a photo is not a Kaggle row.
"""
