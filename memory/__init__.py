"""Memory: what ingest writes (manifest, transcript, tracks, segment vectors) and how it is searched."""
