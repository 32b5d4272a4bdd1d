"""CSS selectors, each compiled once per process to an XPath that lxml runs.

cssselect turns a selector into XPath; the translator here gives it the meaning soupsieve gave it,
the engine spfeed used before (configs written by earlier `spfeed init` and `check` keep working):

- ``el.select(css)`` is every element under *el*, in document order, that matches *css* in the
  whole page: in ``div.list a``, the ``div.list`` may be *el* itself or above it. *el* itself is
  never a match, except that the document's root stands for the document (``html`` finds it).
- ``:scope`` is *el* anywhere in a selector (``:not(:scope [itemscope] *)``: not inside a scope
  nested in *el*); from the document, it is the root element.
- ``:-soup-contains("text")`` (and ``:contains()``): the element's text holds *text*;
  ``:-soup-contains-own("text")``: one of its own text nodes does.
- HTML's attributes whose values are case-insensitive (``type``, ``rel``, ``lang``...) match so.
- What a ``<template>`` holds is not the page's (in HTML it is a document of its own): no match
  (unless selected from that template).

Imported only by a command that reads a page: an unchanged page never loads cssselect or lxml.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from cssselect import ExpressionError, HTMLTranslator, SelectorError, parse
from cssselect.parser import CombinedSelector, tokenize
from lxml import etree

from spfeed.html import document_fact

if TYPE_CHECKING:
    from lxml.html import HtmlElement

__all__ = ("Compiled", "SelectorError", "compile", "first_in_each", "message")

#: Attributes whose values HTML matches case-insensitively (HTML's "case-sensitivity of selectors").
CASE_INSENSITIVE = frozenset(
    "accept accept-charset align alink axis bgcolor charset checked clear codetype color compact declare "
    "defer dir direction disabled enctype face frame hreflang http-equiv lang language link media method "
    "multiple nohref noresize noshade nowrap readonly rel rev rules scope scrolling selected shape target "
    "text type valign valuetype vlink".split())
#: What ``:scope`` is renamed to before parsing: cssselect accepts ``:scope`` only at a selector's start.
_SCOPE = "-spfeed-scope"
#: The axis from an element to where a combinator's left side must match ("+": the sibling just before).
_AXES = {" ": "ancestor", ">": "parent", "~": "preceding-sibling"}
#: A token as cssselect's messages show it: ``<DELIM '.' at 3>``, ``<EOF at 8>``.
_TOKEN = re.compile(r"<(?:EOF|[A-Z]+ (.+?)) at (\d+)>")


def _both(*conditions: str | None) -> str | None:
    kept = [c for c in conditions if c]
    return " and ".join(f"({c})" for c in kept) if len(kept) > 1 else (kept[0] if kept else None)


class Translator(HTMLTranslator):
    """cssselect's HTML translator with soupsieve's meaning (see the module docstring)."""

    def matching(self, tree) -> str:
        """An XPath step (name test and predicate, no axis) for the elements that *tree* matches,
        its combinators followed backwards (ancestors, preceding siblings) from the element. The
        steps back name their element (``ancestor::div[...]``): libxml2 tests a name in the step
        far faster than in a predicate, which matters on pages nested thousands deep."""
        if not isinstance(tree, CombinedSelector):
            return str(self.xpath(tree))
        return str(self.xpath(tree.subselector).add_condition(self._back(tree)))

    def _back(self, tree: CombinedSelector) -> str:
        """A path from an element that matches the right side of *tree* to its left side."""
        left = tree.selector
        if isinstance(left, CombinedSelector):
            head = self.xpath(left.subselector)
            element, condition = head.element, _both(head.condition, self._back(left))
        else:
            head = self.xpath(left)
            element, condition = head.element, head.condition
        if tree.combinator in _AXES:
            return f"{_AXES[tree.combinator]}::{element}" + (f"[{condition}]" if condition else "")
        condition = _both(f"self::{element}" if element != "*" else None, condition)  # "+"
        return "preceding-sibling::*[1]" + (f"[{condition}]" if condition else "")

    def _condition(self, tree) -> str | None:
        """A predicate that the element matches *tree*; None when every element does."""
        right = tree.subselector if isinstance(tree, CombinedSelector) else tree
        xpath = self.xpath(right)
        own = _both(f"self::{xpath.element}" if xpath.element != "*" else None, xpath.condition)
        return _both(own, self._back(tree)) if isinstance(tree, CombinedSelector) else own

    def xpath_negation(self, negation):
        condition = self._condition(negation.subselector)
        return self.xpath(negation.selector).add_condition(f"not({condition})" if condition else "0")

    def xpath_attrib(self, selector):
        if selector.flag is None and selector.value is not None and selector.attrib.lower() in CASE_INSENSITIVE:
            selector = copy.copy(selector)
            selector.flag = "i"
        return super().xpath_attrib(selector)

    def xpath__spfeed_scope_pseudo(self, xpath):
        return xpath.add_condition("count(. | $scope) = 1")

    def xpath__soup_contains_function(self, xpath, function):
        return xpath.add_condition(f"contains(., {self.xpath_literal(_text_argument(function))})")

    xpath_contains_function = xpath__soup_contains_function

    def xpath__soup_contains_own_function(self, xpath, function):
        return xpath.add_condition(f"text()[contains(., {self.xpath_literal(_text_argument(function))})]")


def _text_argument(function) -> str:
    if function.argument_types() not in (["STRING"], ["IDENT"]):
        raise ExpressionError(f"expected one string in :{function.name}(), got {len(function.arguments)} arguments")
    return function.arguments[0].value


def _scoped(css: str) -> str:
    """*css* with each ``:scope`` pseudo-class renamed to one cssselect accepts anywhere."""
    tokens = list(tokenize(css))
    at = [t.pos for i, t in enumerate(tokens)
          if t.type == "IDENT" and t.value.lower() == "scope" and i and tokens[i - 1] == ("DELIM", ":")
          and not (i > 1 and tokens[i - 2] == ("DELIM", ":")) and css[t.pos:t.pos + 5].lower() == "scope"]
    for pos in reversed(at):
        css = css[:pos] + _SCOPE + css[pos + 5:]
    return css


_TRANSLATOR = Translator()
_OUTSIDE_TEMPLATES = "[not(ancestor::template[count(. | $scope) != 1])]"


def _has_templates(root: HtmlElement) -> bool:
    """Whether the document of *root* has a ``<template>`` (looked for once per document): only
    then must matches be checked for one around them (a walk up the tree, which costs on pages
    nested thousands deep)."""
    return document_fact(root, "templates", lambda r: next(r.iter("template"), None) is not None)


class Compiled:
    """A selector compiled: called on an element, the elements it selects (see the module
    docstring); :meth:`first` the first of them. Its XPaths are made on first use."""

    __slots__ = ("css", "_steps", "_xpaths")

    def __init__(self, css: str, steps: list[str]) -> None:
        self.css = css
        self._steps = steps
        self._xpaths: dict[tuple[bool, bool, bool], etree.XPath] = {}

    def _run(self, el: HtmlElement, first: bool) -> list[HtmlElement]:
        root = el.getroottree().getroot()
        templates = _has_templates(root)
        document = el.getparent() is None  # the root stands for the document: it may match
        key = (document, first, templates)
        xpath = self._xpaths.get(key)
        if xpath is None:
            axis, guard = ("descendant-or-self::" if document else "descendant::"), (
                _OUTSIDE_TEMPLATES if templates else "")
            union = " | ".join(f"{axis}{step}{guard}" for step in self._steps)
            xpath = self._xpaths[key] = etree.XPath(f"({union})[1]" if first else union)
        return xpath(el, scope=el)

    @property
    def scoped(self) -> bool:
        """Whether the selector's meaning depends on the element it is selected from (``:scope``)."""
        return any("$scope" in step for step in self._steps)

    def __call__(self, el: HtmlElement) -> list[HtmlElement]:
        return self._run(el, first=False)

    def first(self, el: HtmlElement) -> HtmlElement | None:
        found = self._run(el, first=True)
        return found[0] if found else None


@lru_cache(maxsize=4096)
def compile(css: str) -> Compiled:  # noqa: A001 - the selector's compile
    """*css* compiled (see :class:`Compiled`), once per process for each selector.

    Raises cssselect's SelectorError (its ExpressionError for what it cannot translate).
    """
    try:
        selectors = parse(_scoped(css))
    except SelectorError as renamed:
        try:  # the error of *css* as written, with its positions, unless it is about a :scope
            parse(css)
        except SelectorError as written:
            if ":scope" not in str(written):
                raise written from None
        raise renamed from None
    steps = []
    for selector in selectors:
        if selector.pseudo_element:
            _TRANSLATOR.xpath_pseudo_element(None, selector.pseudo_element)  # raises: not supported
        steps.append(_TRANSLATOR.matching(selector.parsed_tree))
    compiled = Compiled(css, steps)
    etree.XPath(" | ".join(f"descendant::{step}" for step in steps))  # an XPath libxml2 refuses fails here
    return compiled


#: Below this many blocks, one query per block costs less than one over the whole document.
_BATCH = 8


def first_in_each(css: str, blocks: list[HtmlElement]) -> list[HtmlElement | None]:
    """``select_one(block, css)`` for each of *blocks* (elements of one document), in one query.

    A selector means the same from a block as from the document, only restricted to what is
    under the block (see the module docstring), so the document's matches, in document order, are
    handed to the blocks above them: each block keeps the first. Each element is walked once
    (a walk up stops where an earlier match's walk passed), so it is linear in the page however
    deeply blocks nest. Selectors whose meaning depends on the block (``:scope``), pages with a
    ``<template>``, and a few blocks are queried block by block, which gives the same."""
    compiled = compile(css)
    if len(blocks) < _BATCH or compiled.scoped:
        return [compiled.first(block) for block in blocks]
    root = blocks[0].getroottree().getroot()
    if _has_templates(root):
        return [compiled.first(block) for block in blocks]
    at = {block: i for i, block in enumerate(blocks)}  # lxml elements compare by identity
    found: list[HtmlElement | None] = [None] * len(blocks)
    walked: set[HtmlElement] = set()
    for match in compiled(root):
        node = match.getparent()  # a block is never its own match
        # Each element is walked once, by the first match under it: the first is the block's.
        while node is not None and node not in walked:
            walked.add(node)
            i = at.get(node)
            if i is not None:
                found[i] = match
            node = node.getparent()
    return found


def message(error: Exception) -> str:
    """The first line of *error* (from :func:`compile`) for a person: tokens as text and positions."""
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    first = _TOKEN.sub(lambda m: f"{m.group(1) or 'the end'} at position {m.group(2)}", first)
    return first.replace(_SCOPE, "scope")  # in a message of what comes after a :scope
