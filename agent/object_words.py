"""Which everyday objects a question names, in the classes the videos' object detector knows ("a mug" -> cup), and
what it asks of them (how often, how many at once). Read once per question, after its form (agent.question),
because the classes come from the videos' memory and the mapping from the text embedder.
"""

from __future__ import annotations

import dataclasses
import re

from agent.context import AgentContext
from agent.question import QuestionForm, content_words
from memory.objects import ObjectVocabulary

TIMES = re.compile(r"\b(?:times?|how often|separate(?:ly)?|occasions?|showings?|appearances?)\b", re.IGNORECASE)
"""'How many times is a cup shown' counts showings; 'how many cups are there' counts the most at once."""
SPOKEN_TOPIC = re.compile(
    r"\b(?:about|regarding|concerning|covers?|covering|describ\w*|mention\w*|on the subject of)\s+"
    r"(?:the |a |an |its |their )?[\w' -]+?(?=[,?.!;]|\s+(?:is|are|was|were|do|does|did|can|could|while|when)\b|$)",
    re.IGNORECASE,
)
"""'The part about the last shuttle bus', 'how does the commentary describe the cake': a thing said, not shown; the
object detector is not asked about it (the speech finds the moment, the actor graph or pictures what is seen)."""
EVERY_CLASS = 10
"""A question naming more classes than this names objects in general ("what objects are shown")."""


def with_objects(form: QuestionForm, context: AgentContext) -> QuestionForm:
    """The form with the object classes it names, and an object count where it counts them."""
    sightings = [s for m in context.memories if (s := m.object_sightings()) is not None]
    if not sightings:
        return form
    classes = tuple(dict.fromkeys(c for s in sightings for c in (s.classes or tuple(s.counts))))
    words = content_words(SPOKEN_TOPIC.sub(" ", form.text.replace(form.during, " ") if form.during else form.text))
    if not words:
        return form
    named = tuple(ObjectVocabulary(classes, context.models.text_embedder()).match(words))
    if not named:
        return form
    count_of = form.count_of
    if form.counting and count_of in (None, "people", "scenes"):
        # "how many scenes show a cup" counts the cup's separate showings, not every scene
        count_of = "object_times" if TIMES.search(form.text) or count_of == "scenes" else "object_most"
    return dataclasses.replace(form, objects=named, count_of=count_of)
