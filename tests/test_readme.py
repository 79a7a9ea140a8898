"""README.md as a new user follows it: every `track ...` command it shows parses with the command's own parser and
its `--set` overrides load, every option its prose names exists, every tool and file it names is in the checkout,
and its Python API snippet runs as written on a scripted detector.

Nothing here runs a model: commands are parsed, not executed (the commands themselves are exercised in
test_cli.py, test_eval.py and test_batch.py)."""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

from tracker import Tracker, TrackerConfig, load_config
from tracker.cli import _batch_parser, _parser
from tracker.cli_gallery import gallery_parser
from tracker.eval.cli import command_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The pages README.md links for the measurements behind it (docs/speed.md, docs/speed-log.md, docs/decisions.md):
# held to the same checks
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
ALL_TEXT = "\n".join([README, *DOCS.values()])
# The reference pages README.md's sections moved to (each linked from its heading's summary): what a user follows
GUIDE_PAGES = (
    "cli.md",
    "configuration.md",
    "gallery.md",
    "evaluation.md",
    "batch.md",
    "camera-motion.md",
    "benchmarks.md",
    "results.md",
)
GUIDE = "\n".join([README, *(DOCS[page] for page in GUIDE_PAGES)])


def fenced_blocks(text: str, language: str) -> list[str]:
    """The bodies of the ```language blocks, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def shell_commands(text: str) -> list[list[str]]:
    """Each command line of the ```bash blocks as argv: continuation lines joined, comments cut, `$NAME` of an
    assignment made earlier in the README (`W="--set ..."`) expanded, `&&`-chains split."""
    variables: dict[str, str] = {}
    commands = []
    for block in fenced_blocks(text, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if len(words) == 1 and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                name, value = words[0].split("=", 1)
                variables[name] = value
                continue
            words = shlex.split(re.sub(r"\$(\w+)", lambda m: variables.get(m[1], m[0]), line), comments=True)
            command: list[str] = []
            for word in [*words, "&&"]:
                if word == "&&":
                    if command:
                        commands.append(command)
                    command = []
                else:
                    command.append(word)
    return commands


def track_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser `track ARGV` is read with (the subcommand's), and the arguments left for it."""
    head = argv[0] if argv else ""
    if head == "gallery":
        return gallery_parser(), argv[1:]
    if head == "batch":
        return _batch_parser(), argv[1:]
    if head in ("eval", "compare"):
        return command_parser(compare=head == "compare"), argv[1:]
    return _parser(), argv


def test_shell_commands_are_read_as_a_user_types_them():
    text = 'x\n```bash\nW="--set a.b=1"\ntrack v.mp4 $W \\\n    --fps 5   # a comment\nmake demo && track x\n```\n'
    expected = [["track", "v.mp4", "--set", "a.b=1", "--fps", "5"], ["make", "demo"], ["track", "x"]]
    assert shell_commands(text) == expected


def test_every_track_command_of_the_readme_parses_and_its_overrides_load():
    """What the README shows is what `track` accepts: the option names, subcommands and values of each command line,
    and every `--set KEY=VALUE` it gives is a config key with a valid value (parsed, not run)."""
    commands = [c[1:] for c in shell_commands(GUIDE) if c[0] == "track"]
    assert len(commands) >= 25, "the README's track commands were not found"
    for argv in commands:
        parser, rest = track_parser(argv)
        try:
            args = parser.parse_args(rest)
        except SystemExit:
            pytest.fail(f"the README's `track {shlex.join(argv)}` does not parse")
        load_config(getattr(args, "config", None), overrides=getattr(args, "set", []) or [])


def test_every_option_the_readme_prose_gives_a_track_command_exists():
    """Inline spans such as `track video.mp4 --resume` or `track eval --engine ray`: each option is one of that
    (sub)command's options."""
    spans = re.findall(r"`track ([^`]*--[^`]*)`", ALL_TEXT)
    assert spans
    for span in spans:
        parser, rest = track_parser(shlex.split(span))
        known = parser._option_string_actions  # every option string, also of mutually exclusive pairs
        unknown = [w.split("=")[0] for w in rest if w.startswith("--") and w.split("=")[0] not in known]
        assert not unknown, f"`track {span}`: {unknown} are no options of {parser.prog}"


def test_the_track_options_table_spells_each_option_as_track_help_does():
    """Each row of the `track` options table (`--config FILE`, `--classes ID ...`) names the option and its argument
    as `track --help` prints them: the table said `--config FILE`, `--out DIR`, `--device DEV`, the help `--config
    CONFIG`, `--out OUT`, `--device DEVICE`, so a new user comparing the two saw two different commands."""
    section = DOCS["cli.md"][: DOCS["cli.md"].index("### Frame rate")]
    cells = re.findall(r"^\| (`-[^|]*?) \|", section, flags=re.MULTILINE)
    spellings = [s for cell in cells for span in re.findall(r"`(-[^`]*)`", cell) for s in span.split(" / ")]
    assert len(spellings) >= 15, "the README's track options table was not found"
    shown = " ".join(_parser().format_help().split())
    for spelling in spellings:
        written = spelling.removesuffix(" ...")  # `--classes ID ...`: nargs="+" prints `--classes ID [ID ...]`
        assert re.search(rf"[\[ ]{re.escape(written)}[\],| ]", shown), f"README `{spelling}`, track --help: {shown}"


def test_the_options_track_batch_shares_with_track_are_spelled_alike():
    """`track batch --help` said `--config CONFIG` and `--device DEVICE` where `track --help` (and the README's table)
    say `--config FILE` and `--device DEV`: an option both commands take names its argument the same way."""
    ours, batch = _parser(), _batch_parser()
    shared = set(ours._option_string_actions) & set(batch._option_string_actions)
    assert {"--config", "--device", "--gallery", "--set", "--max-frames"} <= shared
    differ = [o for o in shared if ours._option_string_actions[o].metavar != batch._option_string_actions[o].metavar]
    assert sorted(differ) == ["--out"], differ  # (--out: track's run folder DIR, the batch's folder OUT of OUT/<name>/)


@pytest.mark.parametrize("compare", [False, True], ids=["eval", "compare"])
def test_the_options_track_eval_and_compare_share_with_track_are_spelled_alike(compare):
    """`track eval --help` said `--config CONFIG`, `--out OUT`, `--workers WORKERS` and `--cache-dir CACHE_DIR` where
    `track` and `track batch` say `--config FILE`, `--out DIR`, `--workers N`: the same option, the same word."""
    ours, batch, evaluation = _parser(), _batch_parser(), command_parser(compare)
    spelled = {o: a.metavar for p in (batch, ours) for o, a in p._option_string_actions.items() if a.metavar}
    shared = set(spelled) & set(evaluation._option_string_actions)
    assert {"--config", "--set", "--out", "--workers"} <= shared
    differ = {o: evaluation._option_string_actions[o].metavar for o in shared}
    assert {o: m for o, m in differ.items() if m != spelled[o]} == {}, differ
    unnamed = [a.dest for a in evaluation._actions if a.nargs != 0 and a.metavar is None and a.choices is None]
    assert unnamed == ["help"] or unnamed == [], f"options whose argument argparse names after the option: {unnamed}"


def every_parser() -> dict[str, argparse.ArgumentParser]:
    """Each command a user can ask `--help` of: `track`, `track batch`, `track eval`, `track compare` and each
    `track gallery` subcommand, by the words that call it."""
    parsers = {"track": _parser(), "track batch": _batch_parser()}
    parsers |= {f"track {name}": command_parser(compare=name == "compare") for name in ("eval", "compare")}
    (commands,) = [a for a in gallery_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return parsers | {f"track gallery {name}": sub for name, sub in commands.choices.items()}


def shown_default(action: argparse.Action) -> str:
    """How a help line writes `action`'s default: `on` for a flag on by default, `all` for every choice, a number
    as `%g` writes it (60, not 60.0), else the value itself."""
    default = action.default
    if default is True:
        return "on"
    if isinstance(default, list):
        return "all" if action.choices is not None and default == list(action.choices) else ", ".join(default)
    return f"{default:g}" if isinstance(default, float) else str(default)


def defaults_not_stated(parsers: dict[str, argparse.ArgumentParser]) -> list[str]:
    """Each option of `parsers` ({command: parser}) whose default is something (not off, not unset; `--set`'s empty
    list is no default) and whose help line does not state that value: `default VALUE`, `default: VALUE`, or a
    line opening with VALUE's own words and saying `(... the default)` (`local processes (the default) or ...`)."""
    silent = []
    for command, parser in parsers.items():
        for action in parser._actions:
            if not action.option_strings or action.default in (None, False, [], argparse.SUPPRESS):
                continue
            value, text = re.escape(shown_default(action)), action.help or ""
            if not re.search(rf"\bdefault:? {value}(?![\w.])", text) and not re.match(
                rf"{value}\b[^()]*\([^)]*\bthe default\)", text
            ):
                silent.append(f"{command} {'/'.join(action.option_strings)} (default {action.default!r}): {text}")
    return silent


def test_every_option_with_a_default_states_its_value_in_help():
    """`track --help` said "--save-video, --no-save-video  annotated mp4", `track batch --help` "--engine
    {local,ray}  local processes or Ray tasks", `track eval --help` "--split {train,val-half}  whole sequences, or
    val-half ..." and "--engine {process,ray}  process pool ...": a new user could not tell which they get without
    the option. Each option whose default is something names that value in its help line."""
    assert not defaults_not_stated(every_parser()), defaults_not_stated(every_parser())


def test_a_help_line_stating_another_value_than_the_default_is_caught():
    """The check above looked for the word "default" only: a help line saying another value than the option's
    default (a default changed, its help left) passed it."""
    parser = argparse.ArgumentParser(prog="track x")
    parser.add_argument("--engine", choices=["local", "ray"], default="local", help="Ray tasks (the default) or local")
    parser.add_argument("--every", type=float, default=60.0, help="how often (default 30)")
    parser.add_argument("--out", default="runs/x", help="the folder (default runs/x)")
    parser.add_argument("--video", action=argparse.BooleanOptionalAction, default=True, help="write it (default: on)")
    assert [line.split(" (")[0] for line in defaults_not_stated({"track x": parser})] == [
        "track x --engine",
        "track x --every",
    ]


def test_every_command_says_what_it_does_in_its_help():
    """`track gallery rm --help` and `track gallery prune --help` printed their arguments only: nothing said that rm
    of an ID the gallery lacks removes none of them, or which identities prune removes. Each command's --help opens
    with a description."""
    undescribed = [command for command, parser in every_parser().items() if not parser.description]
    assert not undescribed, undescribed


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_every_make_target_the_makefile_declares_or_the_readme_names_runs_a_recipe():
    """`make lint` was declared phony without a rule: make said "Nothing to be done for 'lint'" and checked nothing,
    which reads as a clean lint. Each target (dry run, the venv taken as installed) has commands, and `make lint`,
    which `make test` runs first, checks both the lint rules and the formatting."""
    makefile = (ROOT / "Makefile").read_text()
    (phony,) = re.findall(r"^\.PHONY:(.*)$", makefile, flags=re.MULTILINE)
    named = re.findall(r"`make (\w+)`|^make (\w+)", GUIDE, flags=re.MULTILINE)
    targets = set(phony.split()) | {a or b for a, b in named}
    assert {"demo", "test", "lint", "bench", "clean"} <= targets

    def dry_run(target: str) -> list[str]:
        """The commands `make TARGET` runs, the venv's installation left out (-W: as if pyproject.toml changed)."""
        command = ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", target]
        lines = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.splitlines()
        return [line for line in lines if line not in installing or target == "install"]

    installing: list[str] = []
    installing = dry_run("install")
    assert any("pip install" in line for line in installing), installing
    empty = [t for t in sorted(targets) if not dry_run(t) or any("Nothing to be done" in x for x in dry_run(t))]
    assert not empty, f"make targets without commands: {empty}"
    lint = dry_run("lint")
    assert any(line.endswith("-m ruff check .") for line in lint), lint
    assert any(line.endswith("-m ruff format --check .") for line in lint), lint
    assert set(lint) <= set(dry_run("test")), "make test does not run make lint's checks"


def test_every_tool_and_repository_file_the_readme_names_exists():
    """A script the README tells you to run is in tools/; no command points outside the checkout (a path of the
    machine the figures were measured on, such as /work/..., is nowhere for a new user)."""
    assert len(set(re.findall(r"\btools/([\w.]+\.(?:py|sh))\b", GUIDE))) >= 20
    named = set(re.findall(r"\btools/([\w.]+\.(?:py|sh))\b", ALL_TEXT))
    assert not sorted(n for n in named if not (ROOT / "tools" / n).exists())
    assert not re.findall(r"[\s`(]/work/\S*", ALL_TEXT)
    modules = set(re.findall(r"`(tracker/[\w/]+\.py)`", ALL_TEXT))
    assert modules and not sorted(m for m in modules if not (ROOT / m).exists())


def test_the_package_ships_the_type_marker_the_readme_promises():
    """The README tells an application's type checker reads the package's annotations (PEP 561): that holds only while
    `tracker/py.typed` exists and pyproject's package data puts it in the wheel (mypy treats an installed package
    without it as untyped: every `Tracker` an `Any`)."""
    assert "`py.typed` (PEP 561)" in GUIDE
    assert (ROOT / "tracker" / "py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["tracker"]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_readme_and_its_pages_resolves():
    """Each `[...](#anchor)` of the README is one of its headings, each `[...](docs/page.md)` a page in the checkout,
    each page's `[...](../README.md#anchor)` a heading of the README and its `[...](page.md)` another page: a
    section moved or renamed leaves no link going nowhere."""
    anchors = {github_anchor(h) for h in re.findall(r"^#+ (.*)$", README, flags=re.MULTILINE)}
    own = re.findall(r"\]\(#([\w-]+)\)", README)
    pages = re.findall(r"\]\((docs/[\w.-]+)\)", README)
    back = [a for text in DOCS.values() for a in re.findall(r"\]\(\.\./README\.md#([\w-]+)\)", text)]
    between = [page for text in DOCS.values() for page in re.findall(r"\]\(([\w-]+\.md)\)", text)]
    assert own and pages and back and set(DOCS) == {Path(p).name for p in pages}
    assert not sorted({*own, *back} - anchors)
    assert not sorted(p for p in pages if not (ROOT / p).exists())
    assert not sorted(set(between) - set(DOCS))


def page_anchors(text: str) -> set[str]:
    """The anchors of a page's headings as GitHub makes them, outside fenced blocks (a repeated heading's `-1`, ...)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.*)$", re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL), re.M):
        anchor = github_anchor(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading))  # a link in it: its text
        anchors.add(f"{anchor}-{seen[anchor]}" if anchor in seen else anchor)
        seen[anchor] = seen.get(anchor, 0) + 1
    return anchors


def test_every_anchor_into_a_page_is_one_of_its_headings():
    """The README's `[...](docs/speed-log.md#stop-48-...)` and a page's `[...](#anchor)` or `[...](other.md#anchor)`
    name a heading of that page (the link test above checks the README's own anchors and the pages' links back):
    a heading of docs/speed-log.md or docs/decisions.md reworded leaves no README link landing at the top of the
    page."""
    pages = {f"docs/{name}": text for name, text in DOCS.items()}
    links = [(page, anchor) for page, anchor in re.findall(r"\]\((docs/[\w.-]+\.md)#([\w-]+)\)", README)]
    for name, text in DOCS.items():
        links += [(f"docs/{name}", anchor) for anchor in re.findall(r"\]\(#([\w-]+)\)", text)]
        links += [(f"docs/{page}", anchor) for page, anchor in re.findall(r"\]\(([\w-]+\.md)#([\w-]+)\)", text)]
    assert len(links) >= 15, "the anchors into docs/ were not found"
    missing = [f"{page}#{anchor}" for page, anchor in links if anchor not in page_anchors(pages.get(page, ""))]
    assert not missing, f"anchors that are no heading of their page: {missing}"


def config_key_names() -> set[str]:
    """Every key `load_config` takes: `section.key` for the sections' fields, the bare name for a top-level one."""
    config = TrackerConfig()
    keys = set()
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            keys |= {f"{field.name}.{f.name}" for f in dataclasses.fields(value)}
        else:
            keys.add(field.name)
    return keys


def contents_wrong(page: str, keys: set[str]) -> list[str]:
    """What is wrong with the Contents of a page of decisions (docs/decisions.md) against the config's `keys`: a topic
    (`##`) or decision (`###`) heading after it that it does not link, a link it holds to no such heading, a key it
    names that the config lacks, or a key it strikes through (~~`key`~~: tried and removed) that the config has."""
    start = page.index("\n## Contents\n")
    end = page.index("\n## ", start + 1)
    contents, body = page[start:end], page[end:]
    headings = page_anchors("\n".join(re.findall(r"^#{2,3} .*$", body, flags=re.MULTILINE)))
    linked = re.findall(r"\]\(#([\w-]+)\)", contents)
    wrong = [f"heading #{a} is not in the Contents" for a in sorted(headings - set(linked))]
    wrong += [f"the Contents' #{a} is no topic or decision heading" for a in linked if a not in headings]
    struck = re.findall(r"~~`([\w.]+)`~~", contents)
    named = re.findall(r"(?<!~)`([\w.]+)`(?!~)", re.sub(r"\[[^\]]*\]\([^)]*\)", "", contents))  # keys, not titles
    wrong += [f"`{k}` is no config key" for k in named if k not in keys]
    wrong += [f"~~`{k}`~~ is struck through but a config key" for k in struck if k in keys]
    return wrong


def test_the_decisions_page_lists_every_decision_and_the_keys_it_decides():
    """docs/decisions.md was one 98 KB page, a list of 58 bullets and 13 sections in the order they were written: a
    contributor asking why `association.reid_around_view` is on, or whether a rule was tried, could not find it. Its
    Contents links every topic and decision heading of the page (a decision appended without an entry is found by
    nobody) and names the keys each decides; a key renamed or removed since leaves no entry naming what `load_config`
    refuses, and a key struck through (tried and removed, "Not in") is no key of the config."""
    page = DOCS["decisions.md"]
    assert len(re.findall(r"^### ", page, flags=re.MULTILINE)) >= 70, "the page's decisions were not found"
    assert not contents_wrong(page, config_key_names()), contents_wrong(page, config_key_names())
    assert "`association.reid_around_view`" in page[: page.index("\n## ", page.index("## Contents") + 1)]


def test_a_decision_missing_from_the_contents_or_a_stale_key_is_caught():
    """The check above on a small page: a decision heading the Contents lacks, a link to no heading, a key the config
    lacks and a struck-through key the config has are each reported."""
    page = (
        "# D\n\n## Contents\n\n- **[Motion](#motion)**\n"
        "  - [A](#a): `motion.gate_chi2`, ~~`motion.noise_uncut_only`~~\n"
        "  - [Gone](#gone): `motion.no_such_key`, ~~`motion.std_position`~~\n\n## Motion\n\n### A\n\ntext\n\n### B\n"
    )
    assert contents_wrong(page, config_key_names()) == [
        "heading #b is not in the Contents",
        "the Contents' #gone is no topic or decision heading",
        "`motion.no_such_key` is no config key",
        "~~`motion.std_position`~~ is struck through but a config key",
    ]


# docs/speed.md's most bytes, the target when its 287 KB of stops went to docs/speed-log.md (stop 72): a page, no log
SPEED_PAGE_MOST_BYTES = 40_000


def test_the_speed_page_keeps_the_current_state_and_quotes_its_figures_from_the_log():
    """README's Speed link lands on docs/speed.md: the current figures, the levers, what is open. A stop's
    measurements are appended to docs/speed-log.md (the rule at its top), so a `## Stop N` section on the page, or the
    page grown back into a log, fails here; so does a figure on the page (a decimal, or a range of two) that the log
    does not hold: a range rounded again, or a figure made up."""
    page, log = DOCS["speed.md"], DOCS["speed-log.md"]
    stops = re.findall(r"^#+ Stop \d+.*$", page, flags=re.MULTILINE)
    assert not stops, f"docs/speed.md keeps the current state; append these to docs/speed-log.md: {stops}"
    assert len(page.encode()) <= SPEED_PAGE_MOST_BYTES, "docs/speed.md grew into a log: move stops to docs/speed-log.md"
    figures = set(re.findall(r"\d+\.\d+(?:-\d+\.\d+)?", re.sub(r"\]\([^)]*\)", "]", page)))  # links hold none
    assert len(figures) >= 100, "the page's figures were not found"
    # (a whole figure of the log: as a substring, 0.33-0.5 was "held" by the log's 0.33-0.52, a range rounded again)
    unquoted = sorted(f for f in figures if not re.search(rf"(?<![\d.]){re.escape(f)}(?![\d]|\.\d)", log))
    assert not unquoted, f"figures on docs/speed.md that docs/speed-log.md does not hold: {unquoted}"


def test_the_layout_lists_every_module_and_tool():
    """The Layout section names each module of tracker/ (and each sub-package) and each script of tools/."""
    layout = README[README.index("## Layout") :]
    words = set(re.findall(r"[\w]+", layout))
    modules = [p.stem for p in (ROOT / "tracker").glob("*.py") if p.stem != "__init__"]
    packages = [p.name for p in (ROOT / "tracker").iterdir() if (p / "__init__.py").exists()]
    tools = [p.stem for p in (ROOT / "tools").iterdir() if p.suffix in (".py", ".sh")]
    assert not sorted(m for m in [*modules, *packages, *tools] if m not in words)


def test_the_python_api_snippet_runs_as_written():
    """The `update_detections` snippet of the Python API section, run with the names it leaves to the reader: a
    scripted detector's boxes, a ReID callback and a known camera motion."""
    (snippet,) = [b for b in fenced_blocks(GUIDE, "python") if "update_detections" in b]
    height, width = 480, 640
    frame = np.zeros((height, width, 3), np.uint8)
    boxes_xyxy = np.array([[100.0, 100.0, 150.0, 250.0], [400.0, 120.0, 450.0, 260.0]])
    scores = np.array([0.9, 0.8])

    def my_reid(frame: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        return np.eye(len(boxes), 8, dtype=np.float32) + 0.1

    names = {"Tracker": Tracker, "load_config": load_config, "np": np, "frame": frame, "height": height}
    names |= {"width": width, "boxes_xyxy": boxes_xyxy, "scores": scores, "my_reid": my_reid}
    names["A"] = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    exec(compile(snippet, "README.md", "exec"), names)
    tracker, tracks = names["tracker"], names["tracks"]
    assert tracker.config.appearance.bank_capacity == 50
    assert [t.track_id for t in tracks] == [1, 2] and [t.detection_index for t in tracks] == [0, 1]


@pytest.mark.parametrize(("declared", "used"), [(25.0, 25.0), (0.0, None), (90000.0, None)])
def test_the_quick_start_snippet_passes_a_plausible_frame_rate(monkeypatch, declared, used):
    """The quick-start's `frame_rate=cap.get(cv2.CAP_PROP_FPS) or None` passed the 90000 frames/s OpenCV reads for
    many RTSP streams, which `Tracker` refuses ("at most 1000 frames/s"); the snippet now passes a declared rate
    outside the config's plausible range as None (the config's frame_rate), as `track` does (`choose_frame_rate`)."""
    import sys
    import types

    (snippet,) = [b for b in fenced_blocks(GUIDE, "python") if "cv2.VideoCapture" in b]
    capture = types.SimpleNamespace(get=lambda _prop: declared, read=lambda: (False, None), isOpened=lambda: True)
    fake_cv2 = types.SimpleNamespace(VideoCapture=lambda _source: capture, CAP_PROP_FPS=5)
    monkeypatch.setitem(sys.modules, "cv2", fake_cv2)
    given = {}
    monkeypatch.setattr(
        Tracker, "from_config", classmethod(lambda _cls, cfg, frame_rate: given.update(rate=frame_rate))
    )
    exec(compile(snippet, "README.md", "exec"), {})
    assert given == {"rate": used}


def test_the_quick_start_snippet_says_when_its_video_does_not_open(monkeypatch):
    """A user's first run with a wrong path: OpenCV's capture reads no frame and raises nothing, so the snippet
    loaded the models and ended printing nothing at all. It now stops at once naming the video, before any model."""
    import sys
    import types

    (snippet,) = [b for b in fenced_blocks(GUIDE, "python") if "cv2.VideoCapture" in b]
    capture = types.SimpleNamespace(get=lambda _prop: 0.0, read=lambda: (False, None), isOpened=lambda: False)
    monkeypatch.setitem(sys.modules, "cv2", types.SimpleNamespace(VideoCapture=lambda _source: capture, CAP_PROP_FPS=5))
    monkeypatch.setattr(Tracker, "from_config", classmethod(lambda *_a, **_k: pytest.fail("models loaded")))
    with pytest.raises(SystemExit, match=r"cannot open video\.mp4"):
        exec(compile(snippet, "README.md", "exec"), {})


# Each ```python block of the README and the test that runs it, found by a line only that block has
PYTHON_BLOCKS = {
    "cv2.VideoCapture": "test_the_quick_start_snippet_passes_a_plausible_frame_rate",
    "update_detections": "test_the_python_api_snippet_runs_as_written",
    "Gallery.load": "test_the_gallery_snippet_runs_as_written",
}


def python_blocks_no_test_runs(text: str) -> list[str]:
    """What is wrong with `text`'s ```python blocks against `PYTHON_BLOCKS`: a marker in no block or in several, a
    block with no marker (no test runs it) or with several (one test runs it, another block none)."""
    blocks = fenced_blocks(text, "python")
    wrong = [f"{m!r} in {n} blocks" for m in PYTHON_BLOCKS if (n := sum(m in b for b in blocks)) != 1]
    for block in blocks:
        markers = [m for m in PYTHON_BLOCKS if m in block]
        if len(markers) != 1:
            wrong.append(f"a block with {len(markers)} markers {markers}: {block.splitlines()[0]!r}")
    return wrong


def test_every_python_block_of_the_readme_is_run_by_a_test():
    """A ```python block added to the README, or one whose marker line changed, has a test here that runs it: the
    gallery snippet was run by none, so a renamed `Gallery.load` or `reset()` would have left it wrong unseen."""
    assert not python_blocks_no_test_runs(GUIDE), python_blocks_no_test_runs(GUIDE)
    assert set(PYTHON_BLOCKS.values()) <= set(globals())


def test_a_python_block_no_test_runs_is_caught_though_another_holds_two_markers():
    """The check counted blocks and each marker's blocks: two markers in one block and a new block with none (three
    blocks, each marker in one) passed it, and no test ran the new block."""
    markers = list(PYTHON_BLOCKS)
    text = "".join(f"```python\n{body}\n```\n" for body in (f"{markers[0]}\n{markers[1]}", markers[2], "new()"))
    assert len(python_blocks_no_test_runs(text)) == 2, python_blocks_no_test_runs(text)


@pytest.mark.slow
def test_the_gallery_snippet_runs_as_written(shared_weights, tmp_path, monkeypatch):
    """The Identity gallery section's snippet, run as written in an empty folder with the weights found by name in
    $TRACKER_WEIGHTS_DIR: the first run makes `site.gallery`, the second loads it, and a tracker with other ReID
    weights refuses it, as the snippet's comment says (the default detector, yolo11n.pt, is loaded, not run)."""
    from tracker.gallery import Gallery, GalleryModelError

    (snippet,) = [b for b in fenced_blocks(GUIDE, "python") if "Gallery.load" in b]
    code = compile(snippet, "README.md", "exec")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(shared_weights))
    first: dict = {}
    exec(code, first)
    assert isinstance(first["gallery"], Gallery) and (tmp_path / "site.gallery").is_file()
    again: dict = {}
    exec(code, again)  # the file exists now: Gallery.load
    assert again["tracker"].gallery is again["gallery"] and (tmp_path / "site.gallery").is_file()
    other = snippet.replace("osnet_x0_25_msmt17.pth", "osnet_x0_25_market1501.pth")
    assert other != snippet
    with pytest.raises(GalleryModelError, match="cannot be compared"):
        exec(compile(other, "README.md", "exec"), {})


def _as_lists(value: object) -> object:
    """Tuples (the frozen config's lists) as lists, as YAML reads them."""
    return [_as_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def test_the_configuration_table_gives_each_keys_default():
    """The Configuration table's default column is the value the config gets when nothing is set (test_demo.py
    checks that the table names every key): a changed default with a stale row would mislead a user tuning it."""
    section = DOCS["configuration.md"]
    rows = re.findall(r"^\| `([\w.]+)` \| ([^|]*?) \|", section, re.MULTILINE)
    cfg = load_config(None)
    stale = []
    for key, written in rows:
        value = cfg
        for part in key.split("."):
            value = getattr(value, part)
        if _as_lists(value) != yaml.safe_load(written):
            stale.append(f"{key}: README {written}, config {value!r}")
    assert len(rows) > 100 and not stale, stale


def _summary_fields() -> tuple[str, dict[str, str]]:
    """The README's list of summary.json fields: its text, and {the field a bullet starts with: the bullet}."""
    block = GUIDE[GUIDE.index("The fields of `summary.json`") :]
    block = block[: block.index("\n\n")]
    bullets = re.split(r"\n- ", block)[1:]
    return block, {re.match(r"`([a-z_]+)`", b).group(1): b for b in bullets if b.startswith("`")}


def test_the_summary_keys_the_readme_names_are_the_ones_written():
    """The `track` outputs' list of summary.json fields names each top-level key `RunSummary.to_json` can write (with
    every optional part filled) and no other, and the fields of `measurement_noise` and `report_width` (it said
    'pass' for the whiteness test's field, which is `white_x` ...)."""
    from tracker.run_summary import RunSummary
    from tracker.stream_clock import GapCount

    block, fields = _summary_fields()
    full = RunSummary(
        frames=3, frame_rate=30.0, corrupt_numbers=[2], size_changes=1, invalid_embeddings=1, ended_early=2,
        expected_frames=3, camera_motion_estimates=2, gaps=[(1, 0.5)], birth_shapes={0: [0.3, 0.5, 4.0]},
        per_source={"a": {}}, births_per_source={"a": {}}, still={"bound": 1.0}, still_per_source={"a": {"b": 1.0}},
        measurement_noise={"updates": 1.0}, noise_per_source={"a": {"u": 1.0}}, report_width={"weight": 0.0},
        report_width_per_source={"a": {"w": 0.0}}, global_ids_replaced={3: 1}, source="/videos/a.mp4",
        global_ids=True, gallery_saves_failed=["the gallery g could not be saved: No space left on device"],
        detector_ran_at=(640, 640), cut_short=True, time_gaps=GapCount(1, 29, 0, 1.0),
    ).to_json()  # fmt: skip
    assert not sorted(set(full) - set(re.findall(r"`([a-z_]+)`", block))), "a field summary.json has is not listed"
    assert not sorted(set(fields) - set(full)), "a bullet starts with a field summary.json never has"
    core = Tracker(load_config(None, overrides=["device=cpu"]), frame_rate=30).core
    for section, written in (("measurement_noise", core.measurement_noise.summary()), ("report_width", None)):
        written = written or core.report_width()
        said = {re.sub(r"_x$", "", name) for name in re.findall(r"`([a-z_]+)`", fields[section])} - {section}
        assert said == {re.sub(r"_[xywh]$", "", key) for key in written}, (section, sorted(said))


def test_every_config_key_the_readme_and_the_rules_page_name_exists():
    """A `section.key` span (`motion.complete_part_boxes`, `association.border_look_*`) of the README or of
    docs/rules.md is a key of the config (a `*` matching one or more): a renamed or removed key leaves no reader
    setting a name `load_config` refuses. (docs/decisions.md names removed keys on purpose: the rules not taken.)"""
    config = TrackerConfig()
    sections = [f.name for f in dataclasses.fields(config) if dataclasses.is_dataclass(getattr(config, f.name))]
    keys = [f"{s}.{f.name}" for s in sections for f in dataclasses.fields(getattr(config, s))]
    pattern = rf"`((?:{'|'.join(sections)})\.[a-z_*]+)(?:[:=][^`]*)?`"
    named = set(re.findall(pattern, GUIDE + DOCS["rules.md"])) - {"batch.json"}  # (a file name, not a key)
    assert len(named) >= 100
    assert not sorted(n for n in named if not fnmatch.filter(keys, n))


def test_the_peer_counts_the_readme_gives_are_the_peer_tables():
    """The README's "BoxMOT 25.0.0's N box trackers in M rows" and "Ultralytics' K configurations" count the peer
    tables (it said 11 trackers where its 12 rows run 9)."""
    from tracker.eval.boxmot_peers import BOXMOT_PEERS
    from tracker.eval.peers import PEERS

    said = re.findall(r"BoxMOT(?: 25\.0\.0)?'s (\d+) box trackers\s+in (\d+) rows", GUIDE)
    assert said and set(said) == {(str(len({s.name for s in BOXMOT_PEERS.values()})), str(len(BOXMOT_PEERS)))}
    configurations = set(re.findall(r"Ultralytics' (\d+) configurations", GUIDE))
    assert configurations == {str(len(PEERS))}


def test_the_gallery_summary_links_to_the_page_for_its_figures():
    """The README's gallery summary and docs/gallery.md both said "`lifecycle.max_seconds_lost` (10 s)": two copies
    of a default to keep equal. The summary names each key and links to the page that gives its value."""
    start = README.index("## Identity gallery")
    summary = README[start : README.index("\n## ", start + 1)]
    stated = re.findall(r"`([a-z_]+\.[a-z_]+)`\)?\s*\((\d[^)]*)\)", summary)
    assert not stated, f"values the README's gallery summary repeats from docs/gallery.md: {stated}"
    assert "[`lifecycle.max_seconds_lost`](docs/gallery.md)" in summary


def _other_interpreters() -> dict[tuple[int, int], str]:
    """{(major, minor): path} of the Pythons 3.x on PATH or installed by pyenv that run, this test's own version
    left out (pyenv's shims on PATH run only the versions it is set to)."""
    found: dict[tuple[int, int], str] = {}
    pyenv = sorted((Path.home() / ".pyenv" / "versions").glob("*/bin/python3.*[0-9]"))
    for path in [shutil.which(f"python3.{minor}") for minor in range(6, 20)] + [str(p) for p in pyenv]:
        minor = int(path.rsplit(".", 1)[1]) if path else 0
        if path is None or (3, minor) in found or (3, minor) == sys.version_info[:2]:
            continue
        ran = subprocess.run([path, "-c", "print(1)"], capture_output=True, text=True, timeout=30)
        if ran.returncode == 0:
            found[(3, minor)] = path
    return found


def _make(tmp_path: Path, goal: str, python: str) -> subprocess.CompletedProcess[str]:
    """`make GOAL PYTHON=python VENV=tmp_path/venv` in the checkout, offline (pip finds no index: fails fast)."""
    command = ["make", "--no-print-directory", "-C", str(ROOT), goal, f"PYTHON={python}", f"VENV={tmp_path / 'venv'}"]
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_refuses_a_python_older_than_the_package_needs_before_it_makes_the_venv(tmp_path):
    """README: `make demo PYTHON=python3.12` where `python3` is older. A `make demo` with an older python3 made .venv
    with it before pip refused the package, and venv keeps the Python an environment was made with: the README's
    `make demo PYTHON=python3.12` then reused that Python and failed alike. Now the older Python is refused first,
    with the command to give, and no venv is made."""
    older = [path for version, path in sorted(_other_interpreters().items()) if version < (3, 11)]
    if not older:
        pytest.skip("needs a Python older than 3.11 on PATH")
    made = _make(tmp_path, "demo", older[-1])
    assert made.returncode != 0
    assert not (tmp_path / "venv").exists(), made.stdout + made.stderr
    assert "the tracker needs 3.11 or newer: give make a newer one, e.g. make demo PYTHON=python3.12" in made.stderr
    needed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert needed == ">=3.11" and re.search(r"^MIN_PYTHON := 3\.11$", (ROOT / "Makefile").read_text(), re.MULTILINE)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_with_another_python_than_the_venv_was_made_with_says_to_remove_it(tmp_path):
    """A venv made by another Python (a first `make demo` with an older python3) is not remade by `python3.12 -m
    venv` (it keeps its `python` link): `make demo PYTHON=...` failed in pip with the old Python's error. Now make
    says which Python made it and to remove it, and leaves it as it was."""
    others = _other_interpreters()
    if not others:
        pytest.skip("needs a second Python 3 on PATH")
    (version, other), mine = sorted(others.items())[0], sys.executable
    subprocess.run([other, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=120)
    made = _make(tmp_path, "demo", mine)
    assert made.returncode != 0
    mine_text = "{}.{}".format(*sys.version_info[:2])
    said = f"was made with Python {version[0]}.{version[1]}, not {mine}'s Python {mine_text}"
    assert said in made.stderr and f"rm -rf {tmp_path / 'venv'}, then run make again with PYTHON={mine}" in made.stderr
    assert not (tmp_path / "venv" / "bin" / f"python{mine_text}").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("python", ["", " "], ids=["empty", "blank"])
def test_make_with_an_empty_python_says_so_and_makes_no_venv(tmp_path, python):
    """`make demo PYTHON=` (or a PYTHON exported empty, which the Makefile's `?=` keeps) left the recipe's lines
    starting with `-c` / `-m`, make's ignore-errors prefix: the version check and `-m venv` failed unseen, and make
    stopped at pip with "<venv>/bin/python: No such file or directory". Now it names the empty PYTHON first."""
    made = _make(tmp_path, "demo", python)
    assert made.returncode != 0
    assert not (tmp_path / "venv").exists(), made.stdout + made.stderr
    assert "make: PYTHON is empty: give the Python to make" in made.stderr, made.stderr
    assert "(ignored)" not in made.stderr
