"""Newswire's command line: run the whole system, submit articles, look at it, measure it."""

__version__ = "0.1.0"
