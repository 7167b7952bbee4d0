"""`python -m app` runs the command-line interface."""

from app.tools.cli import main

main()
