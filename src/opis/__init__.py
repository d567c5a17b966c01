"""opis: publish, search and cite translated historical documents."""

__version__ = "0.1.0"
