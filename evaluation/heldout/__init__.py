"""Held-out, hand-written evaluation sets over narrated photo-slideshow videos (see README.md here)."""
