"""Updates from a signed package uploaded by an admin: checked, installed side by side, rolled back on failure."""
