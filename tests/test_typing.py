"""The package says it is typed (`tracker/py.typed`, shipped as package data): a user's type checker reads its
annotations, so the public methods must keep theirs through the decorators they wear. `Tracker`'s one-call-at-a-time
guard was annotated `(method: Callable) -> Callable`, so mypy saw `update`, `update_detections`, `reset`, `close`
and `reopen` as `def (*Any, **Any) -> Any`: the returned tracks were `Any` and a misspelt keyword
(`frame_sise=`) passed the check. Read, not run: nothing here needs mypy installed."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path

import pytest

from tracker import Tracker, TrackerConfig
from tracker.gallery import Gallery
from tracker.gallery_guard import locked
from tracker.pipeline import _one_call_at_a_time

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_ships_its_typed_marker():
    assert (ROOT / "tracker" / "py.typed").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["tracker"]


@pytest.mark.parametrize("decorator", [_one_call_at_a_time, locked], ids=["Tracker", "Gallery"])
def test_a_method_guard_is_typed_as_the_method_it_wraps(decorator):
    """A type checker gives a decorated method the decorator's return type: it must be the method's own type (one
    type variable for the argument and the result), not a bare `Callable`."""
    hints = typing.get_type_hints(decorator)
    assert isinstance(hints["method"], typing.TypeVar), hints
    assert hints["return"] is hints["method"], hints


@pytest.mark.parametrize(
    ("owner", "name"), [(Tracker, "update"), (Tracker, "update_detections"), (Tracker, "reset"), (Gallery, "match")]
)
def test_the_guarded_public_methods_keep_their_annotations(owner, name):
    """At run time too (`help()`, IDEs that introspect): the guard's wrapper carries the method's signature."""
    method = getattr(owner, name)
    assert hasattr(method, "__wrapped__"), f"{owner.__name__}.{name} is no longer guarded: this test needs updating"
    assert typing.get_type_hints(method) == typing.get_type_hints(method.__wrapped__)
    assert "return" in typing.get_type_hints(method)


def test_the_read_only_attributes_are_typed_as_their_values():
    """`tracker.config` and `tracker.frame_rate` are descriptors (assigning another value is refused): their
    `__get__` returned `Any`, so a type checker read `tracker.config.appearance` as `Any`. Generic in the value's
    type, the descriptor gives `TrackerConfig` and `float`."""
    hints = typing.get_type_hints(Tracker)
    assert typing.get_args(hints["config"]) == (TrackerConfig,), hints
    assert typing.get_args(hints["frame_rate"]) == (float,), hints
    on_instance = typing.get_overloads(type(Tracker.__dict__["config"]).__get__)
    assert len(on_instance) == 2, "__get__ on the class gives the descriptor, on a tracker its value"
