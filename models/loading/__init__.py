"""Which model serves each role (the registry), and loading each at most once (ModelCache), on which device."""
