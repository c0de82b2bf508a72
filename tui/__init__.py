"""Keras Workbench front doors: the Textual app and the `kwb` command line."""
