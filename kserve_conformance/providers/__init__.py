"""Reads real clusters and the embedded local target through one interface."""
