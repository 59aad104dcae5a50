"""graphlab: tiny numpy graph models used by the example scripts."""
