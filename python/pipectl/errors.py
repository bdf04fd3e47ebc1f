"""pipectl's errors as Python exceptions, carrying the CLI's messages.

Every class derives from :class:`Error`; ``exit_code`` is the code the CLI
exits with for the same failure (see the README's exit codes).
"""

from typing import List, NamedTuple


class Diagnostic(NamedTuple):
    """One validation finding: where (1-based line and column; 0 = no position) and what."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        # as the CLI prints it: "file:line:column: message"
        where = "" if not self.file else self.file if self.line <= 0 else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.message}" if where else self.message


class Error(Exception):
    """A pipectl failure; ``exit_code`` is the CLI's exit code for it."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(Error, ValueError):
    """A bad argument (the CLI's usage error, exit code 2)."""

    def __init__(self, message: str, exit_code: int = 2):
        Error.__init__(self, message, exit_code)


class ValidationError(Error):
    """The pipeline file does not validate; ``diagnostics`` lists every finding."""

    def __init__(self, message: str, diagnostics: List[Diagnostic]):
        Error.__init__(self, message, 3)
        self.diagnostics = list(diagnostics)


class PluginLoadError(Error):
    """A plugin the pipeline or the run folder needs could not be loaded (exit code 4)."""

    def __init__(self, message: str):
        Error.__init__(self, message, 4)


class StageError(Error):
    """A stage failed: ``stage`` (its id), ``plugin``, and the ``cause`` it gave."""

    def __init__(self, message: str, stage: str, plugin: str, cause: str, exit_code: int = 5):
        Error.__init__(self, message, exit_code)
        self.stage = stage
        self.plugin = plugin
        self.cause = cause


class DataError(Error):
    """The input data is unusable (exit code 6)."""

    def __init__(self, message: str):
        Error.__init__(self, message, 6)


class StageDataError(StageError, DataError):
    """A stage failed on unusable data: both a StageError (stage, plugin) and a DataError."""

    def __init__(self, message: str, stage: str, plugin: str, cause: str, exit_code: int = 6):
        StageError.__init__(self, message, stage, plugin, cause, exit_code)
