"""Reusable widgets of the panel."""
