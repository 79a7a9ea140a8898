"""Weight paths a config file gives are read from that file's folder (`detector.model`, `reid.weights`), not from the
working folder the command runs in; `--set` paths stay the working folder's."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from media import write_video
from test_cli import scene, use_fake_models

from tracker.cli import main
from tracker.config import PATH_KEYS, TrackerConfig, config_to_yaml, load_config
from tracker.weights import WEIGHTS_DIR_ENV, require_weights


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """proj/configs/site.yaml naming proj/weights/det.pt and reid.pth relative to itself, run from another folder."""
    (tmp_path / "proj" / "configs").mkdir(parents=True)
    (tmp_path / "proj" / "weights").mkdir()
    for name in ("det.pt", "reid.pth"):
        (tmp_path / "proj" / "weights" / name).write_bytes(b"weights")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.delenv(WEIGHTS_DIR_ENV, raising=False)
    return tmp_path / "proj"


def write_config(project: Path, name: str, model: str, weights: str = "osnet_x0_25_msmt17.pth") -> Path:
    path = project / "configs" / name
    path.write_text(f"device: cpu\ndetector:\n  model: {model}\nreid:\n  weights: {weights}\n")
    return path


def test_a_config_file_s_relative_weight_paths_are_read_from_its_folder(project):
    """`detector.model: ../weights/det.pt` in proj/configs/site.yaml, run from another folder, was looked up from the
    working folder: "detector weights '../weights/det.pt' not found". Both path keys are read from the file's folder
    (and held as absolute paths: a run's saved config.yaml finds them from anywhere)."""
    path = write_config(project, "site.yaml", "../weights/det.pt", "../weights/reid.pth")
    cfg = load_config(Path("..") / "proj" / "configs" / "site.yaml")
    assert cfg.detector.model == str(project / "weights" / "det.pt")
    assert cfg.reid.weights == str(project / "weights" / "reid.pth")
    assert load_config(config_to_yaml_file(cfg, path.parent / "saved.yaml")) == cfg
    assert set(PATH_KEYS) == {"detector.model", "reid.weights"}


def config_to_yaml_file(cfg: TrackerConfig, path: Path) -> Path:
    path.write_text(config_to_yaml(cfg))
    return path


def test_a_bare_name_next_to_the_config_file_is_found_and_one_elsewhere_kept(project):
    """A bare file name is looked for next to the config file too; one not there (`yolo11n.pt`, an official name
    ultralytics downloads) is kept as written."""
    (project / "configs" / "mine.pt").write_bytes(b"weights")
    cfg = load_config(write_config(project, "a.yaml", "mine.pt"))
    assert cfg.detector.model == str(project / "configs" / "mine.pt")
    assert cfg.reid.weights == "osnet_x0_25_msmt17.pth"
    assert load_config(write_config(project, "b.yaml", "yolo11n.pt")).detector.model == "yolo11n.pt"


def test_a_config_file_in_the_working_folder_keeps_its_paths_as_written(project, monkeypatch):
    """Run from the config file's own folder, both readings agree: the value stays as written (a run's saved
    config.yaml, and what `track batch` compares with a video's earlier run, unchanged)."""
    path = write_config(project, "site.yaml", "../weights/det.pt")
    monkeypatch.chdir(project / "configs")
    assert load_config(path.name).detector.model == "../weights/det.pt"


def test_set_paths_stay_relative_to_the_working_folder(project):
    """`--set detector.model=PATH` (an override) is the working folder's, as a shell's path is."""
    path = write_config(project, "site.yaml", "../weights/det.pt")
    assert load_config(path, ["detector.model=w/det.pt"]).detector.model == "w/det.pt"


def test_a_missing_path_s_error_names_it_as_written_the_path_tried_the_file_and_the_source(project):
    """A path found nowhere: the not-found error names the path as written, the path tried (the file's folder's), the
    config file and its line, and where the weights come from."""
    path = write_config(project, "site.yaml", "../weights/gone.pt")
    model = load_config(path).detector.model
    with pytest.raises(FileNotFoundError) as error:
        require_weights(model, "detector")
    said = str(error.value)
    tried = project / "weights" / "gone.pt"
    assert f"detector weights '{tried}' not found" in said, said
    assert f"'../weights/gone.pt' in {path} (line 3), read from that file's folder" in said, said
    assert "get them from Ultralytics" in said, said
    again = pickle.loads(pickle.dumps(model))  # (a batch's workers get it pickled: the error is theirs)
    assert again == model and again.origin() == model.origin()
    assert f"model: {tried}\n" in config_to_yaml(load_config(path))


def test_a_path_found_only_in_the_working_folder_is_used_with_a_warning(project, caplog):
    """A config written before the rule (its paths the working folder's) still runs, with a warning saying the
    rule and the file's line."""
    (Path("weights")).mkdir()
    Path("weights", "old.pt").write_bytes(b"weights")
    path = write_config(project, "old.yaml", "weights/old.pt")
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        assert load_config(path).detector.model == "weights/old.pt"
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith(f"{path}: line 3: detector.model 'weights/old.pt' is not in the"), said
    assert "read from its own folder" in said[0], said


def test_a_path_in_the_weights_folder_is_kept_as_written_and_found_there(project, monkeypatch, caplog):
    """`detector.model: yolo/det.pt` where `$TRACKER_WEIGHTS_DIR/yolo/det.pt` holds it (not next to the config file):
    kept as written, without a warning, and found in that folder; joined to the config file's folder it was found
    nowhere."""
    folder = project.parent / "weights_dir"
    (folder / "yolo").mkdir(parents=True)
    (folder / "yolo" / "det.pt").write_bytes(b"weights")
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(folder))
    with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
        model = load_config(write_config(project, "site.yaml", "yolo/det.pt")).detector.model
    assert model == "yolo/det.pt" and type(model) is str
    assert require_weights(model, "detector") == folder / "yolo" / "det.pt"
    assert not caplog.records, caplog.text


def test_a_run_s_saved_config_is_read_back_from_any_folder_without_a_warning(project, tmp_path, monkeypatch, caplog):
    """`track --config site.yaml` run in site.yaml's folder saved `../weights/det.pt` as written in OUT/config.yaml
    (whose header says `--config config.yaml` tracks with the same config); read back, it was looked up from OUT's
    folder: a warning told the user to rewrite the file the tracker wrote, and from another folder it was not found.
    The saved file holds the absolute paths the run used."""
    use_fake_models(monkeypatch)
    write_config(project, "site.yaml", "../weights/det.pt", "../weights/reid.pth")
    video = write_video(tmp_path / "walk.avi", scene(3))
    monkeypatch.chdir(project / "configs")
    assert main([str(video), "--config", "site.yaml", "--out", "run", "--no-save-video", "-q"]) == 0
    for folder in (project / "configs", tmp_path / "elsewhere"):
        monkeypatch.chdir(folder)
        with caplog.at_level(logging.WARNING, logger="tracker.config_load"):
            cfg = load_config(project / "configs" / "run" / "config.yaml")
        assert cfg.detector.model == str(project / "weights" / "det.pt"), folder
        assert cfg.reid.weights == str(project / "weights" / "reid.pth"), folder
        assert not caplog.records, caplog.text
