"""The add-on system: the hook contract, the manager, and add-on options."""
