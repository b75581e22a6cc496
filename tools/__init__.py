"""LangChain tools over video memory; each returns a text rendering for a model and Evidence as artifact."""
