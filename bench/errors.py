"""The one exception type the CLI turns into a single clear line (no traceback)."""


class BenchError(Exception):
    """A user-facing failure: bad option, unknown name, missing data. Message is one line."""
