"""Every use of a private Keras, TensorFlow, KerasTuner or scikeras name, in one place.

kerasx builds on public APIs. Where none exists, the private name is used here and nowhere else,
and ``tests/test_compat.py`` pins each assumption, so a library upgrade fails loudly in this one
module instead of silently elsewhere. Each entry says what it relies on and why no public API
serves.
"""
