"""Model adapters (one per family), the Settings object, profiles and the core types."""
