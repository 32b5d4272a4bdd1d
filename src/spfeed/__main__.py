"""Allow ``python -m spfeed``."""

from spfeed.cli import main

raise SystemExit(main())
