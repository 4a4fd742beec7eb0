"""Exceptions of the simulator, each with a message that says what happened and what to change."""


class DivergenceError(RuntimeError):
    """The simulation produced non-finite or runaway values; the network is left as it was
    before the failing stretch of steps."""


class ConvergenceError(RuntimeError):
    """An iterative steady-state solver did not reach its tolerance."""


class FileFormatError(ValueError):
    """A saved network file is corrupt, of another format version, or does not fit."""


class DatasetUnavailableError(RuntimeError):
    """A data set is neither on disk nor downloadable; the message says where to put its files."""
