"""Config fault injection: every invalid config gives one single-line `ConfigError` that names the key.

Covers YAML files and `section.key=value` overrides: wrong types, negative capacity, thresholds out of range,
NaN, unknown keys (with did-you-mean) and sections, YAML syntax errors, a top level that is not a mapping,
malformed overrides, overrides into a scalar, low_score > high_score, empty and missing files. Every key of
every section is also probed systematically from the dataclass metadata. Finally configs/default.yaml must
equal `TrackerConfig()` and carry a `#` comment on every key line.
"""

from __future__ import annotations

import logging
import math
import re
import typing
import warnings
from dataclasses import fields, is_dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

import tracker.config_build as config_build
from tracker import Tracker
from tracker.config import ConfigError, TrackerConfig, config_to_dict, config_to_yaml, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_YAML = ROOT / "configs" / "default.yaml"


def raises_config_error(key: str, call: typing.Callable[[], object], also: str | None = None) -> ConfigError:
    """`call()` raises exactly one ConfigError (no chained cause shown) whose single-line message names `key`."""
    with pytest.raises(ConfigError) as info:
        call()
    err = info.value
    message = str(err)
    assert "\n" not in message, f"multi-line message: {message!r}"
    assert key in message, f"{key!r} not named in {message!r}"
    if also is not None:
        assert also in message, f"{also!r} not in {message!r}"
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__), "chained error"
    assert isinstance(err, ValueError)  # callers catching ValueError also catch config faults
    return err


def all_keys() -> list[tuple[str, typing.Any, typing.Any]]:
    """(dotted key, type annotation, dataclass field) of every leaf key."""
    out = []

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            tp = hints[f.name]
            if is_dataclass(tp):
                walk(tp, f"{prefix}{f.name}.")
            else:
                out.append((prefix + f.name, tp, f))

    walk(TrackerConfig, "")
    return out


KEYS = all_keys()


# ------------------------------------------------------------------------------------------------ YAML files
YAML_FAULTS = {
    # bad types
    "string for int": ("appearance:\n  bank_capacity: '30'\n", "appearance.bank_capacity"),
    "float for int": ("lifecycle:\n  min_hits: 2.5\n", "lifecycle.min_hits"),
    "bool for int": ("appearance:\n  bank_capacity: true\n", "appearance.bank_capacity"),
    "int for bool": ("appearance:\n  enabled: 1\n", "appearance.enabled"),
    "string for bool": ("motion:\n  output_filtered_box: 'no'\n", "motion.output_filtered_box"),
    "list for float": ("motion:\n  std_position: [0.05]\n", "motion.std_position"),
    "mapping for float": ("association:\n  high_score: {a: 1}\n", "association.high_score"),
    "number for string": ("device: 0\n", "device"),
    "null for string": ("reid:\n  weights: null\n", "reid.weights"),
    "bad list item": ("detector:\n  classes: [0, person]\n", "detector.classes[1]"),
    "float list item": ("detector:\n  classes: [0, 1.5]\n", "detector.classes[1]"),
    "mapping for list": ("detector:\n  classes: {a: 1}\n", "detector.classes"),
    "not a choice": ("appearance:\n  aggregation: median\n", "appearance.aggregation"),
    "reid model typo": ("reid:\n  model: osnet\n", "reid.model"),
    # ranges
    "negative capacity": ("appearance:\n  bank_capacity: -5\n", "appearance.bank_capacity"),
    "zero capacity": ("appearance:\n  bank_capacity: 0\n", "appearance.bank_capacity"),
    "huge capacity": ("appearance:\n  bank_capacity: 100000000\n", "appearance.bank_capacity"),
    "zero slots": ("appearance:\n  initial_slots: 0\n", "appearance.initial_slots"),
    "high_score > 1": ("association:\n  high_score: 1.5\n", "association.high_score"),
    "confidence < 0": ("detector:\n  confidence: -0.1\n", "detector.confidence"),
    "min_score > 1": ("appearance:\n  min_score: 2\n", "appearance.min_score"),
    "occlusion > 1": ("appearance:\n  max_occlusion: 1.01\n", "appearance.max_occlusion"),
    "match_threshold < -1": ("appearance:\n  match_threshold: -1.5\n", "appearance.match_threshold"),
    "reid_threshold > 1": ("association:\n  reid_threshold: 1.2\n", "association.reid_threshold"),
    "negative frame rate": ("frame_rate: -30\n", "frame_rate"),
    "zero frame rate": ("frame_rate: 0\n", "frame_rate"),
    "negative seconds": ("lifecycle:\n  max_seconds_lost: -1\n", "lifecycle.max_seconds_lost"),
    "zero min_hits": ("lifecycle:\n  min_hits: 0\n", "lifecycle.min_hits"),
    "size ratio < 1": ("association:\n  max_size_ratio: 0.5\n", "association.max_size_ratio"),
    "negative gate": ("motion:\n  gate_chi2: -1\n", "motion.gate_chi2"),
    "tiny image": ("detector:\n  image_size: 16\n", "detector.image_size"),
    # NaN
    "NaN threshold": ("association:\n  high_score: .nan\n", "association.high_score"),
    "NaN frame rate": ("frame_rate: .nan\n", "frame_rate"),
    "NaN unbounded": ("motion:\n  gate_chi2: .nan\n", "motion.gate_chi2"),
    "NaN seconds": ("appearance:\n  refresh_seconds: .NaN\n", "appearance.refresh_seconds"),
    # relations
    "low_score > high_score": ("association:\n  low_score: 0.6\n  high_score: 0.5\n", "association.low_score"),
    # unknown keys and sections
    "typo with did-you-mean": ("appearance:\n  bank_capcity: 3\n", "did you mean 'appearance.bank_capacity'"),
    "typo in lifecycle": ("lifecycle:\n  max_second_lost: 3\n", "did you mean 'lifecycle.max_seconds_lost'"),
    "top-level typo": ("framerate: 30\n", "did you mean 'frame_rate'"),
    "section typo": ("apperance:\n  enabled: true\n", "did you mean 'appearance'"),
    "unknown section": ("tracking:\n  buffer: 30\n", "unknown config key 'tracking'"),
    "peer key name": ("lifecycle:\n  track_buffer: 30\n", "lifecycle.track_buffer"),
    "non-string key": ("1: 2\n", "unknown config key '1'"),
    # structure
    "section not a mapping": ("appearance: 5\n", "appearance"),
    "section is a list": ("motion: [1, 2]\n", "motion"),
    "top level is a list": ("- appearance\n- motion\n", "top level must be a mapping"),
    "top level is a string": ("just some text\n", "top level must be a mapping"),
    "top level is a number": ("42\n", "top level must be a mapping"),
    # syntax
    "unclosed bracket": ("detector:\n  classes: [0, 1\nmotion: {}\n", "invalid YAML"),
    "bad indentation": ("appearance:\n  enabled: true\n    bank_capacity: 3\n", "invalid YAML"),
    "tab indentation": ("appearance:\n\tenabled: true\n", "indent with spaces, not tabs"),
    "duplicate colon": ("appearance: enabled: true\n", "invalid YAML"),
    "unclosed quote": ("device: 'cpu\n", "invalid YAML"),
}


@pytest.mark.parametrize("text,key", YAML_FAULTS.values(), ids=YAML_FAULTS.keys())
def test_invalid_yaml_file_names_the_key(tmp_path, text, key):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    raises_config_error(key, lambda: load_config(path))


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("device: cpu\nframe_rate: 30\ndetector:\n  classes: [0, 1\nmotion: {}\n")
    err = raises_config_error("invalid YAML", lambda: load_config(path))
    assert str(path) in str(err)
    assert re.search(r"line \d+", str(err)), str(err)


@pytest.mark.parametrize(
    "text,twice,line",
    [
        ("association:\n  high_score: 0.3\nassociation:\n  low_score: 0.05\n", "'association'", 3),
        ("association:\n  high_score: 0.3\n  high_score: 0.2\n", "'high_score'", 3),
    ],
    ids=["section twice", "key twice"],
)
def test_a_key_given_twice_is_refused_not_silently_dropped(tmp_path, text, twice, line):
    """PyYAML keeps the last of two equal keys: a second `association:` section dropped the first one's keys."""
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    err = raises_config_error(twice, lambda: load_config(path), also="given twice")
    assert f"line {line}" in str(err) and str(path) in str(err), str(err)


@pytest.mark.parametrize(
    "text,key",
    [
        ("detector:\n  confidance: 0.2\n", "did you mean 'detector.confidence'"),
        ("detector:\n  confidence: high\n", "detector.confidence: expected a number"),
        ("association:\n  low_score: 0.6\n  high_score: 0.5\n", "association.low_score"),
        ("detector: 5\n", "detector"),
    ],
    ids=["typo", "type", "relation", "scalar section"],
)
def test_a_fault_of_the_file_names_the_file(tmp_path, text, key):
    """`track --config site.yaml --set ...` with a typo in site.yaml: the error names the file, else the user
    cannot tell whether the key came from the file or from an override; with overrides of other keys too."""
    path = tmp_path / "site.yaml"
    path.write_text(text)
    for overrides in (None, ["lifecycle.min_hits=3"], ["detector.model=x.pt"]):
        err = raises_config_error(key, lambda: load_config(path, overrides))  # noqa: B023
        assert str(err).startswith(f"{path}: "), str(err)


CONFIG_WITH_COMMENTS = """# site config
device: cpu

association:
  high_score: 0.5   # a comment
  {association}
classes:
  compatible_groups:
    - [2, 5, 7]
    - {group}
"""


@pytest.mark.parametrize(
    "association,group,line,named",
    [
        ("low_scor: 0.2", "[1, 3]", 6, "did you mean 'association.low_score'"),
        ("low_score: high", "[1, 3]", 6, "association.low_score: expected a number"),
        ("low_score: 0.6", "[1, 3]", 6, "association.low_score (0.6) must not exceed"),
        ("low_score: 0.2", "[1, bike]", 10, "classes.compatible_groups[1][1]: expected an integer"),
        ("low_score: 0.2", "[1, 5]", 8, "classes.compatible_groups: class 5 is in more than one group"),
    ],
    ids=["typo", "type", "relation", "list item", "list"],
)
def test_a_fault_of_the_file_names_its_line(tmp_path, association, group, line, named):
    """A typo in a long config file was named by key only ("site.yaml: unknown config key ..."): which of its
    lines to fix was left to a search. The error names the line the key (or list item) is written on."""
    path = tmp_path / "site.yaml"
    path.write_text(CONFIG_WITH_COMMENTS.format(association=association, group=group))
    for overrides in (None, ["lifecycle.min_hits=3"]):
        err = raises_config_error(named, lambda: load_config(path, overrides))  # noqa: B023
        assert str(err).startswith(f"{path}: line {line}: "), str(err)


def test_a_file_with_several_unknown_keys_names_them_all_in_one_error(tmp_path):
    """A config file with five mistyped keys was refused naming one alone ("line 8: unknown config key 'nosuch';
    known keys: ..."): the user mended it, ran again, and met the next, five runs for one file.
    The one error names the first as before, then every other one with its line and its did-you-mean where there is
    one, and not another list of a section's known keys (the first's, once, is what it was)."""
    path = tmp_path / "site.yaml"
    path.write_text("detector:\n  confidance: 0.3\n  bogus: 1\nreid:\n  modle: none\nmotion:\n  foo: 2\nnosuch: 1\n")
    err = str(raises_config_error("unknown config key", lambda: load_config(path)))
    assert err.startswith(f"{path}: line 8: unknown config key 'nosuch'; known keys: device, "), err
    also = err.split("; also unknown: ", 1)[1]
    assert also == (
        "'detector.confidance' (line 2; did you mean 'detector.confidence'?), 'detector.bogus' (line 3), "
        "'reid.modle' (line 5; did you mean 'reid.model'?), 'motion.foo' (line 7)"
    ), err
    assert err.count("known keys") == 1, err
    path.write_text("detector:\n  confidance: 0.3\n")  # (one unknown key: said as it was)
    err = str(raises_config_error("unknown config key", lambda: load_config(path)))
    assert err == f"{path}: line 2: unknown config key 'detector.confidance'; did you mean 'detector.confidence'?", err


def test_a_key_written_dotted_in_a_file_is_told_to_nest_it_under_its_section(tmp_path):
    """`detector.confidence: 0.3` in a YAML file (the dotted name `--set` takes, copied into a file) was refused as
    "unknown config key 'detector.confidence'; known keys: device, frame_rate, ..., detector, ...", no line: the key
    the user wrote is a key of the config, and the error named it unknown. It now says how a file writes it, with its
    line; another unknown key beside it is still named, and a dotted name that is no key still unknown."""
    path = tmp_path / "site.yaml"
    path.write_text("# mine\ndetector.confidence: 0.3\n")
    err = str(raises_config_error("detector.confidence", lambda: load_config(path)))
    assert err == (
        f"{path}: line 2: config key 'detector.confidence' written in one word: a file writes it under its section, "
        "`detector:` then `confidence: ...` indented below it (the dotted name is --set's)"
    ), err
    path.write_text("lifecycle.max_seconds_lost: 5\nnosuch: 1\n")
    err = str(raises_config_error("lifecycle.max_seconds_lost", lambda: load_config(path)))
    assert err.startswith(f"{path}: line 1: config key 'lifecycle.max_seconds_lost' written in one word"), err
    assert err.endswith("also unknown: 'nosuch' (line 2)"), err
    path.write_text("detector.nosuch: 1\n")
    err = str(raises_config_error("unknown config key", lambda: load_config(path)))
    assert "unknown config key 'detector.nosuch'" in err and "written in one word" not in err, err


def test_a_files_unknown_key_is_named_with_its_file_and_line_beside_an_overrides_unknown_keys(tmp_path):
    """A mistyped key in the file and others in the overrides (`--set`): the error named the file's key with no file
    and no line (the overrides' keys, named after it, made the error differ from the file's own), where one typo in
    the file alone is named with both. The overrides' keys are named with no line, not their section's line in the
    file (they are not in it)."""
    path = tmp_path / "site.yaml"
    path.write_text("lifecycle:\n  max_gap_secs: 3\n")
    overrides = {"lifecycle.bar": 2, "gallery.foo": 1}
    err = str(raises_config_error("unknown config key", lambda: load_config(path, overrides=overrides)))
    assert err == (
        f"{path}: line 2: unknown config key 'lifecycle.max_gap_secs'; did you mean 'lifecycle.max_gap_seconds'?; "
        "also unknown: 'lifecycle.bar', 'gallery.foo'"
    ), err


def test_a_file_fault_of_a_key_it_does_not_write_names_no_line_of_another(tmp_path):
    """`high_score: 0.05` with the default low_score 0.1: the relation names low_score, which the file does not
    write; the line given is its section's (where to add or fix it), never an unrelated line."""
    path = tmp_path / "site.yaml"
    path.write_text("device: cpu\nassociation:\n  high_score: 0.05\n")
    err = raises_config_error("association.low_score", lambda: load_config(path))
    assert str(err).startswith(f"{path}: line 2: "), str(err)


@pytest.mark.parametrize(
    "text,line",
    [
        ("device: cpu\nassociation:\n  # the people's thresholds\n  high_score: 2\n", 4),
        ("detector:\n  model: yolo11n.pt\n  confidance: 0.2\n", 3),
        ("classes:\n  compatible_groups:\n    - [2, 5]\n    - [1, bike]\n", 4),
        ("motion:\n  camera_exclude:\n    - [0, 0.8, 1, 1]\n    - [0.5, 0.2, 0.1, 0.9]\n", 4),
    ],
    ids=["nested key", "unknown nested key", "item of a nested list", "list item of a relation"],
)
def test_the_line_of_a_file_fault_comes_from_the_key_the_error_carries_not_its_wording(
    tmp_path, monkeypatch, text, line
):
    """The line was found by reading the key back out of the message: a message reworded so that it no longer
    starts with the key lost the line without a word. It comes from the key (and list item) the error carries:
    with every message reworded, the same line is named."""
    import tracker.config as config_module

    real_parse = config_module.parse_config

    def reworded(data):
        try:
            return real_parse(data)
        except ConfigError as exc:
            raise ConfigError(f"in this config, {exc}", key=exc.key, index=exc.index) from None

    path = tmp_path / "site.yaml"
    path.write_text(text)
    first = raises_config_error("", lambda: load_config(path))
    assert str(first).startswith(f"{path}: line {line}: "), str(first)
    monkeypatch.setattr(config_module, "parse_config", reworded)
    err = raises_config_error("in this config, ", lambda: load_config(path))
    assert str(err).startswith(f"{path}: line {line}: in this config, "), str(err)
    assert (err.key, err.index) == (first.key, first.index)


def _nested(dotted: str, value: object) -> dict:
    data: dict = {}
    node = data
    *sections, key = dotted.split(".")
    for section in sections:
        node = node.setdefault(section, {})
    node[key] = value
    return data


@pytest.mark.parametrize(
    "data,key,index",
    [
        ({"association": {"low_scor": 0.2}}, "association.low_scor", ()),
        ({"detector": 5}, "detector", ()),
        (_nested("detector.confidence", "high"), "detector.confidence", ()),
        (_nested("detector.confidence", None), "detector.confidence", ()),
        (_nested("association.high_score", {"x": 1}), "association.high_score", ()),
        (_nested("detector.classes", "0,2"), "detector.classes", ()),
        (_nested("detector.model", ""), "detector.model", ()),
        (_nested("detector.half", 1), "detector.half", ()),
        (_nested("lifecycle.min_hits", 1.5), "lifecycle.min_hits", ()),
        (_nested("classes.compatible_groups", [[2, 5], [1, "bike"]]), "classes.compatible_groups", (1, 1)),
        (_nested("classes.compatible_groups", [[2, 5], 7]), "classes.compatible_groups", (1,)),
        (_nested("detector.classes", [0, -1]), "detector.classes", (1,)),
        (_nested("detector.confidence", 2.0), "detector.confidence", ()),
        (_nested("detector.confidence", math.nan), "detector.confidence", ()),
        (_nested("reid.model", False), "reid.model", ()),
        (_nested("reid.model", None), "reid.model", ()),
        ({"min_frame_rate": 100.0, "max_frame_rate": 10.0}, "min_frame_rate", ()),
        (_nested("classes.compatible_groups", [[2, 5], [5]]), "classes.compatible_groups", ()),
        ({"lifecycle": {"still_min_samples": 50, "still_capacity": 10}}, "lifecycle.still_min_samples", ()),
        ({"motion": {"width_process_factor": 0, "width_measurement_factor": 0}}, "motion.width_process_factor", ()),
        (
            {"motion": {"camera_compensation": "orb", "camera_min_inliers": 50, "camera_max_features": 10}},
            "motion.camera_min_inliers",
            (),
        ),
        (_nested("motion.camera_exclude", [[0, 0.8, 1, 1], [0.5, 0.2, 0.1, 0.9]]), "motion.camera_exclude", (1,)),
        (_nested("motion.camera_exclude", [[0, 0, 1, 1]]), "motion.camera_exclude", ()),
        (
            {"appearance": {"calibration_min_samples": 50, "calibration_capacity": 10}},
            "appearance.calibration_min_samples",
            (),
        ),
        ({"association": {"low_score": 0.6, "high_score": 0.5}}, "association.low_score", ()),
    ],
)
def test_every_fault_of_a_key_carries_the_key_and_list_item(tmp_path, data, key, index):
    """`ConfigError.key` and `.index` name what is at fault wherever it is found (type, range, choices, relations,
    unknown keys, sections), the same in a file's error (which adds the file and line) as in the mapping's; the
    message names the same key and item. An error raised without them would lose the file line."""
    name = key + "".join(f"[{i}]" for i in index)
    err = raises_config_error(name, lambda: parse_config(data))
    assert (err.key, err.index) == (key, index), str(err)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data))
    in_file = raises_config_error(name, lambda: load_config(path))
    assert (in_file.key, in_file.index) == (key, index)
    assert re.match(rf"{re.escape(str(path))}: line \d+: ", str(in_file)), str(in_file)


def test_faults_of_overrides_and_python_configs_carry_their_key():
    """An override into a key that is not a section names the override's key; a section replaced in Python by
    something else names the section."""
    import dataclasses

    err = raises_config_error("", lambda: load_config(None, ["association.low_score=0.2", "association.low_score.x=1"]))
    assert (err.key, err.index) == ("association.low_score.x", ())
    err = raises_config_error("association", lambda: TrackerConfig().replace(["association=3"]))
    assert err.key == "association"
    with pytest.raises(ConfigError) as info:
        from tracker.config import validate_config

        validate_config(dataclasses.replace(TrackerConfig(), association=None))
    assert info.value.key == "association"


def test_every_config_error_raised_says_which_key_it_is_about():
    """Each `ConfigError(...)` in the package (tracker/config.py and any other module: `ConfigError(...)` or
    `config.ConfigError(...)`) passes `key=` (None where the error is about no key: a file that cannot be read,
    invalid YAML, a malformed override): one raised without it would report no file line."""
    import ast

    import tracker

    calls, missing = 0, []
    for module in sorted(Path(tracker.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name == "ConfigError":
                calls += 1
                if not any(k.arg == "key" for k in node.keywords):
                    missing.append(f"{module.name}:{node.lineno}")
    assert calls > 20 and not missing, f"ConfigError without key= at {missing}"


def test_a_config_error_keeps_its_key_through_pickle():
    """Errors cross process boundaries (the batch's workers): the key and list item come along."""
    import pickle

    err = pickle.loads(pickle.dumps(ConfigError("a.b[1]: bad", key="a.b", index=(1,))))
    assert (str(err), err.key, err.index) == ("a.b[1]: bad", "a.b", (1,))


def test_a_fault_of_an_override_does_not_blame_the_file(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("lifecycle:\n  min_hits: 3\n")
    typo = ["detector.confidance=1"]
    err = raises_config_error("did you mean 'detector.confidence'", lambda: load_config(path, typo))
    assert str(path) not in str(err), str(err)
    # a file whose keys are wrong together is mended by an override, as before
    path.write_text("association:\n  low_score: 0.6\n")
    assert load_config(path, ["association.high_score=0.7"]).association.low_score == 0.6


def test_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "nope.yaml"
    raises_config_error(str(path), lambda: load_config(path), also="cannot read")


def test_a_config_path_in_the_home_folder_given_with_a_tilde_loads(tmp_path, monkeypatch):
    """`load_config("~/site.yaml")` (and `Tracker.from_config("~/site.yaml")`) said "cannot read config file
    ~/site.yaml: No such file or directory" though the file was there, while `detector.model=~/...` and
    `track --config=~/...` take `~` as the home folder. The path is the home folder's, and a missing one is named
    there."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "site.yaml").write_text("lifecycle:\n  min_hits: 3\n")
    assert load_config("~/site.yaml").lifecycle.min_hits == 3
    assert load_config(Path("~") / "site.yaml").lifecycle.min_hits == 3
    raises_config_error(str(tmp_path / "nope.yaml"), lambda: load_config("~/nope.yaml"), also="cannot read")


def test_a_file_that_is_not_text_is_a_config_error_naming_it(tmp_path):
    """`--config` given a binary file (a model, an image): one ConfigError naming the file, not a bare
    UnicodeDecodeError that names neither the file nor the option."""
    path = tmp_path / "model.yaml"
    path.write_bytes(b"\xff\xfe\x00detector:\n")
    raises_config_error(str(path), lambda: load_config(path), also="not UTF-8")


def test_a_utf8_file_with_accents_in_its_comments_loads(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_bytes("# réglages du tracker — café\nlifecycle:\n  min_hits: 3\n".encode())
    assert load_config(path).lifecycle.min_hits == 3


def test_directory_is_a_config_error(tmp_path):
    raises_config_error(str(tmp_path), lambda: load_config(tmp_path), also="cannot read")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "null\n"])
def test_empty_file_gives_the_defaults(tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    assert load_config(path) == TrackerConfig()


@pytest.mark.parametrize("section", ["appearance", "lifecycle", "detector"])
def test_empty_section_gives_its_defaults(tmp_path, section):
    path = tmp_path / "empty_section.yaml"
    path.write_text(f"{section}:\n")
    assert load_config(path) == TrackerConfig()


@pytest.mark.parametrize(
    "text", ["association:\n", "association:\n  # high_score: 0.5\n", "device: cpu\nassociation: null\n"]
)
def test_a_section_with_no_value_in_a_file_is_said_once_with_its_line(tmp_path, text, caplog):
    """`association:` with nothing indented below it (or every key of it commented out) loaded its defaults without a
    word: a user trying values by commenting keys in and out was not told the file set none of them. It still loads
    the defaults (that is what the file says), with one warning naming the file, the line and the section."""
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        cfg = load_config(path)
    assert cfg.association == TrackerConfig().association
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    line = text.splitlines().index(next(t for t in text.splitlines() if t.startswith("association"))) + 1
    assert len(said) == 1 and said[0].startswith(f"{path}: line {line}: section 'association' has no value"), said
    assert "association: {}" in said[0], said


def test_a_section_written_as_an_empty_mapping_or_with_keys_is_not_warned(tmp_path, caplog):
    """`association: {}` says the defaults are meant: no warning (nor for a section with keys)."""
    path = tmp_path / "cfg.yaml"
    path.write_text("association: {}\nlifecycle:\n  min_hits: 3\n")
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        assert load_config(path).lifecycle.min_hits == 3
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_sections_with_no_value_are_said_in_one_warning_in_the_file_s_order(tmp_path, caplog):
    """Two sections given no value were said in the schema's alphabetical order (line 4's `association` before line
    2's `video`): a user going down the file met them out of order. Top line first. And one warning per section
    filled a run's first lines with the same advice (a template whose sections are all comments: one each, on every
    run): one warning names them all."""
    path = tmp_path / "cfg.yaml"
    path.write_text("device: cpu\nvideo:\n  # trail_seconds: 0\nassociation:\n")
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        assert load_config(path) == TrackerConfig(device="cpu")
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1, said
    assert said[0].startswith(f"{path}: sections 'video' (line 2), 'association' (line 4) have no value"), said
    assert "write 'video: {}'" in said[0], said


def test_a_template_whose_every_section_is_comments_warns_once(tmp_path, caplog):
    """configs/default.yaml with every key commented out (a template kept for later): one warning, naming each of
    its sections, not one a section (12 lines of the same advice on every run)."""
    lines = Path(__file__).parent.parent.joinpath("configs", "default.yaml").read_text().splitlines()
    template = [
        line if line[:1].isalpha() and line.split("#")[0].rstrip().endswith(":") else f"# {line}" for line in lines
    ]
    sections = [line.split(":")[0] for line in template if not line.startswith("#")]
    assert len(sections) > 5, "the template's sections"
    path = tmp_path / "cfg.yaml"
    path.write_text("\n".join(template) + "\n")
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        assert load_config(path) == TrackerConfig()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and all(f"'{section}' (line" in said[0] for section in sections), said


@pytest.mark.parametrize("text", ["", "# only a comment\n  # min_hits: 3\n"])
def test_a_file_that_sets_nothing_is_said_once(tmp_path, text, caplog):
    """An empty config file, or one whose every line is commented out, loaded the defaults without a word."""
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        assert load_config(path) == TrackerConfig()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [f"config file {path} sets no keys (empty, or every line a comment): each keeps its default"]


def test_an_override_into_a_section_the_file_gave_no_value_sets_that_key(tmp_path):
    """`--set association.high_score=0.5` with a file holding `association:` (no value) was refused: "'association' is
    None, not a section"."""
    path = tmp_path / "cfg.yaml"
    path.write_text("association:\n")
    assert load_config(path, ["association.high_score=0.5"]).association.high_score == 0.5


@pytest.mark.parametrize(
    ("value", "also"), [("5", "got 5"), ("[1, 2]", "got [1, 2]"), ("\n  - high_score: 0.5", "without the '- '")]
)
def test_a_section_given_a_scalar_or_a_list_says_how_a_section_is_written(tmp_path, value, also):
    """`association: 5` (or a list) said "association: expected a mapping, got 5", not how a section is written."""
    path = tmp_path / "cfg.yaml"
    path.write_text(f"device: cpu\nassociation: {value}\n")
    error = raises_config_error("association", lambda: load_config(path), also=also)
    assert str(error).startswith(f"{path}: line 2: association: a section, so expected a mapping of its keys"), error
    assert "`key: value` a line indented below it" in str(error), error
    if not value.lstrip().startswith("-"):  # (a flow list or a number has no '- ' to take away)
        assert "'- '" not in str(error), error


# ------------------------------------------------------------------------------------------------ overrides
OVERRIDE_FAULTS = {
    "no equals sign": (["appearance.enabled"], "appearance.enabled", "section.key=value"),
    "empty key": (["=3"], "=3", "section.key=value"),
    "blank": ([" "], "section.key=value", None),
    "unknown key": (["appearance.bank_capcity=3"], "did you mean 'appearance.bank_capacity'", None),
    "unknown section": (["nosuch.key=1"], "unknown config key 'nosuch'", None),
    "bad type": (["appearance.enabled=maybe"], "appearance.enabled", None),
    # a dot too many said "association.high_score: expected a number, got {'x': 0.5}", a value nobody typed
    "key below a key": (
        ["association.high_score.x=0.5"],
        "association.high_score",
        "a key, not a section, so association.high_score.x names nothing; expected a number",
    ),
    "key below a list": (["detector.classes.a=0"], "detector.classes.a names nothing", None),
    "negative capacity": (["appearance.bank_capacity=-1"], "appearance.bank_capacity", None),
    "threshold > 1": (["association.high_score=2"], "association.high_score", None),
    "NaN": (["association.low_score=.nan"], "association.low_score", None),
    "low > high": (["association.low_score=0.6"], "association.low_score", "association.high_score"),
    "low > lowered high": (["association.high_score=0.05"], "association.low_score", "association.high_score"),
    "still samples > capacity": (["lifecycle.still_capacity=10"], "lifecycle.still_min_samples", "still_capacity"),
    # the calibration queues could never hold enough negatives, or a frame's samples: calibration silently off
    "calibration samples > capacity": (
        ["appearance.calibration_capacity=40"],
        "appearance.calibration_min_samples",
        "calibration_capacity",
    ),
    "calibration per frame > capacity": (
        ["appearance.calibration_capacity=60", "appearance.calibration_per_frame=61"],
        "appearance.calibration_per_frame",
        "calibration_capacity",
    ),
    # 1e200 overflowed the width's noise (an OverflowError in the first update, NaN states with the process factor)
    "huge width noise": (["motion.width_measurement_factor=1e200"], "motion.width_measurement_factor", "out of range"),
    "huge width process": (["motion.width_process_factor=1e200"], "motion.width_process_factor", "out of range"),
    # no width noise at all: the width's innovation variance reached 0 (numpy's divide by zero, NaN states)
    "no width noise": (
        ["motion.width_process_factor=0", "motion.width_measurement_factor=0"],
        "motion.width_process_factor",
        "motion.width_measurement_factor",
    ),
    # RANSAC with a 0 px inlier distance finds no inliers: every camera-motion estimate failed (the identity)
    "no RANSAC distance": (["motion.camera_ransac_px=0"], "motion.camera_ransac_px", "out of range"),
    # an inlier distance beyond the corners' spacing (5 gray px) takes a corner tracked onto its neighbour as an
    # inlier (500 on a 320 px copy: every match); it was accepted, and made `auto` hold back every motion
    "RANSAC distance beyond the corners' spacing": (
        ["motion.camera_ransac_px=500"],
        "motion.camera_ransac_px",
        "500.0 is out of range [0.01, 5]",
    ),
    # more inliers needed than features found: every sparse_flow / orb / auto estimate failed, compensation off
    "camera inliers > features": (
        ["motion.camera_compensation=sparse_flow", "motion.camera_min_inliers=300"],
        "motion.camera_min_inliers",
        "camera_max_features (200) with motion.camera_compensation=sparse_flow",
    ),
    "camera features < inliers": (
        ["motion.camera_compensation=orb", "motion.camera_max_features=10"],
        "motion.camera_min_inliers",
        "camera_max_features (10)",
    ),
    # beyond a C int OpenCV refused it at every frame ("integer won't fit into a C int", naming no key), after the
    # models loaded; ORB ran out of memory (std::bad_alloc) at 2**31 - 1
    "camera features beyond OpenCV's int": (
        ["motion.camera_compensation=sparse_flow", "motion.camera_max_features=10000000000"],
        "motion.camera_max_features",
        "out of range [8, 67108864]",
    ),
    # a class's FIFO of shapes could never hold enough looks: the birth shape rule off without a word
    "birth shape samples > capacity": (
        ["association.birth_shape_capacity=5"],
        "association.birth_shape_min_samples",
        "must not exceed association.birth_shape_capacity (5)",
    ),
    # no bound as its sibling capacities have: 1e10 was a MemoryError (74.5 GiB) when the Tracker was built
    "huge birth shape capacity": (
        ["association.birth_shape_capacity=10000000000"],
        "association.birth_shape_capacity",
        "out of range [1, 10000000]",
    ),
    "into a scalar": (["device=cpu", "device.index=1"], "device", "not a section"),
    "into a bool": (["appearance.enabled=true", "appearance.enabled.x=1"], "appearance.enabled", None),
    "section set to scalar": (["appearance=3"], "appearance", "mapping"),
    "YAML-unparsable value": (["detector.classes=[0, 1"], "detector.classes", None),
    "list into a scalar": (["frame_rate=[30]"], "frame_rate", None),
    "list without brackets": (["detector.classes=0,2"], "detector.classes", "e.g. [0, 2], got the text '0,2'"),
    "list with spaces": (["detector.classes=0 2"], "detector.classes", "e.g. [0, 2]"),
    "negative class id": (["detector.classes=[0, -1]"], "detector.classes[1]", "-1 must be 0 or more"),
    "negative class in a group": (["classes.compatible_groups=[[2, -5]]"], "classes.compatible_groups[0][1]", None),
    # one group without its outer brackets: not three groups of one class each (which would share nothing)
    "a group without its list": (["classes.compatible_groups=[2, 5, 7]"], "classes.compatible_groups[0]", "[[2, 5, 7]"),
}


@pytest.mark.parametrize("overrides,key,also", OVERRIDE_FAULTS.values(), ids=OVERRIDE_FAULTS.keys())
def test_invalid_override_names_the_key(overrides, key, also):
    raises_config_error(key, lambda: load_config(None, overrides=overrides), also=also)


@pytest.mark.parametrize(
    "override,expected",
    [
        ("detector.model=", "expected a string"),
        ("detector.confidence=", "expected a number"),
        ("lifecycle.min_hits=~", "expected an integer"),
        ("appearance.enabled=null", "expected true or false"),
        ("detector.classes=", "expected a list written as in YAML"),
        ("motion.camera_compensation=", "expected one of none, auto, sparse_flow, orb, ecc"),
    ],
)
def test_a_key_given_no_value_says_so(override, expected, tmp_path):
    """`--set detector.model=` (a shell variable that was empty) said "expected a string, got None", and an empty
    camera_compensation "None is not one of none, ...": the user never typed None."""
    key = override.partition("=")[0]
    error = raises_config_error(key, lambda: load_config(None, overrides=[override]), also="no value given")
    assert expected in str(error) and "None" not in str(error), str(error)
    section, _, name = key.partition(".")
    path = tmp_path / "cfg.yaml"
    path.write_text(f"{section}:\n  {name}:\n")
    error = raises_config_error(key, lambda: load_config(path), also="no value given")
    assert str(error).startswith(f"{path}: "), str(error)


@pytest.mark.parametrize("section", ["detector", "appearance", "gallery"])
def test_a_section_given_no_value_is_refused_with_or_without_a_file(section, tmp_path):
    """`--set detector=` (`--set detector=$X`, X unset) was refused where a config file set `detector:` keys, but with
    no file, or a file without that section, kept the defaults without a word; `cfg.replace` refused it. It is
    refused everywhere, as a dict override is; a file's own empty section still gives its defaults."""
    said = f"{section}: a section, given no value; set its keys ({section}.KEY=value)"
    path = tmp_path / "cfg.yaml"
    path.write_text("device: cpu\n")
    for config in (None, path):
        error = raises_config_error(section, lambda config=config: load_config(config, [f"{section}="]))
        assert str(error) == said, str(error)
    assert str(raises_config_error(section, lambda: load_config(None, {section: None}))) == said
    assert str(raises_config_error(section, lambda: TrackerConfig().replace([f"{section}="]))) == said
    path.write_text(f"{section}:\n")
    assert load_config(path) == TrackerConfig()


@pytest.mark.parametrize("key", ["detector.model", "reid.weights"])
@pytest.mark.parametrize("empty", ["''", "'  '"])
def test_an_empty_string_for_a_path_or_name_says_no_value_was_given(key, empty, tmp_path):
    """`detector.model: ''` loaded, and the run then failed in ultralytics naming the model '.' ("detector.model is
    not a model ultralytics can load (... model='.' ...): if  is one, the copy is damaged"); `reid.weights: ''`
    said "reid weights . is not a file". Now the config refuses it, naming the key (file and override alike)."""
    error = raises_config_error(key, lambda: load_config(None, overrides=[f"{key}={empty}"]), also="no value given")
    assert "empty string" in str(error), str(error)
    section, _, name = key.rpartition(".")
    path = tmp_path / "cfg.yaml"
    path.write_text(f"{section}:\n  {name}: {empty}\n" if section else f"{name}: {empty}\n")
    error = raises_config_error(key, lambda: load_config(path))
    assert str(error).startswith(f"{path}: "), str(error)


@pytest.mark.parametrize("text,got", [("off", "False"), ("no", "False"), ("0", "0")])
def test_a_choice_key_given_no_string_lists_the_allowed_values(text, got):
    """`camera_compensation: off` is YAML's false: "expected a string, got False" named neither the values allowed
    nor why a word became a boolean. Now the error lists the choices, and says how YAML read an unquoted off / no."""
    error = raises_config_error(
        "motion.camera_compensation",
        lambda: load_config(None, overrides=[f"motion.camera_compensation={text}"]),
        also=f"{got} is not one of none, auto, sparse_flow, orb, ecc",
    )
    assert ("YAML reads off, no" in str(error)) == (got == "False")


@pytest.mark.parametrize("method", ["none", "ecc"])
def test_camera_inliers_beyond_features_load_where_no_features_are_fitted(method):
    """`camera_min_inliers` bounds only the sparse_flow / orb / auto fits: without them the pair is no error."""
    sets = [f"motion.camera_compensation={method}", "motion.camera_min_inliers=300"]
    assert load_config(None, overrides=sets).motion.camera_min_inliers == 300


def test_override_into_a_scalar_from_a_file(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("device: cpu\n")
    raises_config_error("device.index", lambda: load_config(path, overrides=["device.index=0"]), also="not a section")


def test_a_section_the_file_sets_to_a_scalar_is_named_with_its_value(tmp_path):
    """`detector: 5` in the YAML and `--set detector.model=...`: the error must show the file's 5, or the user
    looks for a mistake in the override they typed."""
    path = tmp_path / "cfg.yaml"
    path.write_text("detector: 5\n")
    raises_config_error("detector.model", lambda: load_config(path, ["detector.model=x.pt"]), also="'detector' is 5")


def test_dict_overrides_and_replace_are_validated():
    raises_config_error("appearance.bank_capacity", lambda: load_config(None, {"appearance.bank_capacity": -1}))
    raises_config_error("lifecycle.min_hits", lambda: TrackerConfig().replace(["lifecycle.min_hits=0"]))
    raises_config_error("association.low_score", lambda: parse_config({"association": {"low_score": 0.9}}))
    raises_config_error("config", lambda: parse_config([1, 2]))  # type: ignore[arg-type]


def test_a_failed_override_leaves_the_config_alone():
    cfg = TrackerConfig()
    with pytest.raises(ConfigError, match=r"^appearance\.bank_capacity: -1 is out of range \[1, 100000\]$"):
        cfg.replace(["appearance.bank_capacity=-1"])
    assert cfg == TrackerConfig()
    assert cfg.replace(["appearance.bank_capacity=5"]).appearance.bank_capacity == 5


def test_a_config_saved_from_python_loads_back_equal(tmp_path):
    """The README's way to save a config made in Python: `config_to_yaml(cfg)` reads back equal, also values
    YAML could read as something else (a model named 'yes', a tiny float Python writes with an exponent, a large
    one, nested regions)."""
    cfg = load_config(
        overrides={
            "detector.model": "yes",
            "reid.weights": "/w/a b: c.pth",
            "motion.std_velocity": 1e-7,
            "lifecycle.max_seconds_lost": 3e7,
            "frame_rate": 29.97,
            "detector.classes": [0, 2],
            "motion.camera_exclude": [[0, 0.8, 1, 1]],
            "appearance.enabled": False,
        }
    )
    path = tmp_path / "saved.yaml"
    path.write_text(config_to_yaml(cfg))
    assert load_config(path) == cfg


def test_yaml_text_given_as_the_path_says_it_is_text_not_a_missing_file():
    """`load_config(config_to_yaml(cfg))` (the text, not a file of it) said "cannot read config file device: auto
    ... (every key) ...: File name too long", the whole text named as a file; a short text "No such file or
    directory". One line now, saying what was given and the two ways to load it."""
    cfg = load_config(overrides={"appearance.topk": 2})
    for text in (config_to_yaml(cfg), "appearance:\n  topk: 2\n"):
        err = raises_config_error("got YAML text", lambda text=text: load_config(text), also="overrides=yaml.safe_load")
        assert "topk" not in str(err) and len(str(err).splitlines()) == 1, str(err)
    assert load_config(overrides=yaml.safe_load(config_to_yaml(cfg))) == cfg  # (the way the error says)


def test_numbers_in_exponent_notation_are_numbers(tmp_path):
    """`--set ...=5e-3` or `1e9` in a file: YAML 1.1 reads these as text, which read as "expected a number, got
    '5e-3'"; they are numbers. Text that is no number (nan, inf, 1e) is still refused."""
    cfg = load_config(None, ["appearance.reid_evidence_per_second=5e-3", "lifecycle.max_seconds_lost=1E2"])
    assert cfg.appearance.reid_evidence_per_second == 0.005 and cfg.lifecycle.max_seconds_lost == 100.0
    path = tmp_path / "c.yaml"
    path.write_text("motion:\n  std_velocity: 6.25e-3\n")
    assert load_config(path).motion.std_velocity == 0.00625
    for text in ("nan", "inf", "1e", "e5", "1e5x"):
        raises_config_error(
            "lifecycle.max_seconds_lost: expected a number",
            lambda text=text: load_config(None, [f"lifecycle.max_seconds_lost={text}"]),
        )
    raises_config_error("out of range", lambda: load_config(None, ["appearance.reid_evidence_per_second=1e9"]))


def test_integers_read_as_they_are_written_not_as_yaml_1_1_octal_or_base_60(tmp_path):
    """PyYAML's YAML 1.1 read `--set appearance.bank_capacity=010` as octal 8, and `1:20` as base-60 80, without a
    word. Digits are decimal (YAML 1.2); hex and binary prefixes and `_` keep their meaning; base 60 is refused."""
    written = {"010": 10, "0x10": 16, "0b101": 5, "1_000": 1000, "+012": 12, "7": 7}
    for text, value in written.items():
        assert load_config(None, [f"appearance.bank_capacity={text}"]).appearance.bank_capacity == value, text
        path = tmp_path / "c.yaml"
        path.write_text(f"appearance:\n  bank_capacity: {text}\n")
        assert load_config(path).appearance.bank_capacity == value, text
    raises_config_error(
        "appearance.bank_capacity: expected", lambda: load_config(None, ["appearance.bank_capacity=1:20"])
    )
    path.write_text("appearance:\n  bank_capacity: 1:20\n")
    with pytest.raises(ConfigError, match=r"line 2.*base-60"):
        load_config(path)


def test_huge_values_that_would_size_memory_are_refused_naming_the_key():
    """`classes.vote_seconds` x the frame rate is each track's class-vote window: 1.0e+9 s allocated hundreds of
    GiB on the first new track (MemoryError mid-run); 1e9 frames/s the same through `frame_rate`."""
    for key in ("classes.vote_seconds", "frame_rate", "min_frame_rate", "max_frame_rate"):
        raises_config_error(
            f"{key}: 1000000000.0 is out of range", lambda key=key: load_config(None, [f"{key}=1.0e+9"])
        )


# ------------------------------------------------------------------------------------------------ every key
def _bad_values(tp: typing.Any, meta: typing.Mapping[str, typing.Any]) -> list[typing.Any]:
    """Values of the wrong type, or out of range, for a key of type `tp`."""
    if typing.get_origin(tp) is tuple:
        below = [[meta["lo"] - 1]] if meta.get("lo") is not None else []  # e.g. a negative class id
        return [{"a": 1}, 1.5, [1.5], ["x"], True, *below]
    bad: list[typing.Any] = [[1], {"a": 1}]
    if tp is bool:
        bad += [1, 0, "true", 1.0, None]
    elif tp is str:
        bad += [1, 1.5, True, None]
    else:
        bad += ["1", True, None]
        if tp is int:
            bad += [1.5]
        else:
            bad += [math.nan]
        if meta.get("lo") is not None:
            bad.append(meta["lo"] - 1 if tp is int else meta["lo"] - 1e-6)
        if meta.get("hi") is not None:
            bad.append(meta["hi"] + 1 if tp is int else meta["hi"] + 1e-6)
    if meta.get("choices") is not None:
        bad.append("not-a-choice")
    return bad


BAD_CASES = [
    pytest.param(key, value, id=f"{key}={value!r}") for key, tp, f in KEYS for value in _bad_values(tp, f.metadata)
]


@pytest.mark.parametrize("key,value", BAD_CASES)
def test_every_key_rejects_bad_values(key, value):
    raises_config_error(key, lambda: load_config(None, {key: value}))


@pytest.mark.parametrize("key", [k for k, _, f in KEYS if (f.metadata["lo"] is None) != (f.metadata["hi"] is None)])
def test_a_bound_on_one_side_only_is_said_as_a_user_reads_it(key):
    """`track --classes -1` said "detector.classes[0]: -1 is out of range [0, inf]": a range open on one side is
    said as its one bound ("must be 0 or more"), for every key with one infinite bound."""
    tp, meta = next((tp, f.metadata) for k, tp, f in KEYS if k == key)
    lo, hi = meta["lo"], meta["hi"]
    value = lo - 1 if hi is None else hi + 1
    said = f"must be {lo} or more" if hi is None else f"must be {hi} or less"
    given: typing.Any = value
    while typing.get_origin(tp) is tuple:  # a list's items (a list of lists': `classes.compatible_groups`)
        given, tp = [given], typing.get_args(tp)[0]
    err = raises_config_error(key, lambda: load_config(None, {key: given}), also=f"{value!r} {said}")
    assert "inf" not in str(err), err


@pytest.mark.parametrize("key", [k for k, _, _ in KEYS])
def test_every_key_typo_suggests_the_key(key):
    *section, name = key.split(".")
    typo = ".".join([*section, name[:-1] + ("x" if name[-1] != "x" else "y")])
    raises_config_error(f"did you mean '{key}'", lambda: load_config(None, [f"{typo}=1"]))


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("motion.max_seconds_lost", "'lifecycle.max_seconds_lost'"),
        ("association.min_hits", "'lifecycle.min_hits'"),
        ("reid.confidence", "'detector.confidence'"),
        ("detector.bank_capacity", "'appearance.bank_capacity'"),
        ("reid.device", "'device'"),
        # a near name in its own section too: both named, the other section's first
        ("appearance.reid_threshold", "'association.reid_threshold' or 'appearance.match_threshold'"),
    ],
)
def test_a_key_written_under_another_section_is_named_where_it_is(written, meant, tmp_path):
    """`--set motion.max_seconds_lost=5` said "unknown config key 'motion.max_seconds_lost'; known keys: std_position,
    ..." (27 keys of motion, not the one meant), and `appearance.reid_threshold` "did you mean
    'appearance.match_threshold'?": a key of another section is named there, in a file at its line too."""
    raises_config_error(
        f"unknown config key '{written}'; did you mean {meant}?", lambda: load_config(None, [f"{written}=1"])
    )
    section, name = written.split(".")
    path = tmp_path / "site.yaml"
    path.write_text(f"# site\n{section}:\n  {name}: 1\n")
    raises_config_error(
        f"site.yaml: line 3: unknown config key '{written}'; did you mean {meant}?", lambda: load_config(path)
    )


@pytest.mark.parametrize(
    ("removed", "value", "said"),
    [
        ("appearance.calibration_extra_seconds", "0.5", "renamed appearance.calibration_sample_seconds"),
        ("motion.noise_uncut_only", "true", "removed"),
        ("association.lost_needs_reid", "none", "removed"),
        ("association.shared_gate_contested", "true", "removed"),
        ("lifecycle.thin_bank_unbanked", "true", "removed"),
        ("appearance.revival_ramp_uncalibrated", "true", "removed"),
    ],
)
def test_a_key_an_earlier_version_had_says_what_became_of_it(removed, value, said, tmp_path):
    """A config of an earlier version (a run's saved config.yaml given as --config) with a key removed since got a
    did-you-mean of another key with another meaning (`lifecycle.thin_bank_unbanked`: the keys of lifecycle;
    `association.lost_needs_reid`: 'association.ungated_needs_reid', a bool) or, renamed, no word of the rename.
    Each now says what became of it and what to do, in a file at its line."""
    message = raises_config_error(f"config key '{removed}'", lambda: load_config(None, [f"{removed}={value}"]))
    assert said in str(message) and "did you mean" not in str(message), message
    assert removed not in {key for key, _, _ in KEYS}
    section, name = removed.split(".")
    path = tmp_path / "old.yaml"
    path.write_text(f"# an earlier version's\n{section}:\n  {name}: {value}\n")
    raises_config_error(f"old.yaml: line 3: config key '{removed}'", lambda: load_config(path), also=said)


@pytest.mark.parametrize(("peer", "ours"), sorted((name, ours) for name, (ours, _) in config_build.PEER_NAMES.items()))
def test_a_peer_trackers_name_for_a_setting_is_told_ours(peer, ours):
    """Ultralytics' and BoxMOT's users write their settings' names: `--set track_buffer=30` said "unknown config key
    'track_buffer'; known keys: device, frame_rate, ..." and `detector.conf` listed detector's keys. Each is told the
    key it is here (a key the config has), bare or under a section, with what differs (seconds, not frames)."""
    assert ours in {key for key, _, _ in KEYS}
    for written in (peer, f"detector.{peer}"):
        raises_config_error(
            f"unknown config key '{written}'; did you mean '{ours}'? (", lambda w=written: load_config(None, [f"{w}=1"])
        )
    if peer == "track_buffer":  # (frames there)
        err = raises_config_error(ours, lambda: load_config(None, ["lifecycle.track_buffer=30"]))
        assert "in seconds here, not frames" in str(err), str(err)


def _with_relations(key: str, value: typing.Any) -> dict[str, typing.Any]:
    """`{key: value}` and the other keys set so that the relations between keys (low <= high, a capacity holding
    its minimum) allow `value` at either end of `key`'s range."""
    extra: dict[str, typing.Any] = {"association.low_score": 0.0} if key == "association.high_score" else {}
    if key == "association.low_score":
        extra = {"association.high_score": 1.0}
    if key == "max_frame_rate":
        extra = {"min_frame_rate": value}
    if key == "min_frame_rate":
        extra = {"max_frame_rate": value}
    if key == "lifecycle.still_capacity":
        extra = {"lifecycle.still_min_samples": 1}
    if key == "appearance.calibration_capacity":
        extra = {"appearance.calibration_min_samples": 1, "appearance.calibration_per_frame": 1}
    if key == "association.birth_shape_capacity":
        extra = {"association.birth_shape_min_samples": 1}
    if key in ("appearance.calibration_min_samples", "appearance.calibration_per_frame"):
        extra = {"appearance.calibration_capacity": max(value, 2000)}  # (the other key keeps its default)
    if key == "lifecycle.min_gap_seconds":
        extra = {"lifecycle.max_gap_seconds": max(value, 60.0)}
    if key == "lifecycle.max_gap_seconds":
        extra = {"lifecycle.min_gap_seconds": min(value, 0.2)}
    return {key: value, **extra}


@pytest.mark.parametrize("key", [k for k, tp, f in KEYS if tp in (int, float)])
def test_every_numeric_key_accepts_its_bounds(key):
    """The range ends themselves are valid (where the relation low <= high allows)."""
    f = next(f for k, _, f in KEYS if k == key)
    tp = next(tp for k, tp, _ in KEYS if k == key)
    for bound in (f.metadata.get("lo"), f.metadata.get("hi")):
        if bound is None:
            continue
        value = int(bound) if tp is int else float(bound)
        cfg = load_config(None, _with_relations(key, value))
        section, _, name = key.rpartition(".")
        assert getattr(getattr(cfg, section) if section else cfg, name) == value


@pytest.mark.parametrize("key", [key for key, tp, f in KEYS if tp is float])
def test_every_float_key_is_bounded_and_tracks_at_its_largest_value(key):
    """`--set motion.gate_chi2=1e306` (or a time key at 1e306 seconds) passed loading and overflowed deep inside the
    tracker, naming no key: every float key has a finite upper bound, a value above it is one ConfigError naming
    the key at load time, and the bound itself tracks without a numpy warning (inf and nan were refused already)."""
    hi = next(f for k, _, f in KEYS if k == key).metadata.get("hi")
    assert hi is not None and math.isfinite(hi), f"{key} has no finite upper bound"
    raises_config_error(key, lambda: load_config(None, {key: 1e306}))
    tracker = Tracker(load_config(None, {**_with_relations(key, float(hi)), "device": "cpu"}))
    boxes = np.array([[10.0, 10.0, 60.0, 110.0], [300.0, 10.0, 350.0, 110.0]])
    emb = np.eye(2, 8)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in range(8):
            tracker.update_detections(boxes + f, [0.9, 0.9], embeddings=emb, frame_size=(480, 640))
        tracker.update_detections(np.zeros((0, 4)), [], frame_size=(480, 640))
        for f in range(4):
            out = tracker.update_detections(boxes + 5 + 3 * f, [0.9, 0.9], embeddings=emb, frame_size=(480, 640))
            assert all(np.isfinite(o.xyxy).all() for o in out)


@pytest.mark.parametrize("process,measurement", [(100, 100), (0, 100), (100, 0), (0, 1), (1, 0)])
def test_the_width_factors_allowed_extremes_track_without_numpy_warnings(process, measurement):
    """Every width-factor pair the config accepts keeps two boxes whose width jitters as two IDs with finite
    boxes and no numpy warning (1e200 raised OverflowError; both 0 divided by zero: refused at load time)."""
    cfg = load_config(
        None,
        [f"motion.width_process_factor={process}", f"motion.width_measurement_factor={measurement}", "device=cpu"],
    )
    tracker = Tracker(cfg)
    boxes = np.array([[10.0, 10.0, 60.0, 110.0], [300.0, 10.0, 350.0, 110.0]])
    ids = set()
    with np.errstate(all="raise"):
        for f in range(40):
            jittered = boxes + [f, 0, f + (1 if f % 2 else -1), 0]
            out = tracker.update_detections(jittered, [0.9, 0.9], embeddings=np.eye(2, 8))
            assert all(np.isfinite(o.xyxy).all() for o in out)
            ids |= {o.track_id for o in out}
    assert len(ids) == 2


# ------------------------------------------------------------------------------------------------ default.yaml
def test_default_yaml_equals_the_dataclass_defaults():
    assert load_config(DEFAULT_YAML) == TrackerConfig()
    # Not just equal after defaults are filled in: the file spells out every key.
    assert yaml.safe_load(DEFAULT_YAML.read_text()) == config_to_dict(TrackerConfig())


def test_default_yaml_comments_every_key():
    key_line = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):(.*)$")
    docs = {key: f.metadata["doc"] for key, _, f in KEYS}
    seen, section = 0, ""
    for number, line in enumerate(DEFAULT_YAML.read_text().splitlines(), 1):
        match = key_line.match(line)
        if not match:
            continue
        seen += 1
        assert " # " in line or "  #" in line, f"default.yaml line {number} has no comment: {line!r}"
        comment = line.split("#", 1)[1].strip()
        assert comment, f"default.yaml line {number}: empty comment"
        indent, name, value = match.group(1), match.group(2), match.group(3).split("#", 1)[0].strip()
        if not value:  # a section header
            section = name
            continue
        key = f"{section}.{name}" if indent else name
        assert comment == docs[key], f"default.yaml line {number}: the comment of {key} differs from config.py"
    sections = sum(is_dataclass(tp) for tp in typing.get_type_hints(TrackerConfig).values())
    assert seen == len(KEYS) + sections, "default.yaml does not have one line per key and section"


@pytest.mark.parametrize("config", [{"appearance": {"bank_capacity": 5}}, "configs/default.yaml"])
def test_a_tracker_given_a_dict_or_a_path_says_to_use_load_config(config):
    """`Tracker({...})` or `Tracker("my.yaml")` failed with "'dict' object has no attribute 'device'"."""
    from tracker import Tracker

    with pytest.raises(TypeError, match=r"config must be a TrackerConfig \(load_config\(path, overrides\)\)"):
        Tracker(config, frame_rate=30)


def test_an_overrides_own_fault_is_not_blamed_on_a_faulty_file(tmp_path):
    """With a file that has a fault of its own (an unknown key in `lifecycle`), the override
    `association.max_cost.x=1` (below a key the file does not write) was reported as the file's fault
    ("bad.yaml: association.max_cost: a key, not a section ..."), because its message said "not a section". It is
    the override's; an override below a key the file wrote as a value is still the file's."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("lifecycle:\n  bogus: 1\nassociation:\n  max_cost: 0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad, overrides=["association.reid_threshold.x=1"])
    assert str(caught.value).startswith("association.reid_threshold: a key, not a section")
    with pytest.raises(ConfigError) as caught:
        load_config(bad, overrides=["association.max_cost.x=1"])
    assert str(caught.value).startswith(f"{bad}: line 4: association.max_cost.x: 'max_cost' is 0.5, not a section")


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["nokv"], "override 'nokv' is not of the form section.key=value"),
        ("lifecycle.min_hits=2", "overrides must be a list of 'section.key=value' strings or a dict"),
        (["device=cpu", "device.index=0"], "device.index: 'device' is 'cpu', not a section"),
    ],
)
def test_a_malformed_override_is_not_blamed_on_a_faulty_file(tmp_path, overrides, said):
    """With a file that has a fault of its own, a malformed override (no `=`, a lone string, a key below a value
    another override gave) was reported as the file's: `bad.yaml: override 'nokv' is not of the form ...`. It is the
    override's, said as with a sound file."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("lifecycle:\n  bogus: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad, overrides=overrides)
    assert str(caught.value).startswith(said), str(caught.value)


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "CPU", "cuda0", "mps", "cuda:-1"])
def test_a_device_that_is_not_one_is_refused_on_loading_naming_its_line(tmp_path, device):
    """`device: gpu` loaded, and the ValueError came only when a Tracker was built, naming no file or line (after a
    `track eval` had read every sequence). The file's line and the accepted forms are named on loading."""
    path = tmp_path / "site.yaml"
    path.write_text(f"# site\ndevice: {device}\n")
    err = raises_config_error("device", lambda: load_config(path), also="auto, cpu, cuda or cuda:N")
    assert str(err).startswith(f"{path}: line 2: "), str(err)
    raises_config_error("device", lambda: load_config(None, overrides=[f"device={device}"]))


@pytest.mark.parametrize("device", ["auto", "cpu", "cpu:0", "cuda", "cuda:0", "cuda:3"])
def test_every_device_form_loads_whatever_this_machine_has(device):
    """cuda and cuda:N load on a machine without CUDA (a config written for the GPU server): building a Tracker from
    it is what says CUDA is missing here."""
    assert load_config(None, overrides=[f"device={device}"]).device == device


@pytest.mark.parametrize("path", [["appearance.bank_capacity=50"], {"appearance.bank_capacity": 50}, 3])
def test_overrides_given_as_the_path_are_a_config_error_saying_so(path):
    """`load_config(["a.b=1"])` (the overrides given first, as the path) raised Path's bare TypeError "expected str,
    bytes or os.PathLike object, not list", naming neither the argument nor the fix."""
    err = raises_config_error("config path", lambda: load_config(path))
    if not isinstance(path, int):
        assert "overrides=" in str(err), str(err)


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"detector.half": "false"}, "'false'"),
        ({"appearance.bank_capacity": "20"}, "'20'"),
        ({"detector.confidence": "0.3"}, "'0.3'"),
        (['detector.half="true"'], "'true'"),  # quoted on the command line
    ],
)
def test_a_bool_or_number_given_as_text_is_named_as_text(overrides, text):
    """`{"detector.half": "false"}` said "expected true or false, got 'false'", which read as a contradiction: the
    error says the value is text, and to write it unquoted."""
    with pytest.raises(ConfigError, match=f"got the text {text} \\(quoted in YAML, or a str in a Python dict"):
        load_config(None, overrides)


def test_text_that_is_no_bool_or_number_gets_no_quoting_hint():
    with pytest.raises(ConfigError) as caught:
        load_config(None, ["appearance.bank_capacity=ten"])
    assert str(caught.value) == "appearance.bank_capacity: expected an integer, got 'ten'"


@pytest.mark.parametrize(
    ("value", "shown"), [("1e3", "'1e3' (write 1000)"), ("100.0", "100.0 (write 100)"), ("1.5", "1.5")]
)
def test_a_whole_number_written_another_way_for_an_integer_key_says_how_to_write_it(value, shown):
    """`--set appearance.bank_capacity=1e3` was refused as "expected an integer, got '1e3'" with no word of what
    to write instead; a whole number in another form (an exponent, a decimal point) is now given as an integer."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, [f"appearance.bank_capacity={value}"])
    assert str(caught.value) == f"appearance.bank_capacity: expected an integer, got {shown}"


def test_a_section_given_as_a_mapping_keeps_the_keys_set_before_it(tmp_path):
    """`--set 'appearance={topk: 2}'` after a file setting `appearance.bank_capacity: 5`, or `cfg.replace({"appearance":
    {"topk": 2}})`, replaced the whole section: bank_capacity silently went back to its default 30. A mapping given
    for a section sets the keys it names and leaves the others as they were."""
    path = tmp_path / "cfg.yaml"
    path.write_text("appearance:\n  bank_capacity: 5\n")
    merged = load_config(path, ["appearance={topk: 2}"]).appearance
    assert (merged.bank_capacity, merged.topk) == (5, 2)
    cfg = load_config(None, ["appearance.bank_capacity=5"]).replace({"appearance": {"topk": 2}})
    assert (cfg.appearance.bank_capacity, cfg.appearance.topk) == (5, 2)
    both = load_config(None, {"appearance.bank_capacity": 5, "appearance": {"topk": 2}}).appearance
    assert (both.bank_capacity, both.topk) == (5, 2)
    assert load_config(path, ["appearance={}"]).appearance.bank_capacity == 5


@pytest.mark.parametrize(
    "overrides, said",
    [([3], "3"), (["appearance.topk=2", None], "None"), ({3: 5}, "3"), ({("appearance", "topk"): 2}, "appearance")],
)
def test_an_override_that_is_no_text_is_a_config_error_not_an_attribute_error(overrides, said):
    """`load_config(None, overrides=[3])` or `{3: 5}` failed with AttributeError ('int' object has no attribute
    'partition'/'split'), a traceback: it is the caller's config fault, said in one line naming what was given."""
    raises_config_error(said, lambda: load_config(None, overrides=overrides), also="override")


def test_a_yaml_merge_key_loads_and_its_keys_may_be_overridden(tmp_path):
    """`<<: *common` (YAML's merge key) was refused as "invalid YAML ... could not determine a constructor for the
    tag 'tag:yaml.org,2002:merge'"; it merges as YAML says, a key written beside it winning over the merged one,
    while a key written twice beside it is still refused."""
    path = tmp_path / "cfg.yaml"
    text = "appearance:\n  <<: {topk: 2, min_score: 0.4}\n"
    path.write_text(text + "  topk: 3\n")
    cfg = load_config(path)
    assert (cfg.appearance.topk, cfg.appearance.min_score) == (3, 0.4)
    path.write_text(text + "  topk: 3\n  topk: 5\n")
    raises_config_error("topk", lambda: load_config(path), also="twice")
    path.write_text("detector: &cpu {threads: 2, half: false}\nreid:\n  <<: *cpu\n  batch_size: 8\n")
    reid = load_config(path).reid
    assert (reid.threads, reid.half, reid.batch_size) == (2, False, 8)


@pytest.mark.parametrize("text", ["inf", "nan", "-Infinity", "NaN"])
def test_unquoted_inf_or_nan_is_not_told_to_be_written_unquoted(text):
    """`--set lifecycle.max_seconds_lost=inf` said "got the text 'inf' (quoted in YAML ...: write the value itself,
    unquoted)", but it was written unquoted: YAML reads inf and nan as text (its own forms, .inf and .nan, are
    numbers), and the key takes finite numbers only, so no hint to unquote it."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, [f"lifecycle.max_seconds_lost={text}"])
    assert str(caught.value) == f"lifecycle.max_seconds_lost: expected a number, got {text!r}"


@pytest.mark.parametrize(
    ("override", "meant"),
    [
        ("bank_capacity=3", "did you mean 'appearance.bank_capacity'?"),
        ("threads=2", "did you mean 'detector.threads' or 'reid.threads'?"),
        ("appearance.TopK=2", "did you mean 'appearance.topk'?"),
        ("appearance.BANK_CAPACITY=3", "did you mean 'appearance.bank_capacity'?"),
    ],
)
def test_a_key_without_its_section_or_in_capitals_suggests_the_key(override, meant):
    """`--set bank_capacity=3` (the section left out) and `--set appearance.TopK=2` listed every known key of the
    level instead of naming the one meant; the section's key (or keys) holding that name, or the key in its case,
    is suggested."""
    raises_config_error(meant, lambda: load_config(None, [override]))


@pytest.mark.parametrize("override", ["appearance=", "appearance=null", "appearance=~"])
def test_a_section_given_no_value_does_not_drop_the_keys_set_before_it(tmp_path, override):
    """`--set appearance=` after a file setting `appearance.bank_capacity: 5` silently reset the whole section to
    its defaults (bank_capacity 30), as did `cfg.replace({"appearance": None})`: a ConfigError naming the section."""
    path = tmp_path / "cfg.yaml"
    path.write_text("appearance:\n  bank_capacity: 5\n")
    raises_config_error("appearance", lambda: load_config(path, [override]), also="section")
    cfg = load_config(path)
    raises_config_error("appearance", lambda: cfg.replace({"appearance": None}), also="section")


@pytest.mark.parametrize("value", [0.8, [0.8], "bottom"])
def test_a_wrong_shaped_camera_exclude_says_what_it_must_be_not_its_type(value):
    """`camera_exclude: 0.8` said "expected a list of tuple, got 0.8" (Python's type names); it now says what the
    key is written as: a list of [x1, y1, x2, y2] regions as fractions of the frame, one line naming the key."""
    error = raises_config_error("motion.camera_exclude", lambda: parse_config({"motion": {"camera_exclude": value}}))
    said = str(error)
    assert "a list of [x1, y1, x2, y2] regions as fractions of the frame" in said and "tuple" not in said, said
    assert said.startswith("motion.camera_exclude: expected ") and "\n" not in said, said


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["reid.wide_from=0", "reid.wide_threads=3"], "reid.wide_threads=3 is not used: reid.wide_from is 0"),
        (["reid.wide_from=64", "reid.batch_size=32"], "reid.wide_from=64 is not used: no ReID batch is larger than"),
        # batches of at most 16 crops (the largest static batch, the power of two at most 24): said nothing before
        (
            ["reid.wide_from=20", "reid.batch_size=24"],
            "reid.wide_from=20 is not used: no ReID batch is larger than 16, the largest static batch for "
            "reid.batch_size=24 (the power of two at most it; larger calls are chunked), so every batch runs on "
            "reid.threads; set reid.wide_from to at most 16",
        ),
    ],
)
def test_wide_reid_threads_that_no_batch_reaches_are_told_unused(overrides, said, monkeypatch):
    """`reid.wide_threads` without `reid.wide_from`, or a `wide_from` above `reid.batch_size` (calls are chunked to
    it), changed nothing and said nothing: every batch ran on `reid.threads`. Each is one unused-setting line (a
    warning of `track`, `track batch` and `track eval`); the settings that do apply say nothing."""
    from tracker.config import unused_settings

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # (device auto on the CPU, where OpenVINO runs)

    lines = unused_settings(load_config(overrides=overrides))
    assert len(lines) == 1 and lines[0].startswith(said), lines
    assert unused_settings(load_config(overrides=["reid.wide_from=2", "reid.wide_threads=2"])) == []
    # (the defaults, wide_from 2 and wide_threads 2, and wide_from=0 alone: its default wide_threads is said of nothing)
    assert unused_settings(load_config()) == unused_settings(load_config(overrides=["reid.wide_from=0"])) == []


@pytest.mark.parametrize("batch_size", [1, 2])
def test_a_small_reid_batch_size_alone_is_told_nothing_of_the_default_wide_from(batch_size, monkeypatch):
    """`reid.batch_size=1` alone (one crop per inference: a tight memory budget) was warned "reid.wide_from=2 is not
    used ... set reid.wide_from to at most 1" since wide_from's default became 2 (stop 74): a key the user never set,
    and advice that would run single crops on two threads, which loses. The default wide_from is said of nothing, as
    the default wide_threads; one the user sets above the largest batch is still said."""
    from tracker.config import unused_settings

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # (device auto on the CPU, where OpenVINO runs)

    assert unused_settings(load_config(overrides=[f"reid.batch_size={batch_size}"])) == []
    said = unused_settings(load_config(overrides=[f"reid.batch_size={batch_size}", "reid.wide_from=4"]))
    assert len(said) == 1 and said[0].startswith("reid.wide_from=4 is not used: no ReID batch is larger than"), said


@pytest.mark.parametrize("where", [["device=cuda"], ["device=auto"], ["device=cpu", "reid.backend=torch"]])
def test_a_wide_from_above_the_batches_is_not_blamed_on_the_batch_size_where_pytorch_runs_the_reid(where, monkeypatch):
    """`reid.batch_size=24 reid.wide_from=20` on a GPU (or with `reid.backend=torch`) was warned "not used: no ReID
    batch is larger than 16 ... so every batch runs on reid.threads; set reid.wide_from to at most 16": there the
    PyTorch forward runs every batch, reid.threads and wide_from are not read, and the advice changes nothing. It is
    said where OpenVINO may run the ReID (the CPU, not backend torch) alone."""
    from tracker.config import unused_settings

    above = ["reid.wide_from=20", "reid.batch_size=24"]
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # (a GPU machine)
    assert unused_settings(load_config(overrides=[*above, *where])) == []
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    said = unused_settings(load_config(overrides=[*above, "device=cpu"]))
    assert len(said) == 1 and said[0].startswith("reid.wide_from=20 is not used"), said


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "auto"])
def test_wide_reid_batches_over_requests_on_a_gpu_are_not_said_to_oversubscribe_the_cpu(device, monkeypatch):
    """`reid.wide_from` with `reid.requests=2` was warned to oversubscribe the CPU on a GPU device too, where the
    PyTorch forward runs the ReID and ignores both (OpenVINO runs on the CPU alone): said only where the models run
    on the CPU (`device: cpu`, or `auto` without CUDA)."""
    from tracker.config import unused_settings

    wide = ["reid.wide_from=2", "reid.requests=2", "reid.wide_recheck_after=0"]
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # (a GPU machine)
    assert unused_settings(load_config(overrides=[*wide, f"device={device}"])) == []
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    for cpu in ("cpu", "auto"):
        said = unused_settings(load_config(overrides=[*wide, f"device={cpu}"]))
        assert len(said) == 1 and "oversubscribes the CPU" in said[0], (cpu, said)


@pytest.mark.parametrize("where", [["device=cuda"], ["device=auto"], ["reid.backend=torch", "device=cpu"]])
def test_wide_threads_without_wide_from_where_pytorch_runs_the_reid_gives_no_advice_that_does_nothing(
    where, monkeypatch
):
    """`reid.wide_threads=3` without `reid.wide_from` on a GPU (or with `reid.backend=torch`) was told "set
    reid.wide_from, the crops a batch needs to run on wide_threads": there PyTorch runs the ReID and reads neither
    key, so the advice changed nothing. It is still said unused (it is, everywhere), with why and without that
    advice."""
    from tracker.config import unused_settings

    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # (a GPU machine)
    said = unused_settings(load_config(overrides=["reid.wide_from=0", "reid.wide_threads=3", *where]))
    assert len(said) == 1 and said[0].startswith("reid.wide_threads=3 is not used"), said
    assert "set reid.wide_from" not in said[0] and "PyTorch" in said[0], said
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # (where OpenVINO may run it: the advice stands)
    said = unused_settings(load_config(overrides=["reid.wide_from=0", "reid.wide_threads=3", "device=cpu"]))
    assert len(said) == 1 and "set reid.wide_from" in said[0], said


@pytest.mark.parametrize("where", [["device=cuda"], ["device=auto"], ["reid.backend=torch", "device=cpu"]])
def test_wide_threads_where_pytorch_runs_the_reid_is_said_unused_with_the_default_wide_from(where, monkeypatch):
    """`reid.wide_threads=4` where PyTorch runs the ReID (a GPU, `reid.backend=torch`) was said unused ("PyTorch
    ... reads neither") until `reid.wide_from`'s default became 2 (stop 74): the line asked for wide_from 0, so
    from then on it said nothing, and nothing else did (the embedder logs reid.threads and wide_from only). It is
    said again, whatever wide_from; the default wide_threads is said of nothing."""
    from tracker.config import unused_settings

    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # (a GPU machine)
    said = unused_settings(load_config(overrides=["reid.wide_threads=4", *where]))
    assert len(said) == 1 and said[0].startswith("reid.wide_threads=4 is not used"), said
    assert "set reid.wide_from" not in said[0] and "PyTorch" in said[0], said
    assert unused_settings(load_config(overrides=where)) == []


@pytest.mark.parametrize("gpu_here", [True, False])
def test_track_batch_on_a_cluster_does_not_decide_device_auto_by_the_drivers_gpu(
    gpu_here, tmp_path, monkeypatch, capsys
):
    """`track batch --engine ray --address HOST:PORT` with `device: auto`: the videos run on the cluster's nodes, where
    auto resolves, but the unused-settings lines were decided by the driver's CUDA: a driver with a GPU left out the
    CPU nodes' `reid.wide_from` no batch reaches, a driver without one said it as if every node ran on the CPU. It is
    said either way, of the nodes without a GPU; a batch on this machine (a local Ray) still goes by its devices."""
    import sys

    from tracker.cli import main

    monkeypatch.setattr("torch.cuda.is_available", lambda: gpu_here)
    monkeypatch.setitem(sys.modules, "ray", None)  # (`import ray` fails: the batch stops after its config is read)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    Path("a.mp4").touch()
    batch = ["batch", "a.mp4", "--out", "out", "--engine", "ray", "--set", "reid.wide_from=20", "--set",
             "reid.batch_size=24", "--set", "reid.model=none"]  # fmt: skip
    assert main([*batch, "--address", "10.0.0.7:6379"]) == 2
    err = capsys.readouterr().err
    assert "reid.wide_from=20 is not used" in err and "where a node has no GPU" in err, err
    assert main(batch) == 2  # (a local Ray: its tasks see this machine's devices)
    err = capsys.readouterr().err
    assert ("reid.wide_from=20 is not used" in err) != gpu_here and "where a node has no GPU" not in err, err


def test_wide_reid_batches_over_requests_on_cpu_0_are_said_to_oversubscribe_the_cpu(monkeypatch):
    """`device: cpu:0` (torch's name of the CPU, which the config accepts) was taken for a GPU: `reid.wide_from` with
    `reid.requests=2` oversubscribed the cores without a word, as a `wide_from` no batch reaches went unsaid."""
    from tracker.config import unused_settings

    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # (a GPU machine, told to use the CPU)
    always = ["reid.wide_from=2", "reid.requests=2", "reid.wide_recheck_after=0"]
    said = unused_settings(load_config(overrides=[*always, "device=cpu:0"]))
    assert len(said) == 1 and "oversubscribes the CPU" in said[0], said
    said = unused_settings(load_config(overrides=["reid.wide_from=20", "reid.batch_size=24", "device=cpu:0"]))
    assert len(said) == 1 and said[0].startswith("reid.wide_from=20 is not used"), said


@pytest.mark.parametrize("threads", [0, 2])
def test_wide_reid_batches_split_over_requests_are_told_they_oversubscribe_the_cores(threads, caplog):
    """`reid.wide_from` with `reid.requests=2`: each of the two requests of a split call ran its batch of wide_from
    crops or more on wide_threads threads (0: all cores) at the same time, twice the threads of the cores, without a
    word. It is one warning line where the config is loaded (`log_unused_settings`); with one request, a wide_from
    no split part reaches (above 8 crops: such calls are not split; above the largest static batch, the power of two
    at most reid.batch_size: 5 with batch_size 6 was warned of) or the PyTorch forward, none."""
    from tracker.config import log_unused_settings, unused_settings

    wide = ["reid.wide_from=2", f"reid.wide_threads={threads}", "reid.backend=openvino", "device=cpu"]
    wide += ["reid.wide_recheck_after=0"]  # (always wide: with a recheck, see the test below)
    with caplog.at_level(logging.WARNING, logger="tracker.config"):
        log_unused_settings(load_config(overrides=[*wide, "reid.requests=2"]))
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith("reid.wide_from=2 with reid.requests=2 oversubscribes the CPU"), said
    assert ("all cores" in said[0]) == (threads == 0), said
    for fine in (
        ["reid.requests=1"],
        ["reid.requests=2", "reid.wide_from=9"],
        ["reid.requests=2", "reid.backend=torch"],
        # batches of at most 4 crops (the largest static batch: a power of two), so parts of at most 4
        ["reid.requests=2", "reid.batch_size=6", "reid.wide_from=5"],
    ):
        said = unused_settings(load_config(overrides=[*wide, *fine]))
        if "reid.wide_from=5" in fine:  # no batch reaches 5 crops: told unused (it was not), not oversubscribing
            assert len(said) == 1 and said[0].startswith("reid.wide_from=5 is not used: no ReID batch is larger than 4")
        else:
            assert said == [], fine


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_split_requests_with_measured_wide_batches_are_not_said_to_oversubscribe_the_cpu(device, monkeypatch):
    """`reid.requests=2` set alone was told "reid.wide_from=2 with reid.requests=2 oversubscribes the CPU ... set
    reid.requests=1 or reid.wide_from=0": wide_from 2 is the default, and with `reid.wide_recheck_after` (10 by
    default) a split call runs its parts on wide_threads only where its own calls measured faster than on
    reid.threads (`ThreadChoice`), so no core is oversubscribed for long. Nothing is said; with wide_recheck_after 0
    (always wide) it is."""
    from tracker.config import unused_settings

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    for requests in (["reid.requests=2"], ["reid.requests=3", "reid.wide_from=2", "reid.wide_recheck_after=1"]):
        assert unused_settings(load_config(overrides=[*requests, f"device={device}"])) == [], requests
    said = unused_settings(load_config(overrides=["reid.requests=2", "reid.wide_recheck_after=0", f"device={device}"]))
    assert len(said) == 1 and "oversubscribes the CPU" in said[0] and "wide_recheck_after above 0" in said[0], said


_ULTRALYTICS_BOTSORT = """\
# an Ultralytics tracker file, as `yolo track tracker=botsort.yaml` reads it
tracker_type: botsort
track_high_thresh: 0.25
track_low_thresh: 0.1
new_track_thresh: 0.25
track_buffer: 30
match_thresh: 0.8
gmc_method: sparseOptFlow
proximity_thresh: 0.5
with_reid: False
"""
_BOXMOT_BYTETRACK = """\
min_conf:
  type: uniform
  default: 0.1
  range: [0.1, 0.3]
track_thresh:
  type: uniform
  default: 0.6
  range: [0.4, 0.7]
track_buffer:
  type: qrandint
  default: 30
  range: [10, 61, 10]
asso_func:
  type: choice
  default: iou
  options: [iou, giou]
variable_dt:
  default: false
"""


@pytest.mark.parametrize(
    ("text", "whose", "same", "none"),
    [
        (
            _ULTRALYTICS_BOTSORT,
            "Ultralytics' tracker YAML (tracker_type: botsort)",
            "association.high_score=0.25 association.low_score=0.1 association.new_track_score=0.25 "
            "association.max_cost=0.8 appearance.enabled=False",
            "proximity_thresh",
        ),
        (
            _BOXMOT_BYTETRACK,
            "BoxMOT's tracker YAML",
            "association.low_score=0.1 association.high_score=0.6",
            "asso_func, variable_dt",
        ),
    ],
)
def test_another_trackers_yaml_as_config_is_told_ours_for_each_setting(text, whose, same, none, tmp_path):
    """A BoxMOT or Ultralytics user gives their tracker's YAML as `--config` (the README's `--tracker` hint says
    `--config FILE`): it said "unknown config key 'tracker_type'; known keys: device, frame_rate, ..." of its first
    line (a BoxMOT file: "unknown config key 'min_conf'"), one key at a time. One error says whose file it is and,
    for every setting, ours: `key=value` where it means the same, what differs (frames), or that none is here. It
    named configs/default.yaml for the keys, which a pip-installed package lacks (pyproject ships py.typed only)."""
    path = tmp_path / "peer.yaml"
    path.write_text(text)
    err = raises_config_error(f"peer.yaml: this is {whose}", lambda: load_config(path), also=same)
    message = str(err)
    assert "track_buffer -> lifecycle.max_seconds_lost (in seconds here, not frames)" in message, message
    assert f"no counterpart here (this tracker's own rules decide): {none}." in message, message
    # where the keys are listed: what a pip-installed user has (a wheel ships no configs/default.yaml)
    assert "configs/default.yaml" not in message, message
    assert "every `track` run's OUT/config.yaml lists them" in message, message
    assert "tracker.config.config_to_yaml(TrackerConfig()) prints them" in message, message
    for told in same.split():  # each as `--set` takes it: the config reads it
        load_config(None, [told])
    with pytest.raises(ConfigError, match="this is"):  # an override does not mend another tracker's file
        load_config(path, ["association.high_score=0.5"])
    ours = tmp_path / "ours.yaml"  # one unknown key in a file of ours is still that key, at its line
    ours.write_text("association:\n  high_score: 0.3\ntrack_buffer: 30\n")
    raises_config_error("ours.yaml: line 3: unknown config key 'track_buffer'", lambda: load_config(ours))
    ours.write_text("association:\n  high_score: 0.3\ntracker_type: bytetrack\n")  # (a stray peer key in ours)
    raises_config_error("ours.yaml: line 3: unknown config key 'tracker_type'", lambda: load_config(ours))


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("detector:\n  classes: [person, car]\n", "detector.classes[0]: expected an integer, got 'person'"),
        ("detector:\n  classes: person\n", "detector.classes: expected a list written as in YAML"),
        ("classes:\n  compatible_groups: [[car, bus]]\n", "classes.compatible_groups[0][0]: expected an integer"),
    ],
)
def test_a_class_name_in_a_config_is_told_that_ids_are_numbers(written, key, tmp_path):
    """`detector.classes: [person, car]` (as a label reads) said only "expected an integer, got 'person'", not that
    classes are numbered nor which number a person is, as `--classes person` says."""
    path = tmp_path / "site.yaml"
    path.write_text(written)
    also = "(class ids are numbers, not names: COCO: 0 person, 2 car, 5 bus, 7 truck, or the ids of your detector's"
    raises_config_error(f"site.yaml: line 2: {key}", lambda: load_config(path), also=also)
    number = raises_config_error("detector.classes", lambda: load_config(None, ["detector.classes=[0.5]"]))
    assert "not names" not in str(number)  # (a number that is no id: no word about names)
