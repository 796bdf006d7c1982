"""The one exception type for mistakes a user can fix (bad names, configs, paths).

The CLI prints such an error as one line on stderr and exits with code 2; every other
exception is a bug and keeps its traceback.
"""

USER_ERROR_EXIT = 2  # the exit code of a user error: one line on stderr, no traceback


class UserError(Exception):
    """Bad input from the user: the message names the bad value and the valid ones."""
