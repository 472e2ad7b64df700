"""Exit codes and the one exception type the driver turns into a one-paragraph error message."""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1  # a bug or an environment problem not covered below (run with --debug for the traceback)
EXIT_BAD_INPUT = 2  # bad options, missing raw file/column, unreadable raw text, bad --as-of, unwritable output path
EXIT_DBT_FAILED = 3  # dbt could not build: a model, a hook, a unit test or a test's query failed
EXIT_VALIDATION_FAILED = 4  # the models were built but a dbt data test failed; nothing was published
EXIT_PUBLISH_FAILED = 5  # the release could not be written (another run holds a lock, disk full, ...)
EXIT_STALE_INPUT = 6  # the raw data is older than freshness_error_after_hours (see --freshness)

EXIT_CODES_HELP = """\
exit codes:
  0  success: marts built, every dbt test passed, the new release is current
  1  unexpected error (run again with --debug for the traceback); nothing was published
  2  bad input: an option, a missing raw file or required column, raw text that is not UTF-8, a CSV
     file that mixes line breaks or never closes a quote (file and line or row named), an invalid
     --as-of date, an output folder or link that cannot be written; nothing was built
  3  dbt failed: a model, hook or unit test, or a test that could not run; nothing was published
  4  a dbt data test failed (each named with its numbers in the message); nothing was published
  5  the release could not be written (another run holds a lock, a disk is full); nothing was published
  6  raw data stale beyond the freshness error threshold (--freshness error); nothing was built
  130 interrupted before the release was made current; nothing was published
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
    """A dbt data test returned failing rows."""

    exit_code = EXIT_VALIDATION_FAILED
    phase = "dbt tests"


class PublishFailure(PipelineError):
    exit_code = EXIT_PUBLISH_FAILED
    phase = "publish"


class StaleInput(PipelineError):
    exit_code = EXIT_STALE_INPUT
    phase = "freshness"
