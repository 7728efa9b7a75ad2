"""Database: Tortoise ORM models, connection set-up and migrations."""
