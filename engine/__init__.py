"""Keras Workbench engine: config, data, model, training session, run directory. Imports no UI."""
