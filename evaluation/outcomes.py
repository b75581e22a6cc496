"""Outcomes of evaluation runs per question type (right, abstained, wrong, error), the two rates that
matter offline, and whether paraphrases of one fact got the same claim and the same tool plan.

Accuracy alone hides two failures: abstaining on questions the offline stages can answer (speech,
time, people, counts) and answering confidently what they cannot perceive (pictures, printed text).
`python -m evaluation.outcomes RUN_DIR [RUN_DIR...]` prints the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from core.errors import VidsageError
from evaluation.datasets.native import load_native
from evaluation.results import RESULTS_NAME, latest_rows
from evaluation.runner import RUN_NAME
from evaluation.scoring import (
    ABSENT_GOLDS,
    choice_from_text,
    claimed_number,
    gold_time,
    normalize,
    parse_time,
    says_absent,
    yes_no,
)

OUTCOMES = ("right", "abstained", "wrong", "error")
RAN = frozenset({"ran", "ok"})
"""Statuses of a question the system answered (the runner writes "ok"); any other is an error."""
OFFLINE_NEEDS = frozenset({"speech", "time", "people", "count"})
"""What the offline stages perceive: a row needing only these should be answered, not abstained on."""
UNPERCEIVED_NEEDS = frozenset({"pictures", "text"})
"""What needs a picture or text reader: a confident wrong answer here is a made-up one."""
TIME_TYPES = frozenset({"speech_time", "first_appearance"})
SAME_TIME_S = 1.0
"""Time claims of paraphrases agree when they are at most this far apart."""
ALL = "all"

Row = dict[str, Any]


def field(row: Row, key: str) -> Any:
    """A row's value for `key`, top-level first, else from its `extra` dict (None when neither has it)."""
    if row.get(key) is not None:
        return row[key]
    extra = row.get("extra")
    return extra.get(key) if isinstance(extra, dict) else None


def needs(row: Row) -> frozenset[str]:
    """What a row's question needs perceived (empty when the row does not say)."""
    value = field(row, "needs")
    return frozenset(str(need) for need in value) if isinstance(value, list) else frozenset()


def outcome(row: Row) -> str:
    """right, abstained, wrong or error: an abstention is neither right nor wrong; a row that did not run is an error."""
    if str(row.get("status", "ran")) not in RAN:
        return "error"
    if row.get("abstained"):
        return "abstained"
    return "right" if row.get("correct") is True else "wrong"


def tally(rows: Iterable[Row]) -> dict[str, dict[str, int]]:
    """Per type (and "all"): how many rows had each outcome, and n."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        result = outcome(row)
        for name in (str(row.get("type") or "(untyped)"), ALL):
            table[name][result] += 1
            table[name]["n"] += 1
    order = sorted(name for name in table if name != ALL) + ([ALL] if ALL in table else [])
    return {name: {key: table[name][key] for key in (*OUTCOMES, "n")} for name in order}


def _rate(rows: Sequence[Row], wanted: str) -> dict[str, Any]:
    """How many of the rows that ran had outcome `wanted`, of how many, and the share."""
    ran = [row for row in rows if outcome(row) != "error"]
    count = sum(outcome(row) == wanted for row in ran)
    return {"count": count, "n": len(ran), "rate": count / len(ran) if ran else None}


def rates(rows: Sequence[Row]) -> dict[str, Any]:
    """Abstention on rows answerable offline, confident-wrong on rows needing pictures or text, forced answers."""
    answerable = [row for row in rows if needs(row) and needs(row) <= OFFLINE_NEEDS]
    unperceived = [row for row in rows if needs(row) & UNPERCEIVED_NEEDS]
    forced = [row for row in rows if row.get("forced") and outcome(row) != "error"]
    return {
        "abstained_answerable_offline": _rate(answerable, "abstained"),
        "confident_wrong_pictures_text": _rate(unperceived, "wrong"),
        "forced": {"count": len(forced), "right": sum(outcome(row) == "right" for row in forced)},
    }


# --- paraphrase consistency -------------------------------------------------------------------


def _is_time(row: Row) -> bool:
    """Whether the row's gold is a time: a time question type or a gold written as a time."""
    kind = str(row.get("type") or "")
    return kind in TIME_TYPES or "time" in kind or gold_time(str(_gold(row))) is not None


def _gold(row: Row) -> Any:
    """The gold answer as the runner writes it (`gold`), or as a dataset row has it (`answer`)."""
    return row.get("gold") if row.get("gold") is not None else row.get("answer", "")


def claim(row: Row) -> str | float | None:
    """What a row's answer claims, comparable across paraphrases: the chosen option's text, a time,
    a number, yes/no, "absent"/"present", or for other open answers whether it was right."""
    if row.get("abstained"):
        return "abstained"
    text = str(row.get("prediction") or "")
    options = row.get("options")
    if isinstance(options, list) and options:
        index = next((row[key] for key in ("choice", "scored_choice") if row.get(key) is not None), None)
        index = index if index is not None else choice_from_text(text, options)
        return options[index] if isinstance(index, int) and 0 <= index < len(options) else None
    gold = normalize(str(_gold(row)))
    if _is_time(row):
        said = parse_time(text)
        return said if said is not None else claimed_number(text)
    if gold.replace(".", "", 1).isdigit():
        return claimed_number(text)
    if gold in ("yes", "no"):
        return yes_no(text)
    if gold in ABSENT_GOLDS:
        return "absent" if says_absent(text) else "present"
    return "right" if row.get("correct") is True else "wrong"


def _claims_agree(claims: Sequence[str | float | None]) -> bool:
    """Equal claims, or times (numbers) all within `SAME_TIME_S` of each other."""
    numbers = [value for value in claims if isinstance(value, float)]
    if numbers and len(numbers) == len(claims):
        return max(numbers) - min(numbers) <= SAME_TIME_S
    return len(set(claims)) == 1


def consistency(rows: Sequence[Row]) -> dict[str, Any]:
    """Groups of paraphrases (rows sharing `group`) whose claims or tool plans differ."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        name = field(row, "group")
        if name is not None and outcome(row) != "error":
            groups[str(name)].append(row)
    checked = {name: members for name, members in groups.items() if len(members) > 1}
    differing = []
    for name, members in sorted(checked.items()):
        claims = [claim(row) for row in members]
        plans = [tuple(row["plan"]) for row in members if isinstance(row.get("plan"), list)]
        differs = [
            what for what, same in (("claim", _claims_agree(claims)), ("plan", len(set(plans)) <= 1)) if not same
        ]
        if differs:
            differing.append(
                {
                    "group": name,
                    "differs": differs,
                    "qids": [str(row.get("qid")) for row in members],
                    "claims": claims,
                    "plans": [row.get("plan") for row in members],
                }
            )
    return {
        "checked": len(checked),
        "claims_differ": sum("claim" in entry["differs"] for entry in differing),
        "plans_differ": sum("plan" in entry["differs"] for entry in differing),
        "inconsistent": differing,
    }


# --- runs -------------------------------------------------------------------------------------


def summarize(rows: Sequence[Row]) -> dict[str, Any]:
    """Outcome table, rates and paraphrase consistency of one run's rows."""
    return {"by_type": tally(rows), "rates": rates(rows), "consistency": consistency(rows)}


def with_dataset(rows: Sequence[Row], run: dict[str, Any]) -> list[Row]:
    """Rows with `needs` and `group` filled in from the run's native dataset where the rows lack them."""
    source = (run.get("dataset") or {}).get("source")
    if not source or (run.get("dataset") or {}).get("format") != "native" or not Path(source).is_file():
        return list(rows)
    extras = {item.qid: item.extra for item in load_native(source)}
    filled = []
    for row in rows:
        extra = extras.get(str(row.get("qid")), {})
        missing = {key: extra[key] for key in ("needs", "group") if field(row, key) is None and key in extra}
        filled.append({**row, **missing})
    return filled


def load_run(run_dir: Path) -> list[Row]:
    """The latest row per question of a run folder, with dataset fields filled in."""
    results = run_dir / RESULTS_NAME
    if not results.is_file():
        raise FileNotFoundError(f"{run_dir}: no {RESULTS_NAME} (not an evaluation run folder)")
    run_path = run_dir / RUN_NAME
    run = json.loads(run_path.read_text(encoding="utf-8")) if run_path.is_file() else {}
    return with_dataset(list(latest_rows(results).values()), run)


def _pct(rate: dict[str, Any]) -> str:
    """A rate as a percentage with its counts, e.g. 12.5% (3/24); n/a when no row counts."""
    if rate["rate"] is None:
        return "n/a (0 rows)"
    return f"{100 * rate['rate']:.1f}% ({rate['count']}/{rate['n']})"


def render_markdown(summary: dict[str, Any], title: str) -> str:
    """The outcome table, the rates and the inconsistent paraphrase groups as markdown."""
    lines = [f"### {title}", "", "| type | right | abstained | wrong | error | n |", "|---|---:|---:|---:|---:|---:|"]
    for name, counts in summary["by_type"].items():
        label = f"**{name}**" if name == ALL else name
        lines.append(f"| {label} | " + " | ".join(str(counts[key]) for key in (*OUTCOMES, "n")) + " |")
    rate, check = summary["rates"], summary["consistency"]
    lines += [
        "",
        f"- abstained, answerable offline (needs only {'/'.join(sorted(OFFLINE_NEEDS))}): "
        + _pct(rate["abstained_answerable_offline"]),
        f"- confident wrong, needs pictures or text: {_pct(rate['confident_wrong_pictures_text'])}",
        f"- forced answers: {rate['forced']['count']} ({rate['forced']['right']} right)",
        (
            f"- paraphrase groups checked: {check['checked']}; claims differ in {check['claims_differ']}, "
            f"tool plans differ in {check['plans_differ']}"
        ),
    ]
    for entry in check["inconsistent"]:
        said = ", ".join(f"{qid}={value!r}" for qid, value in zip(entry["qids"], entry["claims"]))
        plans = f"; plans {entry['plans']}" if "plan" in entry["differs"] else ""
        lines.append(f"  - {entry['group']} ({'+'.join(entry['differs'])}): {said}{plans}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaluation.outcomes RUN_DIR [RUN_DIR...] [--json]`: print each run's outcome tables."""
    parser = argparse.ArgumentParser(description="Outcomes per type, offline rates and paraphrase consistency.")
    parser.add_argument("runs", nargs="+", type=Path, help="evaluation run folders (holding results.jsonl)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON instead of markdown")
    args = parser.parse_args(argv)
    summaries = {}
    for run_dir in args.runs:
        try:
            summaries[str(run_dir)] = summarize(load_run(run_dir))
        except (FileNotFoundError, json.JSONDecodeError, VidsageError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(summaries, indent=2, default=str))
    else:
        print("\n".join(render_markdown(summary, name) for name, summary in summaries.items()), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
