"""Pins every assumption that :mod:`kerasx._compat` makes about private third-party names.

When one of these fails after an upgrade, fix the matching function in ``kerasx/_compat.py``.
"""
