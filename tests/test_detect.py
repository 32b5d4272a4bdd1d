"""Generic detection: finding a listing by its shape when no selector matches."""

import pytest

from spfeed.config import Selectors
from spfeed.extract import read_listing

BASE = "https://www.ilo.org/en/news"
NONE = Selectors(item="")


def found(body: str):
    """(items as tuples, the detected item selector, the next page) of a page with *body*."""
    listing, _ = read_listing(f"<html><body>{body}</body></html>", BASE, NONE, detect=True)
    items = [(i.title, i.link, i.date_text, i.label, i.summary) for i in listing.items]
    return items, listing.detected_as, listing.next_url


def test_divs_with_a_link_and_a_date():
    items, shape, _ = found("""
        <div class="list">
          <div class="entry"><a href="/a">First report on pensions</a><span>16 June 2022</span></div>
          <div class="entry"><a href="/b">Second report on health</a><span>8 November 2021</span></div>
        </div>""")
    assert shape == "div.entry"
    assert items == [("First report on pensions", "https://www.ilo.org/a", "16 June 2022", None, None),
                     ("Second report on health", "https://www.ilo.org/b", "8 November 2021", None, None)]


def test_the_title_link_not_read_more():
    items, _, _ = found("""
        <ul><li><p>Read more</p><a href="/more1">Read more</a> <a href="/a">A long and useful title</a> <i>1 May 2023</i></li>
            <li><a href="/more2">Read more</a> <a href="/b">Another long useful title</a> <i>2 May 2023</i></li></ul>""")
    assert [(t, l) for t, l, *_ in items] == [("A long and useful title", "https://www.ilo.org/a"),
                                              ("Another long useful title", "https://www.ilo.org/b")]


def test_a_single_dated_block_is_not_a_listing():
    assert found("""<div class="news"><a href="/a">Only one</a><p>16 June 2022</p></div>
                    <p>Also a date: 17 June 2022 but no link</p>""") == ([], None, None)


def test_labels_summaries_and_credits():
    items, _, _ = found("""
        <section>
          <article><span class="credit">© Photographer / Agency 2022</span><span class="category">Feature</span>
            <h2><a href="/a">Title one</a></h2><time>3 March 2023</time>
            <p>A summary that is long enough to be one.</p></article>
          <article><span class="credit">© Another photographer</span>
            <h2><a href="/b">Title two</a></h2><time>2 March 2023</time></article>
        </section>""")
    assert items == [
        ("Title one", "https://www.ilo.org/a", "3 March 2023", "Feature", "A summary that is long enough to be one."),
        ("Title two", "https://www.ilo.org/b", "2 March 2023", None, None),
    ]


def test_entries_without_a_date_among_dated_ones():
    items, _, _ = found("""<ol>
        <li class="n"><a href="/a">Dated one</a> <em>1 June 2022</em></li>
        <li class="n"><a href="/b">Undated one</a></li>
        <li class="n"><a href="/c">Dated two</a> <em>3 June 2022</em></li></ol>""")
    assert [(t, d) for t, _, d, *_ in items] == [("Dated one", "1 June 2022"), ("Undated one", None), ("Dated two", "3 June 2022")]


@pytest.mark.parametrize("pager, expected", [
    ('<a rel="next" href="?page=2">2</a>', "https://www.ilo.org/en/news?page=2"),
    ('<a href="/en/news/p2">Next</a>', "https://www.ilo.org/en/news/p2"),
    ('<a href="/fr/news/p2">Suivant ›</a>', "https://www.ilo.org/fr/news/p2"),
    ('<a href="/es/news/p2">Siguiente</a>', "https://www.ilo.org/es/news/p2"),
    ('<a href="/en/news/p0">Previous</a>', None),
])
def test_the_next_page(pager, expected):
    body = """<div class="e"><a href="/a">A title</a> 1 June 2022</div><div class="e"><a href="/b">B title</a> 2 June 2022</div>"""
    assert found(body + f"<div class='pager'>{pager}</div>")[2] == expected
