"""The object memory read side: when each COCO class is shown, how many at once, and which classes a user's words
name ("a mug" is a `cup`, "animals" are the animal classes).

An appearance is a run of sampled frames showing the class, merged across short gaps (the detector misses an
object on a frame or two) and cut at shot cuts (a new shot of a cup is a new showing). A single frame seen below
`CONFIDENT` is flicker, not an appearance. Below `CONFIDENT` an appearance is reported as "probably": the
offline detector is weak (a cat called `dog` at 0.48).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.types import ObjectSightings

MERGE_GAP_S = 1.5
"""Sightings of a class this close in time are one appearance (2 missed frames at 2 fps)."""
CUT_SLACK_S = 0.25
"""Cuts are found on frames sampled apart and reported up to this long after the new shot's first frame (the
sample video's cuts at 6.5 s and 18.5 s read as 6.6 s and 18.6 s): a cut this soon after a frame falls before it."""
CONFIDENT = 0.5
"""Best score at or above which an object is stated plainly; below, it is 'probably' (measured: the CenterNet
detector's true objects score 0.4-0.7 on the hand-labelled photos, its false classes 0.35-0.48)."""
MATCH_SIMILARITY = 0.70
MATCH_MARGIN = 0.05
"""A word names a class when the text embedder puts it this close to the class name (cosine), and this much closer
than to the next class: "mug" -> cup 0.74, "kitty" -> cat 0.84, while "watch" (0.58 to clock), "rocket" and
"bridge" name none (all-MiniLM-L6-v2, 80 COCO names, measured 2026-12-03)."""

SUPERCATEGORIES: dict[str, tuple[str, ...]] = {
    "vehicle": ("bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"),
    "animal": ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"),
    "food": ("banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake"),
    "furniture": ("chair", "couch", "potted plant", "bed", "dining table", "toilet"),
    "electronics": ("tv", "laptop", "mouse", "remote", "keyboard", "cell phone"),
    "appliance": ("microwave", "oven", "toaster", "sink", "refrigerator"),
    "kitchenware": ("bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl"),
    "object": (),
}
"""COCO's supercategories by the words people use for them ("any animals?"); `object` means every class. A word
of a category names all its classes, not the nearest one ("animal" is closest to `dog`)."""
CATEGORY_WORDS: dict[str, str] = {
    "vehicle": "vehicle", "vehicles": "vehicle", "animal": "animal", "animals": "animal", "pet": "animal",
    "pets": "animal", "food": "food", "foods": "food", "furniture": "furniture", "electronics": "electronics",
    "devices": "electronics", "device": "electronics", "gadget": "electronics", "gadgets": "electronics",
    "appliance": "appliance", "appliances": "appliance", "kitchenware": "kitchenware", "dishes": "kitchenware",
    "object": "object", "objects": "object", "items": "object", "item": "object",
}  # fmt: skip
NOT_OBJECTS = frozenset(
    "person persons people man men woman women boy girl child children kid kids someone anyone actor actors human "
    "humans player players speaker narrator sign signs title titles caption captions text screen time times scene "
    "scenes shot shots video clip frame picture photo image light lights game sport".split()
)
"""Words that name people, on-screen text or the video itself: never an object class ("sign" is near `stop sign`,
"screen" near `tv`, "man" near `person`; people have the actor graph, text the on-screen text reader)."""


@dataclass(frozen=True)
class Appearance:
    """One showing of a class: from its first to its last sampled frame, how many at most at once, best score."""

    label: str
    t0: float
    t1: float
    frames: int
    most: int
    confidence: float

    @property
    def sure(self) -> bool:
        return self.confidence >= CONFIDENT


def appearances(sightings: ObjectSightings, label: str, cuts: Sequence[float] = ()) -> list[Appearance]:
    """Each showing of `label`, in time order (see the module docstring for the merge and flicker rules)."""
    counts, scores = sightings.counts.get(label), sightings.scores.get(label)
    if counts is None or scores is None:
        return []
    found: list[Appearance] = []
    run: list[int] = []
    cut_times = sorted(cuts)

    def close() -> None:
        if not run:
            return
        best = max(scores[i] for i in run)
        if len(run) >= 2 or best >= CONFIDENT:
            times = [sightings.times[i] for i in run]
            found.append(Appearance(label, times[0], times[-1], len(run), max(counts[i] for i in run), round(best, 3)))
        run.clear()

    for index, count in enumerate(counts):
        if count <= 0:
            continue
        t = sightings.times[index]
        if run:
            last = sightings.times[run[-1]]
            if t - last > MERGE_GAP_S + 1e-6 or any(last + CUT_SLACK_S < c <= t + CUT_SLACK_S for c in cut_times):
                close()
        run.append(index)
    close()
    return found


def at_once(sightings: ObjectSightings, label: str) -> tuple[int, float]:
    """The most of `label` on one sampled frame, and the first time that many are seen ((0, 0.0) if never)."""
    counts = sightings.counts.get(label)
    if not counts or max(counts) <= 0:
        return 0, 0.0
    most = max(counts)
    return most, sightings.times[counts.index(most)]


def classes_seen(sightings: ObjectSightings, cuts: Sequence[float] = ()) -> list[str]:
    """The classes with at least one appearance, by first appearance."""
    first = {label: shown[0].t0 for label in sightings.counts if (shown := appearances(sightings, label, cuts))}
    return sorted(first, key=lambda label: (first[label], label))


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def candidate_phrases(words: Sequence[str]) -> list[str]:
    """The words and adjacent word pairs of a question that could name an object ("cell phone", "teddy bear")."""
    clean = [w.lower() for w in words if re.fullmatch(r"[a-zA-Z][a-zA-Z-]*", w)]
    pairs = [f"{a} {b}" for a, b in zip(clean, clean[1:])]
    return list(dict.fromkeys(pairs + [w for w in clean if w not in NOT_OBJECTS]))


_CLASS_VECTORS: dict[tuple[object, tuple[str, ...]], np.ndarray] = {}


class ObjectVocabulary:
    """The classes a detector knows, and which of them a question's words name."""

    def __init__(self, classes: Sequence[str], embedder: Any | None) -> None:
        self.classes = tuple(c for c in classes if c != "person")
        self.embedder = embedder

    @property
    def _class_vectors(self) -> np.ndarray:
        """The class names' unit vectors, embedded once per embedder and class list (every question builds a
        vocabulary; the 80 names are embedded once a process)."""
        key = (getattr(getattr(self.embedder, "spec", None), "key", id(self.embedder)), self.classes)
        if key not in _CLASS_VECTORS:
            _CLASS_VECTORS[key] = _unit(self.embedder.encode([f"a {c}" for c in self.classes]))
        return _CLASS_VECTORS[key]

    def match(self, words: Sequence[str]) -> list[str]:
        """The classes `words` name, in the order named: exact names and plurals first, then categories, then
        the text embedder's nearest class when it is close and clearly closer than the next."""
        named: list[str] = []
        phrases = candidate_phrases(words)
        taken: set[str] = set()
        for phrase in phrases:
            for form in (phrase, " ".join(_singular(p) for p in phrase.split())):
                if form in self.classes:
                    named.append(form)
                    taken.update(phrase.split())
        for phrase in phrases:
            category = CATEGORY_WORDS.get(phrase)
            if category is not None and phrase not in taken:
                named += [c for c in SUPERCATEGORIES[category] or self.classes if c in self.classes]
                taken.add(phrase)
        rest = [p for p in phrases if " " not in p and p not in taken and p not in CATEGORY_WORDS]
        if rest and self.embedder is not None and self.classes:
            queries = _unit(self.embedder.encode([f"a {w}" for w in rest] + [f"a {_singular(w)}" for w in rest]))
            similarity = (queries @ self._class_vectors.T).reshape(2, len(rest), -1).max(axis=0)
            for row in similarity:
                order = np.argsort(-row)
                best, second = float(row[order[0]]), float(row[order[1]]) if len(order) > 1 else 0.0
                if best >= MATCH_SIMILARITY and best - second >= MATCH_MARGIN:
                    named.append(self.classes[int(order[0])])
        return list(dict.fromkeys(named))


def _unit(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    return array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-9)
