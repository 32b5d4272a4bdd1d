"""What `pip show spfeed` and package indexes show: the installed distribution's metadata, read back
with importlib.metadata (reinstall after editing pyproject.toml: pip install -e '.[test]')."""

from __future__ import annotations

from importlib.metadata import metadata

import pytest

import spfeed

META = metadata("spfeed")


def test_name_version_summary_license():
    assert (META["Name"], META["Version"]) == ("spfeed", spfeed.__version__)
    assert "RSS" in META["Summary"] and "Atom" in META["Summary"]
    assert META["License"] == "MIT" or "License :: OSI Approved :: MIT License" in META.get_all("Classifier")


def test_authors_and_keywords():
    assert META["Author-email"] and "@" in META["Author-email"]
    keywords = META["Keywords"].split(",")
    assert {"rss", "atom", "websub"} <= set(keywords)


@pytest.mark.parametrize("label", ["Homepage", "Source", "Issues", "Changelog"])
def test_project_urls(label):
    urls = dict(entry.split(", ", 1) for entry in META.get_all("Project-URL"))
    assert urls[label].startswith("https://github.com/spfeed/spfeed")


def test_classifiers():
    classifiers = META.get_all("Classifier")
    assert "License :: OSI Approved :: MIT License" in classifiers
    assert "Programming Language :: Python :: 3" in classifiers
    assert any(c.startswith("Topic :: ") for c in classifiers)


def test_the_apprise_extra():
    assert "apprise" in META.get_all("Provides-Extra")
    assert any(r.startswith("apprise") and 'extra == "apprise"' in r for r in META.get_all("Requires-Dist"))
