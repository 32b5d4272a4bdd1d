"""What the RSS and Atom views share: a feedgen generator set up from the feed's metadata.

feedgen's traps, all avoided here: it stamps the current time into ``lastBuildDate``/``updated``
and every entry's ``updated`` unless told otherwise; ``add_entry`` prepends by default; the RSS
channel ``<link>`` is the *last* ``link()`` given; Atom needs an author; a datetime without a
time zone raises.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedgen.feed import FeedGenerator

from spfeed import __version__
from spfeed.model import FeedMeta, StoredItem


def generator(meta: FeedMeta, entries: Sequence[StoredItem]) -> FeedGenerator:
    """A generator with the channel-level fields; *entries* must not be empty."""
    if not entries:
        raise ValueError("a feed needs at least one item")
    fg = FeedGenerator()
    fg.title(meta.title)
    fg.description(meta.description)  # also the Atom <subtitle>
    fg.author({k: v for k, v in vars(meta.author).items() if v})
    fg.generator("spfeed", version=__version__)
    if meta.language:
        fg.language(meta.language)
    # Not the clock: the newest change of an item. An unchanged history gives identical bytes.
    fg.updated(max(entry.updated for entry in entries))
    return fg


def categories(fe, entry: StoredItem) -> None:
    terms = list(dict.fromkeys(entry.categories))  # label and kind, once each
    if terms:
        fe.category([{"term": term} for term in terms])
