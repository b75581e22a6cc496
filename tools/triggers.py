"""`get_triggers`: the key moments ingest picked for closer analysis, why, and what was seen there."""

from __future__ import annotations

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from core.types import Evidence, format_timestamp
from models.vlm.client import one_line
from tools.binding import VIDEO_FIELD_HELP, ToolInfo, ToolResult, VideoSet, check_within, make_tool
from tools.render import render_evidence
from tools.timecodes import TimeRange

REASONS = {
    "novelty": "new content",
    "shot_cut": "shot cut",
    "dissolve": "dissolve",
    "actor_enter": "someone enters",
    "actor_exit": "someone leaves",
    "speech_onset": "speech starts",
    "trained_head": "learned trigger",
}
ANALYSIS_CHARS = 240


class TriggerArgs(BaseModel):
    """Arguments of the key-moment listing."""

    video: str | None = Field(default=None, description=VIDEO_FIELD_HELP)
    t_range: TimeRange | None = Field(
        default=None, description="Only moments within [start, end] (seconds or 'mm:ss')."
    )


def get_triggers_tool(videos: VideoSet) -> BaseTool:
    def run(video: str | None = None, t_range: tuple[float, float] | None = None) -> ToolResult:
        memory = videos.resolve(video)
        if t_range is not None:
            check_within(memory, t_range[0])
        if "triggers" not in memory.manifest.stages:
            note = Evidence("note", memory.video_id, 0.0, memory.ref.duration,
                            "key moments were not computed for this video (re-ingest it)", 0.0, "get_triggers")  # fmt: skip
            return render_evidence([note]), [note]
        every = memory.triggers()
        chosen = [t for t in every if t_range is None or t_range[0] <= t.timestamp <= t_range[1]]
        found = []
        for trigger in chosen:
            why = ", ".join(REASONS.get(r, r.replace("_", " ")) for r in trigger.reasons)
            text = f"key moment (confidence {trigger.confidence:.2f}): {why}"
            if trigger.analysis:
                text += f"; seen there: {one_line(trigger.analysis, ANALYSIS_CHARS)}"
            found.append(Evidence("segment", memory.video_id, trigger.timestamp, trigger.timestamp, text,
                                  round(trigger.confidence, 4), "get_triggers", trigger.timestamp))  # fmt: skip
        if found:
            return render_evidence(found, videos.render_names()), found
        where = f" between {format_timestamp(t_range[0])} and {format_timestamp(t_range[1])}" if t_range else ""
        moments = ", ".join(f"[{format_timestamp(t.timestamp)}]" for t in every[:12])
        text = f"no key moments{where}" + (f"; the video has {len(every)}: {moments}" if every else "")
        note = Evidence("note", memory.video_id, *(t_range or (0.0, memory.ref.duration)), text, 0.0, "get_triggers")
        return render_evidence([note]), [note]

    return make_tool(
        run,
        "get_triggers",
        "List the key moments of the video (shot cuts, people entering or leaving, speech starting, new "
        "content), with why each was picked and, when available, what the captioning model saw there.",
        TriggerArgs,
        ToolInfo("reading the key moments", "the key moments"),
    )
