class RayUnavailable(Exception):
    """No Ray to train on: not installed, no cluster at the address, or one too small for the groups."""
