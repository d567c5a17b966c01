"""``python -m opis`` runs the command line."""

from opis.cli import main

main()
