"""normscope: watch Batch Normalization work, live."""

__version__ = "0.1.0"
