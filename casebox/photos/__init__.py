"""Patient photos: intake checks, metadata removal and derived images (pure functions)."""
