"""Allow ``python -m spfeed``."""

from spfeed.cli import program

program()
