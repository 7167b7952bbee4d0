"""Mutation testing by hand: plant one realistic bug at a time in a copy of the tree and see
whether the tests written for that rule catch it (`make mutants`; not part of `make test`).

Each mutant is (id, file, exact original snippet, replacement, test group). The runner copies the
tracked and untracked-but-not-ignored files of this checkout to a temporary directory once,
then for each mutant writes the mutated file, runs only the group's test files with `-x -q`
against a database of its own (`TEST_DATABASE=dossier_stats_mutants`), and puts the file back.
The working tree is never touched. A mutant whose snippet is not found exactly once is an
error: the code moved and the list needs updating.

    .venv/bin/python -m tools.mutants                     # all of them (about half an hour)
    .venv/bin/python -m tools.mutants --only limits       # ids or groups containing "limits"
    .venv/bin/python -m tools.mutants --list              # what there is
    .venv/bin/python -m tools.mutants --baseline          # the groups' tests pass unmutated

The seeded random tests (test_property, test_fuzz, the random streams of test_summaries) are
left out on purpose: the figure says how many planted bugs a test written for the rule catches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 600

# The test files (or node ids) that cover each rule module.
GROUPS: dict[str, list[str]] = {
    "ratio": [
        "tests/stats/test_online_ratio.py",
        "tests/stats/test_period_edges.py",
        "tests/stats/test_summaries.py::test_split_range_covers_every_day_once",
        "tests/stats/test_reports.py",
    ],
    "report06": [
        "tests/stats/test_reports.py",
        "tests/stats/test_period_edges.py",
        "tests/ingest/test_clock.py",
    ],
    "clock": [
        "tests/ingest/test_clock_rule.py",
        "tests/ingest/test_clock.py",
        "tests/stats/test_period_edges.py",
    ],
    "ingest": [
        "tests/ingest/test_ingest.py",
        "tests/ingest/test_ingest_instants.py",
        "tests/ingest/test_trust_boundaries.py",
        "tests/ingest/test_ingest_limits.py",
    ],
    "national": [
        "tests/ingest/national/test_national.py",
        "tests/ingest/national/test_national_mapping.py",
        "tests/ingest/national/test_national_senders.py",
    ],
    "auth": [
        "tests/keys/test_auth.py",
        "tests/keys/test_key_format.py",
        "tests/ingest/test_trust_boundaries.py",
        "tests/ingest/test_ingest.py::test_event_ids_are_per_source",
    ],
    "limits": [
        "tests/core/test_limits_exact.py",
        "tests/ingest/test_ingest_limits.py",
        "tests/core/test_limits_values.py",
        "tests/core/test_limits.py",
        "tests/core/test_request_head.py",
    ],
    "exports": [
        "tests/stats/test_csv_quoting.py",
        "tests/stats/test_exports.py",
        "tests/stats/test_form06.py",
        "tests/stats/test_reports.py",
    ],
}


@dataclass(frozen=True)
class Mutant:
    """One planted bug: `original` (found exactly once in `path`) becomes `replacement`."""

    id: str
    path: str
    original: str
    replacement: str
    group: str


def m(id: str, path: str, original: str, replacement: str, group: str) -> Mutant:
    return Mutant(id, path, original, replacement, group)


RATIO = "app/stats/repository.py"
STATS = "app/stats/service.py"
TRIGGERS = "migrations/versions/0006_handling_clock.py"
CLOCK = "app/ingest/clock.py"
INGEST = "app/ingest/service.py"
NATIONAL = "app/ingest/national/schemas.py"
NATIONAL_SERVICE = "app/ingest/national/service.py"
LIMITS = "app/core/middleware/limits.py"
EXPORTS = "app/stats/formats/exports.py"

MUTANTS: list[Mutant] = [
    # --- online ratio: the range split, the summary read, targets -----------------------------
    m("ratio-split-to-first-of-month", RATIO, "    if end <= date_to:", "    if end < date_to:", "ratio"),
    m("ratio-split-from-always-next-month", RATIO,
      "first = date_from if date_from.day == 1 else _next_month(date_from)",
      "first = _next_month(date_from)", "ratio"),
    m("ratio-split-to-never-month-end", RATIO,
      "end = after if after.day == 1 else _month_start(date_to)",
      "end = _month_start(date_to)", "ratio"),
    m("ratio-split-head-overlaps-month", RATIO,
      "days.append((date_from, first - dt.timedelta(days=1)))",
      "days.append((date_from, first))", "ratio"),
    m("ratio-months-upper-bound-inclusive", RATIO,
      "WHERE month >= CAST(:months_from AS date) AND month < CAST(:months_to AS date)",
      "WHERE month >= CAST(:months_from AS date) AND month <= CAST(:months_to AS date)", "ratio"),
    m("ratio-unit-filter-without-subtree", RATIO,
      "OR unit_code IN (SELECT code FROM subtree))",
      "OR unit_code = CAST(:unit AS varchar))", "ratio"),
    m("ratio-capable-denominator-is-total", RATIO,
      "WHEN 'online_capable' THEN capable ELSE total END",
      "WHEN 'online_capable' THEN total ELSE total END", "ratio"),
    m("ratio-full-online-numerator-is-online", RATIO,
      "                       ELSE full_online\n",
      "                       ELSE online\n", "ratio"),
    m("ratio-quarter-label-is-month", RATIO,
      """WHEN 'quarter' THEN to_char(day, 'YYYY-"Q"Q')""",
      """WHEN 'quarter' THEN to_char(day, 'YYYY-"Q"MM')""", "ratio"),
    m("ratio-meets-target-strict", STATS,
      "return Decimal(numerator) >= target * denominator",
      "return Decimal(numerator) > target * denominator", "ratio"),
    m("ratio-reversed-range-allowed", STATS,
      "    if date_from > date_to:\n", "    if date_from > date_to + dt.timedelta(days=1):\n",
      "ratio"),
    # --- report 06: the counts, the totals, the judged columns (summary triggers) -------------
    m("report06-carried-over-from-from", RATIO,
      "carried = _interval_ends_until(date_from - dt.timedelta(days=1), filters)",
      "carried = _interval_ends_until(date_from, filters)", "report06"),
    m("report06-pending-the-day-before-to", RATIO,
      "pending = _interval_ends_until(date_to, filters)",
      "pending = _interval_ends_until(date_to - dt.timedelta(days=1), filters)", "report06"),
    m("report06-offline-is-total", RATIO,
      '"received_offline": received.c.total - received.c.online,',
      '"received_offline": received.c.total,', "report06"),
    m("report06-pending-on-time-is-open", RATIO,
      '"pending_on_time": pending.c.open - pending.c.overdue,',
      '"pending_on_time": pending.c.open,', "report06"),
    m("report06-open-months-inclusive", RATIO,
      "and_(months >= years_before, months < months_before)",
      "and_(months >= years_before, months <= months_before)", "report06"),
    m("report06-open-years-inclusive", RATIO,
      "stats_open_yearly.c.year < years_before",
      "stats_open_yearly.c.year <= years_before", "report06"),
    m("report06-open-last-days-skipped", RATIO,
      "if months_before <= day:", "if months_before < day:", "report06"),
    m("report06-by-unit-grouped-by-domain", RATIO,
      '"unit": rows.c.unit_code}.get(group_by)',
      '"unit": rows.c.domain_code}.get(group_by)', "report06"),
    m("report06-received-total-without-carried", STATS,
      '"received_total": counts["carried_over"]', '"received_total": counts["received_online"]',
      "report06"),
    m("report06-levelless-rows-first", STATS,
      'return _LEVEL_ORDER.get(counts["unit_level"], len(UNIT_LEVELS))',
      'return _LEVEL_ORDER.get(counts["unit_level"], -1)', "report06"),
    m("report06-early-includes-due-day", TRIGGERS,
      "AND c.ended_on < c.effective_due_on)::int",
      "AND c.ended_on <= c.effective_due_on)::int", "report06"),
    m("report06-stopped-judged-like-withdrawn", TRIGGERS,
      "_JUDGED = \"c.status <> 'withdrawn' AND",
      "_JUDGED = \"c.status NOT IN ('withdrawn', 'stopped') AND", "report06"),
    m("report06-overdue-on-the-due-day", TRIGGERS,
      '_OVERDUE_FROM = "GREATEST(c.received_on, c.effective_due_on + 1)"',
      '_OVERDUE_FROM = "GREATEST(c.received_on, c.effective_due_on)"', "report06"),
    m("report06-refused-counts-as-received", TRIGGERS,
      "RECEIVED_WHERE = \"c.received_on IS NOT NULL AND c.status NOT IN ('submitted', 'refused')\"",
      "RECEIVED_WHERE = \"c.received_on IS NOT NULL AND c.status NOT IN ('submitted')\"",
      "report06"),
    # --- the handling clock -------------------------------------------------------------------
    m("clock-pause-counts-one-day-more", CLOCK,
      "paused += (day - run_start).days", "paused += (day - run_start).days + 1", "clock"),
    m("clock-waiting-run-restarts", CLOCK,
      "if waiting and run_start is None:", "if waiting:", "clock"),
    m("clock-returned-before-finished", CLOCK,
      "ended_on = local_date(current.finished_at) or local_date(current.returned_at)",
      "ended_on = local_date(current.returned_at) or local_date(current.finished_at)", "clock"),
    m("clock-waiting-keeps-due-date", CLOCK,
      "if due_on is not None and current.status not in WAITING_STATUSES:",
      "if due_on is not None:", "clock"),
    m("clock-pause-not-added", CLOCK,
      "effective_due_on = due_on + dt.timedelta(days=paused)", "effective_due_on = due_on",
      "clock"),
    m("clock-ending-run-not-final", CLOCK,
      "        if snapshot.status not in ENDING_STATUSES:\n            break",
      "        if snapshot.status not in ENDING_STATUSES:\n            continue", "clock"),
    m("clock-stopped-not-ending", "app/vocabulary.py",
      'ENDING_STATUSES = frozenset({"finished", "returned", "withdrawn", "stopped"})',
      'ENDING_STATUSES = frozenset({"finished", "returned", "withdrawn"})', "clock"),
    m("clock-fees-due-not-waiting", "app/vocabulary.py",
      'WAITING_STATUSES = frozenset({"supplement_requested", "fees_due"})',
      'WAITING_STATUSES = frozenset({"supplement_requested"})', "clock"),
    # --- ingest: canonical form, idempotency, newest wins, bound keys -------------------------
    m("ingest-due-at-not-normalised", INGEST,
      '_TIMESTAMP_FIELDS = ("submitted_at", "received_at", "due_at", "finished_at", "returned_at")',
      '_TIMESTAMP_FIELDS = ("submitted_at", "received_at", "finished_at", "returned_at")',
      "ingest"),
    m("ingest-occurred-at-not-normalised", INGEST,
      'content["occurred_at"] = content["occurred_at"].astimezone(dt.UTC)',
      'content["occurred_at"] = content["occurred_at"]', "ingest"),
    m("ingest-equal-occurred-at-first-wins", INGEST,
      "if stored_at is None or c.event.occurred_at >= stored_at:",
      "if stored_at is None or c.event.occurred_at > stored_at:", "ingest"),
    m("ingest-in-request-conflict-is-duplicate", INGEST,
      "elif seen.content_hash == c.content_hash:", "elif seen.event.event_id == c.event.event_id:",
      "ingest"),
    m("ingest-logged-conflict-is-duplicate", INGEST,
      "elif stored_hash == c.content_hash:", "elif stored_hash is not None:", "ingest"),
    m("ingest-bound-key-moves-others-dossier", INGEST,
      "outside = {code for code, state in stored.items() if state.unit_code not in allowed}",
      "outside: set[str] = set()", "ingest"),
    m("ingest-future-tolerance-a-week", INGEST,
      "FUTURE_TOLERANCE = dt.timedelta(days=1)", "FUTURE_TOLERANCE = dt.timedelta(days=7)",
      "ingest"),
    # --- the national mapping -----------------------------------------------------------------
    m("national-status-7-8-swapped", NATIONAL,
      "STATUS_BY_CODE: dict[int, str] = dict(enumerate(STATUSES, start=1))",
      "STATUS_BY_CODE: dict[int, str] = {**dict(enumerate(STATUSES, start=1)),"
      ' 7: "stopped", 8: "withdrawn"}', "national"),
    m("national-channel-codes-from-0", NATIONAL,
      "CHANNEL_BY_CODE: dict[int, str] = dict(enumerate(CHANNELS, start=1))",
      "CHANNEL_BY_CODE: dict[int, str] = dict(enumerate(CHANNELS))", "national"),
    m("national-absent-channel-online", NATIONAL,
      'default="in_person",\n        alias="KenhThucHien",',
      'default="online",\n        alias="KenhThucHien",', "national"),
    m("national-dates-in-utc", NATIONAL,
      "return local.replace(tzinfo=REPORT_TIMEZONE)", "return local.replace(tzinfo=dt.UTC)",
      "national"),
    m("national-unit-bound-on-raw-donvixuly", NATIONAL_SERVICE,
      "if allowed is not None and unit_code not in allowed:",
      "if allowed is not None and record.handling_unit not in allowed:", "national"),
    m("national-ambiguous-name-picks-one", NATIONAL_SERVICE,
      "if len(named) == 1:", "if len(named) >= 1:", "national"),
    m("national-no-sender-agency-fallback", NATIONAL_SERVICE,
      "resolver = cls(codes, agencies, agencies.get(sender_agency) if sender_agency else None)",
      "resolver = cls(codes, agencies, None)", "national"),
    m("national-no-level-is-default-not-catalog", NATIONAL_SERVICE,
      "level = record.service_level or levels.get(record.procedure_code, DEFAULT_LEVEL)",
      "level = record.service_level or DEFAULT_LEVEL", "national"),
    # --- auth ---------------------------------------------------------------------------------
    m("auth-put-procedure-needs-read", "app/catalog/endpoints.py",
      "code: CodePath, body: ProcedureIn, session: SessionDep, _: AdminKey,",
      "code: CodePath, body: ProcedureIn, session: SessionDep, _: ReadKey,", "auth"),
    m("auth-any-scope-passes", "app/keys/dependencies.py",
      "if scope not in principal.scopes:", "if not principal.scopes:", "auth"),
    m("auth-read-is-ingest", "app/keys/dependencies.py",
      'ReadKey = Annotated[Principal, Depends(require_scope("read"))]',
      'ReadKey = Annotated[Principal, Depends(require_scope("ingest"))]', "auth"),
    m("auth-revoked-key-works", "app/keys/repository.py",
      " WHERE key_hash = :key_hash AND revoked_at IS NULL", " WHERE key_hash = :key_hash", "auth"),
    m("auth-unknown-scope-accepted", "app/keys/service.py",
      "if unknown or not scopes:", "if not scopes:", "auth"),
    m("auth-source-is-always-name", "app/keys/service.py",
      "source=source or name,", "source=name,", "auth"),
    # --- limits -------------------------------------------------------------------------------
    m("limits-declared-length-at-limit-refused", LIMITS,
      "int(declared) > self.max_bytes:", "int(declared) >= self.max_bytes:", "limits"),
    m("limits-streamed-length-at-limit-refused", LIMITS,
      "if received > self.max_bytes:", "if received >= self.max_bytes:", "limits"),
    m("limits-values-at-cap-refused", LIMITS,
      "return exact.feed(chunk) > self.max_values", "return exact.feed(chunk) >= self.max_values",
      "limits"),
    m("limits-objects-not-counted", LIMITS,
      'self.values += outside.count(b",") + outside.count(b"[") + outside.count(b"{")',
      'self.values += outside.count(b",") + outside.count(b"[")', "limits"),
    m("limits-split-escape-forgotten", LIMITS,
      "self._escaped = end < len(chunk)", "self._escaped = False", "limits"),
    m("limits-header-count-at-limit-refused", LIMITS,
      "if len(headers) > self.max_count or size > self.max_bytes:",
      "if len(headers) >= self.max_count or size > self.max_bytes:", "limits"),
    m("limits-duplicate-authorization-allowed", LIMITS,
      '_SINGLE_HEADERS = (b"authorization",)', "_SINGLE_HEADERS: tuple[bytes, ...] = ()",
      "limits"),
    # --- exports ------------------------------------------------------------------------------
    m("exports-csv-joined-without-quoting", EXPORTS,
      "        writer.writerow([csv_text(row.get(c)) for c in columns])",
      '        out.write(",".join(csv_text(row.get(c)) for c in columns) + "\\r\\n")', "exports"),
    m("exports-at-sign-not-a-formula", EXPORTS,
      'FORMULA_STARTS = ("=", "+", "-", "@")', 'FORMULA_STARTS = ("=", "+", "-")', "exports"),
    m("exports-numbers-prefixed", EXPORTS,
      "    return str(value)\n\n\n# Excel reads", "    return csv_text(str(value))\n\n\n# Excel reads",
      "exports"),
    m("exports-vertical-tab-kept", EXPORTS,
      r'_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")',
      r'_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0e-\x1f\ufffe\uffff]")', "exports"),
    m("exports-none-written-as-text", EXPORTS,
      '    if value is None:\n        return ""', '    if value is None:\n        return "None"',
      "exports"),
]  # fmt: skip


def _checkout_files() -> list[str]:
    """The files of this checkout as it is now: tracked, and untracked but not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def _copy_tree(target: Path) -> None:
    for name in _checkout_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)


def _environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)  # the copy's `app`, not the editable install's
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no stale bytecode when a mutant keeps the file size
    env.setdefault("DATA_DIR", str(ROOT / ".data"))  # the checkout's embedded PostgreSQL
    env.setdefault("TEST_DATABASE", "dossier_stats_mutants")
    return env


def _pytest(copy: Path, tests: list[str], env: dict[str, str]) -> tuple[str, float, str]:
    """Run the tests in the copy: ("passed" | "failed" | "timeout", seconds, last lines)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-cov",
        *tests,
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, ""
    tail = "\n".join(done.stdout.decode(errors="replace").strip().splitlines()[-3:])
    return ("passed" if done.returncode == 0 else "failed"), time.monotonic() - started, tail


@dataclass
class Outcome:
    id: str
    group: str
    path: str
    result: str  # killed | survived | timeout
    seconds: float
    tail: str


def _select(only: list[str]) -> list[Mutant]:
    if not only:
        return MUTANTS
    return [x for x in MUTANTS if any(p in x.id or p == x.group for p in only)]


def _check_snippets(mutants: list[Mutant]) -> None:
    for mutant in mutants:
        found = (ROOT / mutant.path).read_text(encoding="utf-8").count(mutant.original)
        if found != 1:
            raise SystemExit(
                f"{mutant.id}: the original snippet is found {found} times in {mutant.path}"
            )


def main(argv: list[str] | None = None) -> int:
    """Run the selected mutants and print the kill rate; exit 1 when a mutant survives."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.mutants", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATTERN",
        help="mutants whose id contains PATTERN, or a group name (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="first run each selected group's tests unmutated (they must pass)",
    )
    parser.add_argument(
        "--tests",
        action="append",
        default=[],
        metavar="PATH",
        help="run these test files instead of each mutant's group (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    args = parser.parse_args(argv)  # fmt: skip

    mutants = _select(args.only)
    _check_snippets(mutants)
    if args.list:
        for mutant in mutants:
            print(f"{mutant.group:9} {mutant.id:45} {mutant.path}")
        print(f"{len(mutants)} mutants")
        return 0
    if not mutants:
        raise SystemExit("no mutant matches")

    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="dossier-stats-mutants-") as tmp:
        copy = Path(tmp)
        _copy_tree(copy)
        env = _environment(copy)
        if args.baseline:
            for group in sorted({x.group for x in mutants}):
                result, seconds, tail = _pytest(copy, args.tests or GROUPS[group], env)
                print(f"baseline {group}: {result} in {seconds:.0f} s", flush=True)
                if result != "passed":
                    print(tail)
                    return 2
        for n, mutant in enumerate(mutants, 1):
            target = copy / mutant.path
            original = target.read_text(encoding="utf-8")
            target.write_text(original.replace(mutant.original, mutant.replacement), "utf-8")
            try:
                result, seconds, tail = _pytest(copy, args.tests or GROUPS[mutant.group], env)
            finally:
                target.write_text(original, encoding="utf-8")
            verdict = {"failed": "killed", "passed": "survived"}.get(result, result)
            outcomes.append(Outcome(mutant.id, mutant.group, mutant.path, verdict, seconds, tail))
            print(f"[{n}/{len(mutants)}] {verdict:8} {seconds:5.0f} s  {mutant.id}", flush=True)
            if verdict == "killed" and args.tests:
                print("    " + tail.replace("\n", "\n    "), flush=True)

    killed = sum(o.result in ("killed", "timeout") for o in outcomes)
    survivors = [o for o in outcomes if o.result == "survived"]
    print(f"killed {killed} of {len(outcomes)} ({100 * killed / len(outcomes):.1f}%)")
    for o in survivors:
        print(f"survived: {o.id} ({o.path})")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "killed": killed,
                    "total": len(outcomes),
                    "outcomes": [asdict(o) for o in outcomes],
                },
                indent=1,
            )
        )
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
