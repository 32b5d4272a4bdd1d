"""The output formats: one module per format, each a pure ``render(meta, entries, links) -> bytes``.

A view is imported only when a feed is rendered, never on the cheap path of an unchanged page.
Adding a format means one module here, one entry in :data:`VIEWS` and in ``model.FILES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from spfeed.model import FeedMeta, Links, StoredItem

Renderer = Callable[[FeedMeta, Sequence[StoredItem], Links], bytes]

#: Format name -> the module under spfeed.views that renders it. OPML is not a per-feed format:
#: :mod:`spfeed.views.opml` lists every feed at the top of the output folder.
VIEWS: dict[str, str] = {
    "rss": "spfeed.views.rss",
    "atom": "spfeed.views.atom",
    "json": "spfeed.views.jsonfeed",
    "html": "spfeed.views.html",
}


def renderer(fmt: str) -> Renderer:
    """The ``render`` function of format *fmt* (imported on first use)."""
    return importlib.import_module(VIEWS[fmt]).render  # type: ignore[no-any-return]
