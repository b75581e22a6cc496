"""The held-out videos: fixed specs for narrated photo slideshows, in independent sets.

Each spec is rendered with `evaluation.sample_video.make_sample_video`: one photo per narration cue,
each scene starting `SCENE_LEAD_S` (0.5 s) before its cue (the first scene starts at 0). The gold
answers in `final-1.jsonl` / `final-2.jsonl` / `dev-2.jsonl` follow from these specs only; do not
edit a spec without re-checking every question about its video.

    python -m evaluation.heldout.videos OUT_DIR [--set final-1|final-2|dev-2|all] [--descriptions-beside]

The CLI renders final-1 unless told otherwise; final-2 stays unrendered until it is released. dev-2
is a development set that may be read and tuned on; `all` means final-1 and final-2 only.

By default the JSON description that `make_sample_video` writes beside each video (it holds the
ground truth) is moved to `OUT_DIR/truth/`, so a system pointed at OUT_DIR cannot read it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SIZE = (320, 180)
FPS = 10.0


@dataclass(frozen=True)
class VideoSpec:
    """One slideshow: file name, story, narration cues, one photo per cue, length, seed and voice."""

    set_name: str
    file: str
    story: str
    narration: tuple[tuple[float, str], ...]
    photos: tuple[tuple[str, str, bool], ...]
    """(skimage.data image, printed title or "", shows a person), one per narration cue."""
    duration: float
    seed: int
    voice: str = "en-us"

    def __post_init__(self) -> None:
        if len(self.narration) != len(self.photos):
            raise ValueError(f"{self.file}: {len(self.narration)} cues but {len(self.photos)} photos")


# ---------------------------------------------------------------------------------------------
# Set final-1: run once, at the end of an issue.
# ---------------------------------------------------------------------------------------------

FINAL_1: tuple[VideoSpec, ...] = (
    VideoSpec(
        set_name="final-1",
        file="sunday_kitchen.mp4",
        story="A home-baking vlog: a lemon cake, a neighbour who films, a bake sale.",
        narration=(
            (1.0, "Good morning, and welcome back to my little kitchen."),
            (6.0, "Today we are baking a lemon cake for my sister."),
            (11.0, "First, mix two cups of flour with a spoon of sugar."),
            (16.0, "My neighbour Tom stopped by to film the mixing."),
            (21.0, "The cake goes in at four o'clock."),
            (26.0, "While it bakes, we count the coins for the bake sale."),
            (31.0, "Forty minutes can feel like forever."),
            (36.0, "Tom says the whole street can smell it."),
            (41.0, "Next week, I will show you a cherry pie."),
        ),
        photos=(
            ("coffee", "SUNDAY KITCHEN", False),
            ("page", "THE RECIPE", False),
            ("grass", "", False),
            ("camera", "", True),
            ("coffee", "OVEN 180", False),
            ("coins", "BAKE SALE", False),
            ("clock", "", False),
            ("camera", "", True),
            ("page", "NEXT WEEK", False),
        ),
        duration=48.0,
        seed=101,
    ),
    VideoSpec(
        set_name="final-1",
        file="space_race.mp4",
        story="A space-history slideshow from the first satellite to private launches.",
        narration=(
            (1.0, "This is a short history of the space race."),
            (6.0, "In nineteen fifty seven, a tiny satellite circled the Earth."),
            (11.0, "Rockets grew taller and more powerful every year."),
            (16.0, "Pilots trained for months before their first flight."),
            (21.0, "In nineteen sixty nine, two men walked on the Moon."),
            (26.0, "They collected rocks and planted a flag."),
            (31.0, "Later, a telescope in orbit looked at distant galaxies."),
            (36.0, "The crews who repaired it became heroes."),
            (41.0, "Today, private companies launch rockets every week."),
            (46.0, "Thanks for watching, and keep looking up."),
        ),
        photos=(
            ("moon", "SPACE RACE", False),
            ("hubble_deep_field", "", False),
            ("rocket", "1960s", False),
            ("astronaut", "", True),
            ("moon", "APOLLO 11", False),
            ("rocket", "", False),
            ("hubble_deep_field", "HUBBLE", False),
            ("astronaut", "", True),
            ("rocket", "NOW", False),
            ("moon", "THE END", False),
        ),
        duration=52.0,
        seed=202,
    ),
    VideoSpec(
        set_name="final-1",
        file="kitten_diary.mp4",
        story="A pet diary: the first two days with a new kitten called Miso.",
        narration=(
            (1.0, "Day one with our new kitten, Miso."),
            (6.0, "She spent the afternoon exploring the garden."),
            (11.0, "Our vet, Doctor Lane, says she weighs two kilos."),
            (16.0, "Her water bowl sits by the back door."),
            (21.0, "At night she chases moonlight across the floor."),
            (26.0, "Day two, and Miso already owns the sofa."),
            (31.0, "We bought her a toy mouse and a scratching post."),
            (36.0, "She ignored both and played with a paper bag."),
            (41.0, "Goodnight from Miso and the whole family."),
        ),
        photos=(
            ("chelsea", "PET DIARY", False),
            ("grass", "", False),
            ("camera", "VET VISIT", True),
            ("coffee", "", False),
            ("moon", "", False),
            ("chelsea", "DAY TWO", False),
            ("brick", "", False),
            ("page", "", False),
            ("chelsea", "", False),
        ),
        duration=46.0,
        seed=303,
    ),
    VideoSpec(
        set_name="final-1",
        file="wochenmarkt_de.mp4",
        story="A short farmers'-market clip narrated in German.",
        narration=(
            (1.0, "Willkommen auf dem Wochenmarkt in unserer Stadt."),
            (7.0, "Heute gibt es frische Äpfel und warmes Brot."),
            (13.0, "Der Bürgermeister eröffnet den Markt um zehn Uhr."),
            (20.0, "Bis nächste Woche!"),
        ),
        photos=(
            ("coffee", "WOCHENMARKT", False),
            ("grass", "", False),
            ("camera", "", True),
            ("clock", "", False),
        ),
        duration=30.0,
        seed=404,
        voice="de",
    ),
)

# ---------------------------------------------------------------------------------------------
# Set final-2: kept untouched until a later issue. Do not run, render or read its questions before then.
# ---------------------------------------------------------------------------------------------

FINAL_2: tuple[VideoSpec, ...] = (
    VideoSpec(
        set_name="final-2",
        file="council_recap.mp4",
        story="A recap of a town council meeting: clock-tower repairs, park benches, an air show.",
        narration=(
            (1.0, "Here is your recap of Tuesday's town council meeting."),
            (6.0, "First on the agenda was the broken clock tower."),
            (11.0, "Repairs will cost eight thousand dollars."),
            (16.0, "Councillor Reyes asked who would pay for it."),
            (21.0, "The parks committee wants more benches near the pond."),
            (26.0, "A vote on the benches is set for March."),
            (31.0, "Then a local pilot spoke about the summer air show."),
            (36.0, "Tickets will be free for children."),
            (41.0, "The next meeting starts at seven o'clock on Monday."),
            (46.0, "Thanks for following your local news."),
        ),
        photos=(
            ("page", "COUNCIL RECAP", False),
            ("brick", "ITEM 1", False),
            ("coins", "", False),
            ("camera", "", True),
            ("grass", "PARKS", False),
            ("clock", "", False),
            ("astronaut", "", True),
            ("rocket", "AIR SHOW", False),
            ("page", "", False),
            ("brick", "", False),
        ),
        duration=52.0,
        seed=505,
    ),
    VideoSpec(
        set_name="final-2",
        file="star_party.mp4",
        story="An astronomy club's night on a hill: the Moon, a galaxy, cocoa, a satellite.",
        narration=(
            (1.0, "Our astronomy club met on the hill last Friday."),
            (6.0, "The sky was clear, and the Moon rose early."),
            (11.0, "Sam brought a new camera and a heavy tripod."),
            (16.0, "We pointed the big telescope at a faint galaxy."),
            (21.0, "Hot cocoa kept everyone warm."),
            (26.0, "Someone spotted a satellite passing overhead."),
            (31.0, "The long exposure took ninety seconds."),
            (36.0, "We packed up just after midnight."),
        ),
        photos=(
            ("grass", "STAR PARTY", False),
            ("moon", "", False),
            ("camera", "", True),
            ("hubble_deep_field", "", False),
            ("coffee", "", False),
            ("rocket", "", False),
            ("hubble_deep_field", "EXPOSURE 90 S", False),
            ("moon", "", False),
        ),
        duration=42.0,
        seed=606,
    ),
    VideoSpec(
        set_name="final-2",
        file="backyard_project.mp4",
        story="A backyard makeover vlog: a brick wall repaired with a friend's help.",
        narration=(
            (1.0, "This spring we are fixing up the backyard."),
            (6.0, "The old wall needs new mortar between the bricks."),
            (11.0, "My friend Carlos came over to help on Saturday."),
            (16.0, "We spent forty dollars on seeds and soil."),
            (21.0, "A neighbour's cat kept watching us from the fence."),
            (26.0, "Lunch break, with iced tea on the porch."),
            (31.0, "The wall is finished, and it looks great."),
            (36.0, "Carlos is already planning the vegetable beds."),
        ),
        photos=(
            ("grass", "BACKYARD PROJECT", False),
            ("brick", "", False),
            ("astronaut", "", True),
            ("coins", "RECEIPTS", False),
            ("chelsea", "", False),
            ("coffee", "", False),
            ("brick", "DONE", False),
            ("astronaut", "", True),
        ),
        duration=44.0,
        seed=707,
    ),
    VideoSpec(
        set_name="final-2",
        file="sopa_es.mp4",
        story="A short tomato-soup recipe narrated in Spanish.",
        narration=(
            (1.0, "Hoy preparamos una sopa de tomate muy fácil."),
            (7.0, "Primero cortamos dos cebollas y un poco de ajo."),
            (13.0, "Mi abuela siempre la cocinaba los domingos."),
            (20.0, "Buen provecho y hasta la próxima."),
        ),
        photos=(
            ("coffee", "SOPA", False),
            ("page", "", False),
            ("camera", "", True),
            ("coffee", "", False),
        ),
        duration=30.0,
        seed=808,
        voice="es",
    ),
)

# ---------------------------------------------------------------------------------------------
# Set dev-2: a development set. It may be read, rendered and tuned on.
# ---------------------------------------------------------------------------------------------

DEV_2: tuple[VideoSpec, ...] = (
    VideoSpec(
        set_name="dev-2",
        file="museum_visit.mp4",
        story="A Saturday at the city museum: old coins, a letter, a guide called Marta, the gift shop.",
        narration=(
            (1.0, "Saturday morning, and the city museum has just opened its doors."),
            (6.0, "The first hall is full of old money from around the world."),
            (11.0, "Upstairs, a handwritten letter from eighteen twelve is on show."),
            (16.0, "Our guide, Marta, has worked here for twelve years."),
            (21.0, "The children loved the horseshoe collection most of all."),
            (26.0, "Marta showed us how sailors kept time at sea."),
            (31.0, "Next door, the coin room has a gold piece from Venice."),
            (36.0, "We rested on a bench by the red carpet in the lobby."),
            (41.0, "The gift shop sells a catalogue for nine euros."),
            (46.0, "Entry is free on the first Sunday of every month."),
        ),
        photos=(
            ("brick", "CITY MUSEUM", False),
            ("coins", "", False),
            ("page", "ROOM 4", False),
            ("astronaut", "", True),
            ("horse", "", False),
            ("clock", "", False),
            ("coins", "GOLD ROOM", False),
            ("astronaut", "", True),
            ("page", "GIFT SHOP", False),
            ("brick", "CLOSED MONDAYS", False),
        ),
        duration=52.0,
        seed=911,
    ),
    VideoSpec(
        set_name="dev-2",
        file="science_class.mp4",
        story="A biology lesson: onion cells under the microscope, a pond sample, a guest from the space agency.",
        narration=(
            (1.0, "Welcome to period three, where we look at things too small to see."),
            (6.0, "Under the microscope, these are onion skin cells."),
            (11.0, "Our teacher, Mister Reyes, adjusts the focus very slowly."),
            (16.0, "This stained sample comes from the school pond."),
            (21.0, "Everyone sketched what they saw in their notebooks."),
            (26.0, "Then he switched back to the first slide for a closer look."),
            (31.0, "A guest from the space agency talked about growing plants in orbit."),
            (36.0, "She brought a pineapple that had flown on a rocket."),
            (41.0, "Homework is due on Thursday, so start early."),
        ),
        photos=(
            ("brick", "BIOLOGY 7B", False),
            ("cell", "", False),
            ("camera", "", True),
            ("immunohistochemistry", "SAMPLE B", False),
            ("page", "", False),
            ("cell", "x400", False),
            ("astronaut", "", True),
            ("rocket", "", False),
            ("brick", "HOMEWORK P.42", False),
        ),
        duration=46.0,
        seed=912,
    ),
    VideoSpec(
        set_name="dev-2",
        file="cafe_opening.mp4",
        story="Opening day of a small corner café, from unlocking the doors to closing time.",
        narration=(
            (1.0, "Today is the grand opening of our little corner café."),
            (6.0, "We unlocked the doors at seven, and the line was already long."),
            (11.0, "The first cup went to a neighbour who lives upstairs."),
            (16.0, "Our menu has six kinds of tea and one very good cheesecake."),
            (21.0, "A photographer from the local paper came by at lunchtime."),
            (26.0, "By two o'clock the tip jar was almost full."),
            (31.0, "Outside, we set up four small tables for the afternoon."),
            (36.0, "My cousin Dario painted a cartoon sign for the window."),
            (41.0, "Our barista, Jo, made two hundred drinks today."),
            (46.0, "We close at six, and tomorrow we open again at seven."),
        ),
        photos=(
            ("coffee", "OPENING DAY", False),
            ("clock", "", False),
            ("coffee", "", False),
            ("page", "CHEESECAKE 4.50", False),
            ("camera", "", True),
            ("coins", "", False),
            ("gravel", "TERRACE", False),
            ("colorwheel", "", False),
            ("astronaut", "", True),
            ("coffee", "SEE YOU TOMORROW", False),
        ),
        duration=53.0,
        seed=913,
    ),
    VideoSpec(
        set_name="dev-2",
        file="velo_fr.mp4",
        story="A short cycling-commute clip narrated in French.",
        narration=(
            (1.0, "Bonjour, aujourd'hui je vais au travail à vélo."),
            (7.0, "Je traverse le parc, et il fait beau ce matin."),
            (13.0, "Mon collègue Paul m'attend devant le bureau à huit heures."),
            (20.0, "À demain, et bonne journée !"),
        ),
        photos=(
            ("gravel", "A VELO", False),
            ("grass", "", False),
            ("camera", "", True),
            ("clock", "", False),
        ),
        duration=30.0,
        seed=914,
        voice="fr",
    ),
)

SETS: dict[str, tuple[VideoSpec, ...]] = {"final-1": FINAL_1, "final-2": FINAL_2, "dev-2": DEV_2}


def specs(set_name: str = "all") -> tuple[VideoSpec, ...]:
    """The specs of one set ("final-1", "final-2", "dev-2") or of both final sets ("all"; dev-2 is not in it)."""
    if set_name == "all":
        return FINAL_1 + FINAL_2
    if set_name not in SETS:
        raise ValueError(f"unknown set {set_name!r}; choose from {', '.join(SETS)} or all")
    return SETS[set_name]


def render(spec: VideoSpec, out_dir: Path | str, *, descriptions_beside: bool = False):
    """Render one spec into `out_dir/spec.file`; return the SampleVideo description."""
    from evaluation.sample_video import description_path, make_sample_video

    out_dir = Path(out_dir)
    path = out_dir / spec.file
    video = make_sample_video(
        path,
        narration=list(spec.narration),
        photos=list(spec.photos),
        duration=spec.duration,
        size=SIZE,
        fps=FPS,
        seed=spec.seed,
        voice=spec.voice,
    )
    if not descriptions_beside:
        truth = out_dir / "truth"
        truth.mkdir(parents=True, exist_ok=True)
        shutil.move(str(description_path(path)), truth / f"{spec.file}.json")
    return video


def render_set(out_dir: Path | str, set_name: str = "final-1", *, descriptions_beside: bool = False) -> list:
    """Render every video of a set into `out_dir`; return their descriptions."""
    return [render(spec, out_dir, descriptions_beside=descriptions_beside) for spec in specs(set_name)]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.heldout.videos OUT_DIR [--set ...]`: render the videos, print a summary."""
    parser = argparse.ArgumentParser(description="Render the held-out narrated slideshow videos.")
    parser.add_argument("out_dir", type=Path, help="folder for the .mp4 files (the --video-root of an eval)")
    parser.add_argument("--set", dest="set_name", default="final-1", choices=[*SETS, "all"])
    parser.add_argument(
        "--descriptions-beside",
        action="store_true",
        help="leave each ground-truth description at <video>.json instead of moving it to OUT_DIR/truth/",
    )
    args = parser.parse_args(argv)
    for spec in specs(args.set_name):
        started = time.perf_counter()
        video = render(spec, args.out_dir, descriptions_beside=args.descriptions_beside)
        summary = {
            "set": spec.set_name,
            "file": spec.file,
            "duration": video.duration,
            "scenes": len(video.scenes),
            "lines": len(video.narration),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
