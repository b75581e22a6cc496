"""What a question asks, read from its form: the rule planner's reading of plain-language questions.

Users phrase the same need many ways ("what was said about X", "does anyone mention X", "tell me about
X"), so each intent is a family of cues rather than one keyword, and a question with no cue at all is
read as asking about both the speech and the picture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from agent.context import AgentContext
    from agent.state import AgentState

CountOf = Literal["people", "scenes", "people_scenes", "text_scenes", "speech", "object_times", "object_most"]
ActorAsk = Literal["who", "when", "with_whom", "first_meeting", "trajectory", "said", "speakers"]
Direction = Literal["after", "before"]


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)


ROLES = (
    r"guests?|visitors?|guides?|teachers?|students?|pupils?|baristas?|photographers?|neighbou?rs?|cousins?|"
    r"colleagues?|friends?|hosts?|chefs?|bakers?|customers?|waiters?|waitress(?:es)?|cashiers?|tourists?|"
    r"passengers?|drivers?|presenters?|reporters?|interviewers?|lady|ladies|gentlem[ae]n|mother|father|mum|mom|"
    r"dad|sister|brother|wife|husband|owner|officers?|doctors?|nurses?|players?|workers?|volunteers?"
)
"""People named by their role ("the guest from the space agency"): who they are is said, not seen."""
PEOPLE = _words(
    r"who|whom|whose|persons?|people|man|men|woman|women|someone|somebody|anyone|anybody|everyone|"
    r"actors?|crowd|pedestrians?|kids?|child|children|boy|girl|guy|humans?|individuals?"
)
ROLE_PEOPLE = _words(ROLES)
SPECIFIC_PEOPLE = _words(
    r"who|whom|whose|persons?|people|man|men|woman|women|actors?|crowd|pedestrians?|kids?|child|children|boy|"
    r"girl|guy|humans?|individuals?"
)
"""People cues that name people; 'anyone' / 'someone' alone do not (they are how speech questions start)."""
APPEAR = _words(
    r"appears?|appeared|appearing|show(?:s|ed|n)? up|enters?|entered|arrives?|arrived|comes? (?:in|on)|"
    r"came (?:in|on)|on[- ]screen|in (?:the )?(?:frame|shot|picture)|visible|seen|present|there|step(?:s|ped)? in"
)
SPEECH = re.compile(
    r"\b(?:says?|said|saying|tell|tells|told|talk(?:s|ed|ing)?|mention(?:s|ed|ing)?|speak(?:s|ing)?|spoke|"
    r"speech|narrat\w*|announce\w*|quote\w*|words?|explain\w*|discuss\w*|voice|state[sd]?|claims?|"
    r"describes? (?:how|what)|talk about|brought up|bring up|refer(?:s|red)? to)\b|[\"“”]",
    re.IGNORECASE,
)
VISUAL = _words(
    r"see|seen|shows?|shown|showing|look(?:s|ing)?|scene|scenes|frames?|picture|image|colou?rs?|wear(?:s|ing)?|"
    r"holding|holds|carry(?:ing)?|doing|title|text|sign|written|printed|setting|background|place|location"
)
SUMMARY = re.compile(
    r"\b(?:summar\w+|sum (?:it |this |that |them )?up|overview|recap|gist|in a nutshell|tl;?dr|what (?:is|'s) (?:this|the) "
    r"(?:video|clip|footage|recording) about|what happens in (?:this|the) (?:video|clip|footage)|describe (?:this|the) "
    r"(?:whole )?(?:video|clip|footage)|(?:briefly )?describe what (?:this|the) (?:video|clip|footage|recording) "
    r"(?:covers|shows|is about)|what (?:does|did) (?:this|the) (?:video|clip|footage|recording) cover|main (?:events|"
    r"points|topics|ideas?)|key points)\b",
    re.IGNORECASE,
)
HAPPENINGS = re.compile(
    r"^\W*(?:so,?\s+|and\s+)?what(?:'s| is| was)?\s+(?:happens|happened|happening|going on|goes on|went on)"
    r"(?:\s+(?:here|there|overall|in (?:this|the|it)(?: (?:video|clip|film))?))?\W*$",
    re.IGNORECASE,
)
"""A bare "what happens?" / "what is going on?": it asks for the whole video, like a summary."""
FIRST = _words(r"first|earliest|initially|begin\w*|start(?:s|ed)?|for the first time")
MEET = _words(
    r"meet|meets|met|meeting|come together|get together|join(?:s|ed)?|encounter\w*|first (?:seen |on screen )?together"
)
WITH_WHOM = re.compile(
    r"\b(?:with whom|who (?:is|was|else is|else was|are|were|appears?|stands?) (?:\w+ )?(?:with|beside|next to|"
    r"alongside)|who (?:does|did) \w+(?: \d+)? (?:meet|see|stand with|talk to)|together with|accompan\w+|"
    r"alongside|shares? the screen|companions?|who else)\b",
    re.IGNORECASE,
)
TRAJECTORY = _words(
    r"trajectory|path|moves?|moving|moved|goes|go|went|walks?|walked|walking|heads?|headed|which side|"
    r"where (?:is|does|did|do) .{0,30}(?:go|move|stand|end up)"
)
WHO_SPEAKS = re.compile(
    r"\b(?:who(?:'s| is| was)?(?:\s+\w+){0,3}?\s+(?:speaks?|speaking|spoke|talks?|talking|talked|says?|said|"
    r"saying|narrat\w*|voices?|tells?|told|announc\w*|asks?|asked)|whose voice|who(?:'s| is| was) (?:the )?"
    r"(?:speaker|narrator|voice)|which (?:person|actor|one) (?:speaks|talks|says|is speaking|is talking))\b",
    re.IGNORECASE,
)
"""A question about who says something: answered with each line's likely speaker (or the narrator)."""
WHEN = _words(r"when|what time|at what point|how long|how soon|at which (?:time|moment|point)")
ASKS_WHEN = re.compile(r"(?:^|[.?!;]\s+)\W*(?:and\s+|so\s+|then\s+)?when\b|\b(?:what time|at what point|how long|how soon|at which "
                       r"(?:time|moment|point|second|minute)|what moment|what second|how many (?:seconds|minutes)|"
                       r"how far into|timestamp|time ?code)\b", re.IGNORECASE)  # fmt: skip
"""A question asking for a time: 'when' opening it (not 'who is there when X'), or 'at what time' anywhere."""
AFTER = _words(r"after (?:that|this|it|then)|afterwards?|next(?! to)|then what|what follows|later|and then|after")
BEFORE = _words(r"before (?:that|this|it)|beforehand|earlier|previously|prior to (?:that|this)|before")
BACK_REFERENCE = _words(r"that|this|then|there|it|same")
PRONOUN = _words(r"he|she|him|her|his|they|them|their")
QUOTED = re.compile(r"[\"“]([^\"“”]{2,120})[\"”]|'([^']{3,120})'")
AUDIO_ONLY = _words(
    r"narrat\w*|speaker|voice|voices|voice-?overs?|audio|hear|heard|hears|hearing|listen\w*|sound|sounds|spoken|aloud|"
    r"out loud|commentary|commentator|soundtrack"
)
HOW_MANY = _words(r"how many|number of|count")
COMES_BACK = _words(r"comes? back|came back|returns?|returned|reappears?|reappeared|again|second time|next time")
"""'When does the person come back on screen': the appearance after the first, not the first."""

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "in",
        "on",
        "at",
        "of",
        "to",
        "for",
        "from",
        "by",
        "with",
        "about",
        "into",
        "over",
        "under",
        "and",
        "or",
        "but",
        "if",
        "then",
        "than",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "it",
        "its",
        "he",
        "she",
        "him",
        "her",
        "they",
        "them",
        "their",
        "his",
        "hers",
        "we",
        "you",
        "your",
        "i",
        "me",
        "my",
        "our",
        "us",
        "anything",
        "something",
        "someone",
        "anyone",
        "video",
        "clip",
        "film",
        "narrator",
        "speaker",
        "say",
        "says",
        "said",
        "tell",
        "tells",
        "told",
        "talk",
        "talks",
        "talked",
        "mention",
        "mentions",
        "mentioned",
        "mentioning",
        "discuss",
        "discussed",
        "describe",
        "describes",
        "explain",
        "explains",
        "happen",
        "happens",
        "happened",
        "please",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "any",
        "all",
        "some",
        "ever",
        "also",
        "just",
        "does",
        "doing",
        "done",
        "get",
        "got",
        "thing",
        "things",
        "show",
        "shows",
        "shown",
        "seen",
        "see",
    ]
)


@dataclass(frozen=True)
class QuestionForm:
    """The needs a question expresses, and the words worth searching for."""

    text: str
    speech: bool
    """It asks about words said (or names no kind of evidence at all)."""
    visual: bool
    """It asks about what is seen."""
    people: bool
    """It asks about people on screen."""
    actor_ask: ActorAsk | None
    """The actor-graph question it is shaped like, when it is about people."""
    summary: bool
    general: bool
    """It names no topic ("What does the narrator say?"): read the sources in order, search for nothing."""
    first: bool
    """It asks for a first time ("when does X first appear")."""
    when: bool
    direction: Direction | None
    """A follow-up about what comes after / before something."""
    back_reference: bool
    """It refers to something earlier in the conversation ("that", "then")."""
    pronoun: bool
    """It names a person by pronoun ("what does she say"): someone from the previous turn."""
    quoted: tuple[str, ...]
    topic: str
    """The question's content words, as a search query."""
    counting: bool
    audio_only: bool
    """It asks about sound only (a narrator, a voice): pictures cannot answer it."""
    count_of: CountOf | None
    """What a "how many" question counts."""
    during: str
    """The topic of a "during / while / when the narrator talks about X" clause ('' if none): the moment is
    found in the speech, then asked about."""
    written: bool = False
    """It asks about text shown in the picture (a title, a caption, a sign, a score)."""
    written_topic: str = ""
    """What the asked-for text is about, without the words that frame it ('' : read all of it)."""
    compared: tuple[str, ...] = ()
    """The two things of "is A mentioned before or after B?" (as search words), else empty."""
    objects: tuple[str, ...] = ()
    """The object classes (of the videos' object detector) the question names: set by agent.object_words once
    the videos are known, () before or when it names none."""


GENERAL_FRAME = frozenset(
    "words spoken speak speaks heard hear hears audio recording footage sound sounds commentary voice voices "
    "voice-over voiceover narration narrated overall exactly whole entire everything content contents "
    "being going on write down give list transcribe transcript repeat quote full read verbatim".split()
)
"""Words that frame a question about the whole speech or video ("what words are spoken here?") and name no topic."""


def content_words(text: str) -> list[str]:
    """The words of `text` worth searching for (no question words, pronouns or filler)."""
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'$-]*", text)
    return [w for w in words if w.lower() not in STOP_WORDS and not re.fullmatch(r"\d{1,2}", w)]


DURING = re.compile(
    r"(?<!^)(?<![.?!;]\s)\b(?:during|while|as|when|for the (?:part|bit|moment|line) (?:about|on)|at the (?:moment|point|time)|with the "
    r"(?:remark|line|part|mention|words?) (?:about|on))\b\s+(.{3,120}?)\s*[?.!]*$",
    re.IGNORECASE,
)
LEADING_DURING = re.compile(r"^\W*(?:during|while|as|when|at the moment)\b\s+(.{3,120}?),", re.IGNORECASE)
"""'When the speaker gets to X, is anyone on screen?': the clause leads the question, ended by a comma."""
CLAUSE_FILLER = frozenset(
    [
        "narrator",
        "narrates",
        "narration",
        "speaker",
        "talks",
        "talk",
        "talking",
        "speaks",
        "speak",
        "speaking",
        "mentions",
        "mentioned",
        "mentioning",
        "discusses",
        "discussing",
        "says",
        "saying",
        "describes",
        "describing",
        "scene",
        "part",
        "section",
        "segment",
        "gets",
        "get",
        "turns",
        "turn",
        "comes",
        "reaches",
        "covers",
        "audio",
        "remark",
        "moment",
        "mention",
        "voice",
        "commentary",
    ]
)


ROLE_PHRASE = re.compile(
    r"\b(?:the|a|an|our|my|your|their|his|her|that|this)\s+((?:[a-z-]+\s+)?(?:" + ROLES + r")"
    r"(?:\s+(?:from|of|at|with)\s+(?:the\s+|a\s+)?[a-z-]+(?:\s+[a-z-]+)?)?)",
    re.IGNORECASE,
)
"""'the guest from the space agency', 'the new barista': a person named by a role the speech gives, not by looks."""


def _during(text: str) -> str:
    """The topic of a 'during the X scene' / 'while the narrator talks about X' clause, as search words; for a
    person named only by role and not by looks ("when does the guest from the space agency appear"), the role:
    that person is whoever is on screen when the speech speaks of them."""
    match = DURING.search(text) or LEADING_DURING.search(text)
    if not match and not SPECIFIC_PEOPLE.search(text):
        match = ROLE_PHRASE.search(text)
    if not match:
        return ""
    words = [w for w in content_words(match.group(1)) if w.lower() not in CLAUSE_FILLER]
    return " ".join(words)


def _count_of(text: str) -> CountOf | None:
    if not HOW_MANY.search(text) or re.search(r"\bhow many (?:seconds|minutes|hours)\b", text, re.IGNORECASE):
        return None  # "how many seconds into the clip" asks for a time
    if re.search(r"\b(?:scenes?|shots?|settings?|locations?|places?|(?:picture|image|photo) segments?|"
                 r"stretch(?:es)? of (?:still )?(?:imagery|pictures?|images?|photos?))\b", text, re.IGNORECASE):
        if SPECIFIC_PEOPLE.search(text):
            return "people_scenes"
        return "text_scenes" if ON_SCREEN_TEXT.search(text) else "scenes"
    if re.search(r"\b(?:sentences?|statements?|utterances?|remarks?|spoken lines?|lines? of (?:speech|narration|"
                 r"dialogue))\b|\b(?:lines?|things?|times?|words?)\b.*\b(?:say|said|speak|spoke|spoken|narrat\w*|mention\w*|"
                 r"heard|hear)|\b(?:narrator|speaker|voice-?over|audio|commentary)\b", text, re.IGNORECASE):  # fmt: skip
        return "speech"
    if SPECIFIC_PEOPLE.search(text) or PEOPLE.search(text):
        return "people"
    return None


def _actor_ask(text: str, people: bool, first: bool, when: bool, appear: bool, speech: bool) -> ActorAsk | None:
    if WHO_SPEAKS.search(text) and not when:
        return "speakers"
    if MEET.search(text):
        return "first_meeting"
    if WITH_WHOM.search(text) and (people or PRONOUN.search(text)):  # "the photo that accompanies ..." is no person
        return "with_whom"
    if not people:
        return None
    if speech and re.search(r"\b(?:what|anything)\b.*\b(?:say|said|says|talk|mention)", text, re.IGNORECASE):
        return "said"
    if TRAJECTORY.search(text) and not when:
        return "trajectory"
    if when and (appear or first or re.search(r"\b(?:on screen|visible|seen|there)\b", text, re.IGNORECASE)):
        return "when"
    if when and re.search(r"\b(?:actor|person|people|man|woman)\b", text, re.IGNORECASE):
        return "when"
    return "who"


ON_SCREEN_TEXT = re.compile(
    r"\b(?:titles?|titled|captioned|captions?|on[- ]screen (?:text|words?|captions?|numbers?)|text|written|"
    r"printed (?:on|over|across) (?:the )?(?:screen|picture|image|frame)|"
    r"writing|signs?|signpost|signboard|labels?|labell?ed|headlines?|banners?|subtitles?|slogan|logo|"
    r"spell(?:s|ed)?|scoreboard|scores?|slides?|placard|poster|"
    r"name (?:card|tag|caption|under|below|shown))\b",
    re.IGNORECASE,
)
"""Cues that a question asks about text shown in the picture (titles, name captions, signs, scores, slides)."""
WRITTEN_FRAME = frozenset(
    "title titles titled caption captions captioned text written printed writing sign signs signpost signboard "
    "label labels labelled labeled headline headlines banner banners subtitle subtitles slogan logo spell spells "
    "spelled scoreboard slide slides placard poster name card tag screen on-screen shown displayed display "
    "read say says word words appear appears what's whats very end beginning start close finish final last "
    "video clip".split()
)
"""Words that frame a question about on-screen text rather than name what the text is about (where in the
video it is shown is the question's time range, not a topic)."""
TEXT_SAYS = re.compile(
    r"\b(?:sign|title|caption|label|banner|slide|poster|screen|text|scoreboard|headline|placard|card)s? "
    r"(?:say|says|said|read|reads|show|shows)\b",
    re.IGNORECASE,
)
"""'What does the sign say': the text's words, not speech."""
IN_ORDER = re.compile(r"\b(?:at the (?:end|start|beginning)|in the end|final(?:ly)?|last|first|latest|ends? with|"
                      r"starts? with|changes?|order|sequence|progress(?:es)?|over time)\b", re.IGNORECASE)
"""A question about text that only its order answers ("the score at the end", "how does the score change")."""


BEFORE_OR_AFTER = re.compile(
    r"^\W*(?:is|was|are|were|does|did|do)\s+(?P<a>.+?)\s+(?:(?:mentioned|said|spoken of|brought up|talked about|"
    r"discussed|shown|introduced|covered|described|named|heard|come|comes)\s+)?(?:before or after|after or before|"
    r"earlier or later|later or earlier)\s+(?P<b>.+?)\s*\??$",
    re.IGNORECASE,
)
"""'Is the coin room mentioned before or after the horseshoe collection?': which of two things comes first."""


def _compared(text: str) -> tuple[str, ...]:
    match = BEFORE_OR_AFTER.match(text)
    if not match:
        return ()
    pair = tuple(" ".join(content_words(match.group(part))) for part in ("a", "b"))
    return pair if all(pair) else ()


def read_question(question: str, video_names: Sequence[str] = ()) -> QuestionForm:
    """Classify a question by its form (several cue families per need, so paraphrases read alike).

    The videos' file names are blanked first: "meeting.mp4" is not a question about a meeting. The graph's
    first step reads each question once and keeps the form in the state (`AgentState.form`)."""
    for name in video_names:
        if len(name) >= 3:
            question = re.sub(rf"\b{re.escape(name)}\b", " ", question, flags=re.IGNORECASE)
    text = " ".join(question.split())
    quoted = tuple(a or b for a, b in QUOTED.findall(text))
    speech = bool(SPEECH.search(text)) or bool(quoted) or bool(AUDIO_ONLY.search(text))
    main_clause = DURING.sub(" ", text)  # "printed on screen while the narrator talks about X" is about the screen
    # people inside a "while the narrator says the children loved it" clause only name the moment
    people = bool(PEOPLE.search(main_clause) or ROLE_PEOPLE.search(main_clause))
    appear = bool(APPEAR.search(text))
    if people and speech and not SPECIFIC_PEOPLE.search(text) and not appear:
        people = False  # "does anyone mention X" asks about the speech, not about who is on screen
    visual = bool(VISUAL.search(text))
    topic = content_words(text)
    general = not quoted and all(w.lower() in GENERAL_FRAME for w in topic)
    summary = bool(SUMMARY.search(text)) or bool(HAPPENINGS.search(text))
    first = bool(FIRST.search(text))
    when = bool(ASKS_WHEN.search(text))
    direction: Direction | None = None
    if AFTER.search(text):
        direction = "after"
    elif BEFORE.search(text):
        direction = "before"
    actor_ask = _actor_ask(text, people, first, when, appear, speech)
    if actor_ask is not None:
        people = True
    written = bool(ON_SCREEN_TEXT.search(text)) and not AUDIO_ONLY.search(main_clause)
    if written and not quoted and TEXT_SAYS.search(text) and not SPEECH.search(TEXT_SAYS.sub(" ", text)):
        speech = False  # "what does the sign say" asks for the sign's words
    unspecific = not (speech or visual or people or summary or written)
    written_topic = " ".join(w for w in topic if w.lower() not in WRITTEN_FRAME and w.lower() not in GENERAL_FRAME)
    if written and IN_ORDER.search(text):
        written_topic = ""  # "the score at the end": read all of it in the order shown
    return QuestionForm(
        text=text,
        speech=speech or unspecific or (visual and not people and not written),
        visual=(visual and not written) or unspecific or summary,
        people=people,
        actor_ask=actor_ask,
        summary=summary,
        general=general,
        first=first,
        when=when,
        direction=direction,
        back_reference=bool(BACK_REFERENCE.search(text)),
        pronoun=bool(PRONOUN.search(text)),
        quoted=quoted,
        topic=" ".join(topic) or text,
        counting=bool(HOW_MANY.search(text)),
        audio_only=bool(AUDIO_ONLY.search(text)),
        count_of=_count_of(text),
        during=_during(text),
        written=written,
        written_topic=written_topic,
        compared=_compared(text),
    )


def form_of(state: AgentState, context: AgentContext) -> QuestionForm:
    """The question's form as the graph's start step read it; read here only for a state built outside the graph."""
    return state.form if state.form is not None else read_question(state.question, context.video_names)
