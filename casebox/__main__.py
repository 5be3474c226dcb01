"""``python -m casebox`` runs the command line."""

from casebox.cli import main

main()
