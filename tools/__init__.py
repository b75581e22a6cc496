"""LangChain tools over video memory; each returns a text rendering for a model and Evidence as artifact."""

from tools.render import render_evidence
from tools.video_tools import build_tools

__all__ = ["build_tools", "render_evidence"]
