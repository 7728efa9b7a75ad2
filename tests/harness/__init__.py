"""Test harness: real brokers, synthetic cameras and Chromium as pytest fixtures."""
