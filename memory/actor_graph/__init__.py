"""The actor graph: who is on screen when, with whom, how close, and who is likely speaking.

A `networkx.MultiDiGraph` (directed so that an edge can say "from earlier to later" or "from a speech
span to a person"; multi so that one pair can hold a `spatial` and an `interaction` edge). Nodes:

  actor:N   a person (core.types.Actor with label `person`): label, intervals (interpolated presence),
            screen_time, keyframe, behaviours, track_ids, trajectory (normalised centres)
  object:N  an actor of another label (the real profile's COCO detector tracks cars, cups...): same fields
  track:N   a track no actor covers (kept so nothing the detector saw is dropped); same fields, no actor id
  speech:I  transcript span I: t0, t1, text, speaker (actor id or None) and speaker_confidence

Edges, each with a `kind`:

  temporal     self-loop on an actor for each gap between consecutive appearances (left, returned, gap):
               "actor 1 left at 4 s and came back at 7 s" reads straight off it
  spatial      between two nodes on screen at the same time: intervals, seconds, mean/min centre distance
               (normalised by the frame diagonal); one per pair, from the node whose id sorts first
  interaction  between two nodes whose centres stay under INTERACTION_DISTANCE box heights apart for at
               least INTERACTION_MIN_S: intervals, seconds, min distance (in box heights)
  speech       from a speech span to each person on screen while it is spoken: on-screen fraction, the
               visibility cues, confidence, likely_speaker

Presence is interpolated from the detector's samples (a few per second): a sample stands for half a
sampling period either side (the last sample of the video for the rest of it); a new track also for one
more period before it (ByteTrack confirms a track on its second detection, so the first is never
reported); gaps up to CONTINUOUS_GAP_S (or two periods) inside an actor count as continuous. On the
generated meeting video (evaluation.meeting_scenario) this puts the first meeting 0.25 s and the time
together 0.0 s from the truth at 2 detector fps, 0.18 s and 0.1 s at 4 fps.

Queries go through `ActorGraph`; the graph itself is persisted as node-link JSON (`save_graph`).

Speaker attribution uses what can be seen, not lips: the mouth region is not modelled (pose keypoints
cover nose, eyes and ears only), so the confidence never exceeds MAX_SPEAKER_CONFIDENCE.

Modules, one concept each (nothing is re-exported here; import from the module):

  presence  presence from sampled tracks: interpolated on-screen intervals, their set operations, the
            per-node samples (`Samples`) and what the builder knows of a node (`Node`)
  speakers  speaker cues and attribution: speech nodes and edges (a still picture is never the speaker)
  build     building the graph from actors, boxes and transcript (`build_graph`, `build_actor_graph`)
  persist   the stored format: `GRAPH_VERSION`, `save_graph` (node-link JSON) and `load_graph`
  query     questions asked of a built graph: `ActorGraph` (who, when, with whom, who speaks) and its records
"""
