"""The kwb verbs, one module per group; tui/cli.py registers them on the Typer app."""
