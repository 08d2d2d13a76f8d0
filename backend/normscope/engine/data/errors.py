"""The one error a dataset raises: its message is what the lecturer reads (the page, the CLI)."""


class DatasetError(ValueError):
    """A dataset that cannot be built as asked: the message says why."""
