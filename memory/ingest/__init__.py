"""The write side of memory: the ingest pipeline and its stages (captions, clustering, segment vectors, saved progress), sources and integrity checks."""
