"""What the notebooks show beyond their own cells: figures (`plots`) and computed text
(`report`: banners, summaries, comparisons).

May import: `datasets`, `learning` (recipes, to say what changed) and the shared modules.
Never the pipeline's manifest, nor the Kaggle client.
"""
