"""Built-in add-ons: each one uses only the public hooks in appliance/addons/hookspecs.py."""
