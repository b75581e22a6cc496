"""The videos of the paraphrase QA dev set: narrated photo slideshows whose ground truth is written
here (spec) before any rendering, so questions can be built, and tested, without the video files.

The topics (an observatory night, a riding school, a library move) share nothing with the default
sample video's harbor tour, so a planner tuned on that video gets no help from the words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evaluation.sample_video import SampleVideo, Scene, description_path, make_sample_video, plan_scenes

SIZE = (320, 180)
FPS = 10.0


@dataclass(frozen=True)
class Photo:
    """How questions name a scikit-image photo, and the words that count as naming it in an answer."""

    phrase: str
    accept: tuple[str, ...]


PHOTOS: dict[str, Photo] = {
    "moon": Photo("the Moon", ("moon", "lunar", "crater")),
    "coins": Photo("a heap of coins", ("coins", "coin", "money")),
    "astronaut": Photo("an astronaut", ("astronaut", "space suit", "spacesuit")),
    "rocket": Photo("a rocket", ("rocket", "launch")),
    "clock": Photo("a clock", ("clock",)),
    "grass": Photo("a patch of grass", ("grass", "lawn", "meadow")),
    "gravel": Photo("a gravel surface", ("gravel", "pebbles", "stones")),
    "chelsea": Photo("a cat", ("cat", "kitten")),
    "camera": Photo("a man holding a camera", ("camera", "cameraman", "photographer")),
    "brick": Photo("a brick wall", ("brick", "bricks", "wall")),
    "hubble_deep_field": Photo("a field of distant galaxies", ("galaxies", "galaxy", "stars", "space")),
    "page": Photo("a printed page", ("page", "printed text", "book", "document")),
    "text": Photo("lettering painted on a surface", ("text", "letters", "lettering", "writing")),
}
"""Every photo a spec uses: bundled with scikit-image (none needing a download) and 8-bit, so they render
as photos (`horse` is a boolean mask that `load_photo` turns almost black)."""


@dataclass(frozen=True)
class Cue:
    """One narration line, the scene shown with it, and how questions refer to what it says."""

    t0: float
    text: str
    photo: str
    title: str
    person: bool
    topic: str
    """A noun phrase that identifies the line without quoting it ("the ticket prices")."""
    key: str
    """The short answer to "what is said about the topic", worded as in the line."""
    accept: tuple[str, ...] = ()


@dataclass(frozen=True)
class VideoSpec:
    """One dev-set video: its narration and scenes, and the facts and decoys questions use."""

    name: str
    seed: int
    duration: float
    cues: tuple[Cue, ...]
    summary: str
    summary_keys: tuple[str, ...]
    absent: tuple[str, ...]
    """Things neither said nor shown (checked against the narration, titles and photos)."""
    decoy_topics: tuple[str, ...]
    """Plausible topics that are never spoken about, for multiple-choice distractors."""
    decoy_pictures: tuple[str, ...]
    """Plausible pictures that are never shown, for multiple-choice distractors."""
    spoken_order: tuple[int, ...]
    """Indices of the lines an order question offers (the earliest is the answer)."""
    shown_order: tuple[int, ...]
    """Indices of scenes whose photos an order question offers."""
    shown_once: str
    """A photo on screen a single time, asked about beside the recurring one (gold: no, once)."""

    @property
    def file_name(self) -> str:
        return f"{self.name}.mp4"

    def narration(self) -> list[tuple[float, str]]:
        """(start, sentence) cues for `make_sample_video`."""
        return [(cue.t0, cue.text) for cue in self.cues]

    def photos(self) -> list[tuple[str, str, bool]]:
        """(photo, title, shows a person) per cue for `make_sample_video`."""
        return [(cue.photo, cue.title, cue.person) for cue in self.cues]

    def scenes(self) -> tuple[Scene, ...]:
        """The scenes the video shows, planned exactly as `make_sample_video` plans them."""
        return plan_scenes(self.narration(), self.duration, default_titles=False, photos=self.photos())


OBSERVATORY = VideoSpec(
    name="observatory_night",
    seed=11,
    duration=44.0,
    cues=(
        Cue(1.0, "Tonight the hilltop observatory opens its roof to visitors.", "moon", "OBSERVATORY", False,
            "the hilltop observatory", "opens its roof to visitors", ("opens its roof", "open to visitors")),
        Cue(8.0, "Tickets cost twelve euros for adults, and children enter free.", "coins", "", False,
            "the ticket prices", "twelve euros for adults", ("12 euros", "children enter free")),
        Cue(15.0, "Our guide tonight is a former pilot who flew to the space station.", "astronaut", "YOUR GUIDE",
            True, "tonight's guide", "a former pilot who flew to the space station", ("former pilot", "space station")),
        Cue(22.0, "The large telescope was built more than a century ago.", "rocket", "THE TELESCOPE", False,
            "the large telescope", "built more than a century ago", ("century ago", "over a hundred years ago")),
        Cue(29.0, "Look for the bright planets low in the western sky.", "moon", "", False,
            "where to find the planets", "low in the western sky", ("western sky", "in the west")),
        Cue(36.0, "The last shuttle bus leaves at eleven o'clock.", "clock", "LAST BUS", False,
            "the last shuttle bus", "eleven o'clock", ("11 o'clock", "11:00", "11 pm", "eleven")),
    ),
    summary="An evening at a hilltop observatory: ticket prices, a guide who flew to space, an old telescope, "
    "where to see planets, and the last bus.",
    summary_keys=("observatory", "telescope", "stargazing", "planets"),
    absent=("submarine", "wedding cake"),
    decoy_topics=("a meteor shower", "the parking rules"),
    decoy_pictures=("a sailing boat", "a lighthouse"),
    spoken_order=(3, 1, 5),
    shown_order=(5, 2),
    shown_once="clock",
)  # fmt: skip

RIDING_SCHOOL = VideoSpec(
    name="riding_school",
    seed=23,
    duration=50.0,
    cues=(
        Cue(1.0, "The riding school on Mill Lane has six horses and one pony.", "grass", "RIDING SCHOOL", False,
            "the riding school's animals", "six horses and one pony", ("6 horses", "six horses")),
        Cue(8.0, "Lessons begin every Saturday morning at half past eight.", "gravel", "", False,
            "the lesson schedule", "every Saturday morning at half past eight", ("half past eight", "8:30")),
        Cue(15.0, "Please keep the yard cat away from the feed room.", "chelsea", "YARD CAT", False,
            "the yard cat", "keep it away from the feed room", ("away from the feed room", "feed room")),
        Cue(22.0, "A press photographer will take pictures of every young rider.", "camera", "PHOTO DAY", True,
            "the press photographer", "take pictures of every young rider", ("pictures of every", "photograph")),
        Cue(29.0, "The old stable wall is being rebuilt this summer.", "brick", "", False,
            "the old stable wall", "being rebuilt this summer", ("rebuilt", "repaired this summer")),
        Cue(36.0, "Every rider must wear boots and a helmet.", "grass", "SAFETY FIRST", False,
            "what riders must wear", "boots and a helmet", ("boots and helmet", "helmet")),
        Cue(43.0, "Thank you, and see you at the stables.", "hubble_deep_field", "", False,
            "the farewell", "see you at the stables", ("thank you",)),
    ),
    summary="News from a riding school: its horses, Saturday lessons, the yard cat, a photographer's visit, "
    "the stable wall and safety gear.",
    summary_keys=("riding school", "horses", "riding lessons", "riders"),
    absent=("tractor", "swimming pool"),
    decoy_topics=("the vet's visit", "a pony race"),
    decoy_pictures=("a flock of sheep", "a bicycle"),
    spoken_order=(4, 2, 6),
    shown_order=(4, 3),
    shown_once="chelsea",
)  # fmt: skip

LIBRARY_MOVE = VideoSpec(
    name="library_move",
    seed=37,
    duration=44.0,
    cues=(
        Cue(1.0, "The city library is moving to a bigger building in March.", "page", "LIBRARY NEWS", False,
            "the library's move", "to a bigger building in March", ("bigger building", "in march")),
        Cue(8.0, "Volunteers will carry about nine thousand books across the square.", "text", "", False,
            "the volunteers", "carry about nine thousand books", ("9000 books", "nine thousand books")),
        Cue(15.0, "A local film maker will record the move for the evening news.", "camera", "ON CAMERA", True,
            "the local film maker", "record the move for the evening news", ("evening news", "record the move")),
        Cue(22.0, "Late fees are cancelled for the whole month.", "coins", "NO LATE FEES", False,
            "late fees", "cancelled for the whole month", ("cancelled", "no late fees")),
        Cue(29.0, "On moving day the doors close at four o'clock.", "clock", "", False,
            "closing time on moving day", "four o'clock", ("4 o'clock", "4:00", "4 pm")),
        Cue(36.0, "Thank you for supporting your library.", "page", "THANK YOU", False,
            "the thanks at the end", "thank you for supporting your library", ("thank you", "supporting")),
    ),
    summary="The city library moves to a bigger building in March: volunteers carry the books, the move is "
    "filmed, late fees are cancelled and doors close early on moving day.",
    summary_keys=("library", "moving", "books", "new building"),
    absent=("piano", "fire engine"),
    decoy_topics=("the summer reading club", "a book sale"),
    decoy_pictures=("a tall bookshelf", "a delivery van"),
    spoken_order=(4, 3, 1),
    shown_order=(4, 2),
    shown_once="coins",
)  # fmt: skip

SPECS: tuple[VideoSpec, ...] = (OBSERVATORY, RIDING_SCHOOL, LIBRARY_MOVE)


def matches_spec(spec: VideoSpec, video: SampleVideo) -> bool:
    """Whether a written description holds exactly the spec's narration and scenes."""
    said = [(line.t0, line.text) for line in video.narration]
    return said == spec.narration() and video.scenes == spec.scenes()


def check_rendered(spec: VideoSpec, video: SampleVideo) -> None:
    """Fail when a spoken line runs into the next scene, which would make "said while shown" ambiguous."""
    for line, scene in zip(video.narration, video.scenes):
        if line.t1 > scene.t1:
            raise ValueError(f"{spec.name}: {line.text!r} ends at {line.t1:.2f} s, after its scene ({scene.t1:.2f} s)")


def render(spec: VideoSpec, out_dir: Path) -> tuple[SampleVideo, bool]:
    """The spec's video under `out_dir` (written unless a matching one is there) and whether it was written."""
    path = out_dir / spec.file_name
    described = description_path(path)
    if path.is_file() and described.is_file():
        existing = SampleVideo.from_dict(json.loads(described.read_text(encoding="utf-8")))
        if matches_spec(spec, existing):
            return existing, False
    video = make_sample_video(
        path,
        narration=spec.narration(),
        photos=spec.photos(),
        duration=spec.duration,
        size=SIZE,
        fps=FPS,
        seed=spec.seed,
    )
    check_rendered(spec, video)
    return video, True
