"""Root pytest configuration: what the doctest run over ``kerasx/`` skips under other backends."""

import os

# kerasx.training is TensorFlow-only and refuses to import under another Keras backend.
collect_ignore = (
    [] if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow" else ["kerasx/training.py"]
)
