"""``iii-cluster``: several engines on one Redis call each other's worker functions."""
