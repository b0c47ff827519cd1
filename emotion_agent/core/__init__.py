"""Core: the label set, typed frames and events, protocols, settings and model loading.

Imports nothing from the rest of the project."""
