"""Internals of the `sessionkit` console script (see `sessionkit.cli`)."""
