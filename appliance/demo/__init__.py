"""Synthetic cameras for the demo mode and the tests."""
