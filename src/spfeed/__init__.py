"""spfeed: publish the ILO Social Protection Department's news listing as RSS and Atom feeds."""

__version__ = "0.1.0"
