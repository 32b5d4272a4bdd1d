"""Generic detection: finding a listing by its shape when no selector matches."""

import pytest

from spfeed.config import Selectors
from spfeed.detect import date_order, detect
from spfeed.extract import parse, read_listing

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


# -- what detection reports, and what it costs ----------------------------------------------------


def test_detection_reports_selectors_relative_to_the_block():
    listing, used = read_listing("""<html><body><div class="news">
        <article class="card"><span class="card-type">News</span><h3 class="card-title"><a href="/a">First title</a></h3>
          <time datetime="2026-11-30">Yesterday</time><p class="summary">A summary long enough to count.</p></article>
        <article class="card"><h3 class="card-title"><a href="/b">Second title</a></h3>
          <time datetime="2026-11-29">2 days ago</time></article>
        </div><a rel="next" href="?page=2">More</a></body></html>""", BASE, NONE, detect=True)
    assert used == Selectors(item="article.card", title="h3.card-title", label="span.card-type", date="time@datetime",
                             summary="p.summary", next='a[rel~="next"][href]')
    assert [(i.date_text, i.date_value) for i in listing.items] == [("Yesterday", "2026-11-30"), ("2 days ago", "2026-11-29")]


@pytest.mark.parametrize("date_line", ["11/28/2026", "28 November", "November 28", "3 days ago", "Yesterday", "hier",
                                       "hace 2 días", "16 June 2022"])
def test_date_lines_today_s_reader_may_not_read_still_mark_entries(date_line):
    items, shape, _ = found(f"""<div class="e"><a href="/a">A title here</a> <small>{date_line}</small></div>
                                <div class="e"><a href="/b">B title here</a> <small>{date_line}</small></div>""")
    assert shape == "div.e" and [(t, d) for t, _, d, *_ in items] == [("A title here", date_line), ("B title here", date_line)]


@pytest.mark.parametrize("text", ["13/13/2026", "Chapter 3", "3 items", "Top 10 stories"])
def test_lines_that_are_no_dates_do_not_mark_entries(text):
    assert found(f"""<div class="e"><a href="/a">A title</a> <small>{text}</small></div>
                     <div class="e"><a href="/b">B title</a> <small>{text}</small></div>""") == ([], None, None)


def test_cards_linked_by_data_href():
    items, shape, _ = found("""<div class="tile" data-href="/a"><h4>Tile one</h4><span>1 May 2023</span></div>
                               <div class="tile" data-href="/b"><h4>Tile two</h4><span>2 May 2023</span></div>""")
    assert shape == "div.tile" and [(t, l) for t, l, *_ in items] == [("Tile one", "https://www.ilo.org/a"),
                                                                    ("Tile two", "https://www.ilo.org/b")]


def listing_page(blocks: int) -> str:
    cards = "".join(
        f'<div class="card"><h3 class="title"><a href="/news/{i}">News item number {i}</a></h3>'
        f'<span class="date">{1 + i % 28} June 2022</span><p class="summary">Summary of item {i}, long enough.</p></div>'
        for i in range(blocks))
    return f'<html><body><nav><a href="/">Home</a></nav><div class="list">{cards}</div></body></html>'


def calls(blocks: int) -> int:
    """The Python and C function calls detection makes on a page of *blocks* blocks (parsing excluded)."""
    import sys

    soup = parse(listing_page(blocks))
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        found_selectors = detect(soup, BASE)
    finally:
        sys.setprofile(None)
    assert found_selectors is not None and found_selectors.item == "div.card"
    return count


def test_detection_is_linear_in_the_number_of_blocks():
    """Counted, not timed: 10x the blocks may cost at most 10x the calls (plus a margin for the
    fixed cost of choosing selectors). Comparing the blocks pairwise would cost 100x."""
    small, large = calls(200), calls(2000)
    assert large <= 10.5 * small, (small, large)


@pytest.mark.parametrize("lines, order", [
    (["11/28/2026", "11/05/2026"], "MDY"),
    (["28/11/2026", "05/11/2026"], "DMY"),
    (["28.11.2026"], "DMY"),
    (["2026/11/28"], "YMD"),
    (["11/05/2026", "10/04/2026"], None),  # nothing over 12: the page does not say
    (["11/28/2026", "28/11/2026"], None),  # contradicting
    (["16 June 2022", None], None),
])
def test_the_date_order_a_page_shows(lines, order):
    assert date_order(lines) == order
