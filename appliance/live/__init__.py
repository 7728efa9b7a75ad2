"""Live view: the latest frame of each camera for the grid, and its video relayed to browsers."""
