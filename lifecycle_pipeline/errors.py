"""Exit codes and the one exception type the driver turns into a one-paragraph error message."""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1  # a bug or an environment problem not covered below (run with --debug for the traceback)
EXIT_BAD_INPUT = 2  # bad options, missing raw file, missing required column, bad --as-of date
EXIT_DBT_FAILED = 3  # dbt could not build: a model, a hook or a dbt data test failed
EXIT_VALIDATION_FAILED = 4  # dbt succeeded but an output check of the driver failed; nothing was published
EXIT_PUBLISH_FAILED = 5  # the outputs could not be published (another run holds the lock, disk full, ...)
EXIT_STALE_INPUT = 6  # the raw data is older than freshness_error_after_hours (see --freshness)

EXIT_CODES_HELP = """\
exit codes:
  0  success: marts built, validated and published
  1  unexpected error (run again with --debug for the traceback)
  2  bad input: an option, a missing raw file or required column, an invalid --as-of date
  3  dbt failed (a model, hook or dbt data test); the previously published outputs are untouched
  4  output validation failed (see the check named in the message); nothing was published
  5  publishing failed (another run holds the lock, a file could not be written)
  6  raw data stale beyond the freshness error threshold (--freshness error); nothing was built
"""


class PipelineError(Exception):
    """A failure with a known cause: `str(error)` is the paragraph shown to the user."""

    exit_code = EXIT_UNEXPECTED
    phase = "run"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(PipelineError):
    exit_code = EXIT_BAD_INPUT
    phase = "inputs"


class DbtFailure(PipelineError):
    exit_code = EXIT_DBT_FAILED
    phase = "dbt"


class ValidationFailure(PipelineError):
    exit_code = EXIT_VALIDATION_FAILED
    phase = "validate"


class PublishFailure(PipelineError):
    exit_code = EXIT_PUBLISH_FAILED
    phase = "publish"


class StaleInput(PipelineError):
    exit_code = EXIT_STALE_INPUT
    phase = "freshness"
