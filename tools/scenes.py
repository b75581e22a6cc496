"""`list_scenes`: the cluster view of a video, each scene's label and the time spans it is shown."""

from __future__ import annotations

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from core.types import Evidence, format_timestamp
from tools.binding import VIDEO_FIELD_HELP, ToolInfo, ToolResult, VideoSet, make_tool
from tools.render import render_evidence


class SceneArgs(BaseModel):
    """Arguments of the scene listing."""

    video: str | None = Field(default=None, description=VIDEO_FIELD_HELP)


def list_scenes_tool(videos: VideoSet) -> BaseTool:
    def run(video: str | None = None) -> ToolResult:
        memory = videos.resolve(video)
        if "clusters" not in memory.manifest.stages:
            note = Evidence("note", memory.video_id, 0.0, memory.ref.duration,
                            "the scenes of this video are not clustered yet (re-ingest it)", 0.0, "list_scenes")  # fmt: skip
            return render_evidence([note]), [note]
        found: list[Evidence] = []
        for cluster in memory.clusters().clusters:
            shown = len(cluster.spans)
            for number, (t0, t1) in enumerate(cluster.spans, start=1):
                keyframe = next((k for k in cluster.keyframes if t0 <= k < t1), round((t0 + t1) / 2, 3))
                text = f"scene {cluster.cluster_id}: {cluster.label}"
                if shown > 1:
                    others = ", ".join(f"{format_timestamp(a)}-{format_timestamp(b)}" for a, b in cluster.spans)
                    text += f" (showing {number} of {shown}: {others})"
                found.append(Evidence("scene", memory.video_id, t0, t1, text, 1.0, "list_scenes", keyframe))
        found.sort(key=lambda e: e.t0)
        return render_evidence(found, videos.render_names()), found

    return make_tool(
        run,
        "list_scenes",
        "List the video's scenes in time order: each scene's label (its speech or caption) and when it is shown; "
        "every shot cut or dissolve starts a new entry, and a scene that recurs is listed at each showing with the "
        "same scene number.",
        SceneArgs,
        ToolInfo("listing the scenes", "the scenes"),
    )
