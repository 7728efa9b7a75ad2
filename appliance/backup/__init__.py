"""Backups of the database and settings (not the recordings), and restoring them."""
