"""The ultralytics detector wrapper with the shared weights, and its errors."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tracker import load_config
from tracker.detector import build_detector


@pytest.fixture(scope="module")
def bus():
    from ultralytics.utils import ASSETS

    return cv2.imread(str(ASSETS / "bus.jpg"))


@pytest.mark.parametrize("model", ["yolov8n_int8_openvino_model", "yolov8n.pt"])
def test_shared_yolov8n_finds_the_people_on_the_bus(shared_weights, bus, model):
    cfg = load_config(None, overrides=[f"detector.model={shared_weights / model}"])
    detector = build_detector(cfg.detector, torch.device("cpu"))
    boxes, scores, classes = detector(bus)
    assert boxes.shape[1] == 4 and len(boxes) == len(scores) == len(classes)
    assert (classes == 0).all(), "default classes: people only"
    people = boxes[scores >= 0.5]
    assert 3 <= len(people) <= 5, f"bus.jpg shows 4 people, found {len(people)} confident boxes"
    heights = people[:, 3] - people[:, 1]
    assert (heights > 0.3 * bus.shape[0]).all(), "people on bus.jpg are large"


def test_missing_detector_weights_is_a_clear_error(tmp_path):
    cfg = load_config(None, overrides=[f"detector.model={tmp_path / 'nope.pt'}"])
    with pytest.raises(FileNotFoundError, match=r"nope\.pt"):
        build_detector(cfg.detector, torch.device("cpu"))


@pytest.mark.parametrize("weights_dir", [None, "mistyped"])
def test_a_failed_download_is_not_called_a_bad_model(tmp_path, monkeypatch, weights_dir):
    """An official name that ultralytics cannot download (offline) keeps ultralytics' own ConnectionError: it
    must not read as "not a model ultralytics can load", which blames a file the user does not have. Where
    $TRACKER_WEIGHTS_DIR names no folder (mistyped, not mounted), the error says so: "put yolo11n.pt in
    $TRACKER_WEIGHTS_DIR" alone sent the user to the folder they meant, which holds it."""
    import ultralytics

    def offline(*_args, **_kwargs):
        raise ConnectionError("Download failure for yolo11n.pt. Environment may be offline.")

    monkeypatch.chdir(tmp_path)
    if weights_dir is None:
        monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    else:
        monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(tmp_path / weights_dir))
    monkeypatch.setattr(ultralytics, "YOLO", offline)
    with pytest.raises(ConnectionError, match="Download failure") as info:
        build_detector(load_config(None).detector, torch.device("cpu"))
    message = str(info.value)
    assert "--set detector.model=PATH" in message and "TRACKER_WEIGHTS_DIR" in message  # what to do, on the CLI
    assert 'overrides=["detector.model=PATH"]' in message  # and from Python
    assert "\n" not in str(info.value)
    said = f"$TRACKER_WEIGHTS_DIR, {tmp_path / 'mistyped'}, which is no folder"
    assert (said in message) == (weights_dir is not None), message


def test_an_exported_model_that_fails_to_load_is_one_error_and_keeps_the_threads():
    """An exported model loads on the first frame: ultralytics' AssertionError becomes one ValueError naming the
    model, and torch's thread count (which ultralytics' device setup lowers first) is given back all the same."""
    from tracker.detector import UltralyticsDetector

    class BrokenExport:  # no `.model` module (not PyTorch) and no predictor yet: the first predict loads it
        predictor = None

        def predict(self, *_args, **_kwargs):
            torch.set_num_threads(1)
            raise AssertionError("model='broken_openvino_model' is not a supported format\nmore lines")

    cfg = load_config(None, overrides=["detector.model=broken_openvino_model"]).detector
    detector = UltralyticsDetector(BrokenExport(), cfg, torch.device("cpu"))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(ValueError, match=r"broken_openvino_model is not a model ultralytics can load \(Assert"):
            detector(np.zeros((8, 8, 3), np.uint8))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_a_file_that_is_no_detector_is_not_called_a_damaged_copy(tmp_path):
    """ReID weights given as detector.model said "a damaged copy: get it again from Ultralytics": the file is fine,
    it is not a detector; the error says what detector.model takes."""
    weights = tmp_path / "osnet_x0_25_msmt17.pth"
    torch.save({"conv1.conv.weight": torch.zeros(1)}, weights)
    cfg = load_config(None, overrides=[f"detector.model={weights}"]).detector
    with pytest.raises(ValueError) as info:
        build_detector(cfg, torch.device("cpu"))
    said = str(info.value)
    assert f"detector.model {weights} is not a model ultralytics can load" in said, said
    assert "it takes a YOLO model (.pt, an OpenVINO export folder, .onnx, .engine ...)" in said, said
    assert "a damaged copy:" not in said and f"if {weights} is one, the copy is damaged" in said, said


def test_an_onnx_model_without_onnxruntime_says_what_to_install_before_ultralytics_tries(tmp_path, monkeypatch, capfd):
    """`--set detector.model=yolo.onnx` without onnxruntime: ultralytics printed two "requirements: AutoUpdate
    skipped (offline)" warnings (past --quiet; online it pip-installs the package into the environment itself), then
    the error said "needs a package that is not installed: No module named 'onnxruntime'" without what to install.
    Now one error names the package, before ultralytics is asked to load the model."""
    import sys

    import ultralytics

    model = tmp_path / "yolo.onnx"
    model.write_bytes(b"not loaded")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as where it is not installed
    monkeypatch.setattr(ultralytics, "YOLO", lambda *args, **kwargs: pytest.fail("ultralytics was asked to load it"))
    cfg = load_config(None, overrides=[f"detector.model={model}"])
    with pytest.raises(ImportError) as info:
        build_detector(cfg.detector, torch.device("cpu"))
    said = str(info.value)
    assert said.startswith(f"detector.model {model} is an ONNX model, which ultralytics runs with onnxruntime"), said
    assert said.endswith(": pip install onnxruntime (onnxruntime-gpu for CUDA), or give the model's .pt file"), said
    assert "requirements" not in capfd.readouterr().err


@pytest.mark.parametrize("kept", [["metadata.yaml", "yolov8n.xml"], ["metadata.yaml", "yolov8n.bin"]])
def test_an_incomplete_openvino_folder_names_the_missing_file(tmp_path, kept):
    """A half-copied export said "not a model ultralytics can load (RuntimeError: Exception from
    src/inference/src/cpp/core.cpp:84:)" without its .bin, "(StopIteration)" without its .xml."""
    folder = tmp_path / "yolov8n_int8_openvino_model"
    folder.mkdir()
    for name in kept:
        (folder / name).write_text("x")
    cfg = load_config(None, overrides=[f"detector.model={folder}"])
    with pytest.raises(FileNotFoundError) as info:
        build_detector(cfg.detector, torch.device("cpu"))
    message = str(info.value)
    missing = str(folder / "yolov8n.bin") + " is missing" if "yolov8n.xml" in kept else "it holds no .xml model"
    assert message.startswith(f"detector.model {folder} is an incomplete OpenVINO export: {missing}"), message
    assert "Ultralytics" in message and "\n" not in message  # where models come from, on one line


def test_a_damaged_export_keeps_openvinos_reason_and_says_where_models_come_from():
    """OpenVINO's first line is a source location; the reason is its last ("Incorrect weights in bin file!")."""
    from tracker.detector import UltralyticsDetector

    class TruncatedBin:
        predictor = None

        def predict(self, *_args, **_kwargs):
            raise RuntimeError(
                "Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'is_valid_weights_range' failed at "
                "src/core/xml_util/src/xml_deserialize_util.cpp:900:\nIncorrect weights in bin file!\n\n"
            )

    cfg = load_config(None, overrides=["detector.model=y_openvino_model"]).detector
    detector = UltralyticsDetector(TruncatedBin(), cfg, torch.device("cpu"))
    with pytest.raises(ValueError) as info:
        detector(np.zeros((8, 8, 3), np.uint8))
    message = str(info.value)
    assert "(RuntimeError: Exception from src/inference/src/cpp/core.cpp:84: ... Incorrect weights in bin file!)" in (
        message
    )
    assert "get it again from Ultralytics" in message and "\n" not in message


@pytest.mark.parametrize(("pytorch", "configured", "during"), [(False, 1, 1), (False, 0, 2), (True, 1, 2)])
def test_an_exported_model_pre_and_post_processes_on_detector_threads(pytorch, configured, during):
    """An exported model's network runs on its runtime's threads; ultralytics' torch work around it (the frame to a
    tensor, NMS) runs on `detector.threads` torch threads (0: the caller's), and the caller's count is back after.
    A PyTorch model's network is torch itself: it keeps the caller's threads."""
    from tracker.detector import UltralyticsDetector

    class Result:
        class boxes:  # the attribute name of ultralytics' results
            xyxy = conf = cls = torch.zeros((0,))

    class Model:
        predictor = object()  # loaded

        def predict(self, _frame, **_options):
            self.threads = torch.get_num_threads()
            return [Result()]

    model = Model()
    if pytorch:
        model.model = torch.nn.Identity()
    cfg = load_config(None, overrides=["detector.model=m_openvino_model", f"detector.threads={configured}"]).detector
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        UltralyticsDetector(model, cfg, torch.device("cpu"))(np.zeros((8, 8, 3), np.uint8))
        assert (model.threads, torch.get_num_threads()) == (during, 2)
    finally:
        torch.set_num_threads(threads)


def test_detector_keeps_torch_thread_count(shared_weights, bus):
    threads = torch.get_num_threads()
    cfg = load_config(None, overrides=[f"detector.model={shared_weights / 'yolov8n.pt'}"])
    build_detector(cfg.detector, torch.device("cpu"))(np.ascontiguousarray(bus))
    assert torch.get_num_threads() == threads


def test_official_asset_name_is_left_to_ultralytics_but_other_names_are_errors(tmp_path, monkeypatch):
    from tracker.weights import require_weights

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    official = {"yolo11n.pt", "yolov8n.pt"}
    assert require_weights("yolo11n.pt", "detector", downloadable=official) == Path("yolo11n.pt")
    with pytest.raises(FileNotFoundError, match=r"my_model\.pt.*detector\.model"):
        require_weights("my_model.pt", "detector", downloadable=official)
    with pytest.raises(FileNotFoundError, match=r"yolo11n\.pt"):  # an official name inside a folder is a path
        require_weights(str(tmp_path / "sub" / "yolo11n.pt"), "detector", downloadable=official)


def test_a_detector_named_without_pt_as_ultralytics_takes_it_is_asked_whether_the_pt_is_meant(tmp_path, monkeypatch):
    """`--set detector.model=yolov8n` (ultralytics' own `YOLO("yolov8n")` takes the .pt of that name) said only "not
    found ... get them from Ultralytics", with yolov8n.pt in $TRACKER_WEIGHTS_DIR. Now it asks whether yolov8n.pt is
    meant where that file is found or is an official download; other names are told as before."""
    from tracker.weights import require_weights

    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "yolov8n.pt").write_bytes(b"x")
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(tmp_path / "weights"))
    for name, official in (("yolov8n", set()), ("yolo11s", {"yolo11s.pt"})):
        with pytest.raises(FileNotFoundError) as info:
            require_weights(name, "detector", downloadable=official)
        said = str(info.value)
        assert said.endswith(
            f"; did you mean {name}.pt? (`--set detector.model={name}.pt` on the command line, "
            f'overrides=["detector.model={name}.pt"] in Python)'
        ), said
    with pytest.raises(FileNotFoundError) as info:
        require_weights("my_model", "detector", downloadable={"yolo11s.pt"})
    assert "did you mean" not in str(info.value) and "get them from Ultralytics" in str(info.value)


def test_a_missing_weights_file_says_where_it_was_looked_for(tmp_path, monkeypatch):
    """The error said "looked at the path or in $TRACKER_WEIGHTS_DIR" whether or not that variable was set."""
    from tracker.weights import require_weights

    def error(name: str) -> str:
        with pytest.raises(FileNotFoundError) as info:
            require_weights(name, "reid")
        return str(info.value)

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_WEIGHTS_DIR", raising=False)
    said = error("osnet_x0_25_msmt17.pth")
    assert "(looked at the path; $TRACKER_WEIGHTS_DIR, a folder of weights, is not set)" in said, said
    assert "https://kaiyangzhou.github.io/deep-person-reid/MODEL_ZOO" in said, "where to get it, as a link"
    (tmp_path / "weights").mkdir()
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(tmp_path / "weights"))
    said = error("osnet_x0_25_msmt17.pth")
    assert f"(looked at the path and in $TRACKER_WEIGHTS_DIR, {tmp_path / 'weights'})" in said, said
    said = error(str(tmp_path / "osnet.pth"))  # a full path is looked for there only
    assert "(looked at the path)" in said, said


def test_a_weights_dir_that_is_no_folder_is_said_so(tmp_path, monkeypatch):
    """$TRACKER_WEIGHTS_DIR mistyped (or not mounted): the error named the folder as if it had been searched, and the
    user went looking for the file in it; it now says the folder is not there."""
    from tracker.weights import require_weights

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(tmp_path / "wieghts"))
    with pytest.raises(FileNotFoundError) as info:
        require_weights("osnet_x0_25_msmt17.pth", "reid")
    assert f"in $TRACKER_WEIGHTS_DIR, {tmp_path / 'wieghts'}, which is no folder)" in str(info.value)
    (tmp_path / "weights").mkdir()
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(tmp_path / "weights"))
    with pytest.raises(FileNotFoundError) as info:
        require_weights("osnet_x0_25_msmt17.pth", "reid")
    assert f"in $TRACKER_WEIGHTS_DIR, {tmp_path / 'weights'})" in str(info.value), "a folder there: as before"


def test_a_weights_dir_given_with_a_tilde_is_the_home_folder(tmp_path, monkeypatch):
    """`TRACKER_WEIGHTS_DIR="~/weights"` (quoted, so the shell leaves the `~`): the file in ~/weights was not found,
    and the error named a folder "~/weights" relative to the working directory. A `~/name` weights path is a
    full path, looked for there only."""
    from tracker.weights import require_weights

    home, work = tmp_path / "home", tmp_path / "work"
    (home / "weights").mkdir(parents=True)
    work.mkdir()
    (home / "weights" / "osnet.pth").write_bytes(b"weights")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", "~/weights")
    assert require_weights("osnet.pth", "reid") == home / "weights" / "osnet.pth"
    with pytest.raises(FileNotFoundError) as info:
        require_weights("other.pth", "reid")
    assert f"in $TRACKER_WEIGHTS_DIR, {home / 'weights'})" in str(info.value)
    with pytest.raises(FileNotFoundError) as info:
        require_weights("~/other.pth", "reid")
    assert "(looked at the path)" in str(info.value)


def test_weights_dir_environment_variable(shared_weights, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKER_WEIGHTS_DIR", str(shared_weights))
    cfg = load_config(None, overrides=["detector.model=yolov8n_int8_openvino_model"])
    assert build_detector(cfg.detector, torch.device("cpu")).model is not None


def test_feature_maps_need_a_pytorch_model(shared_weights):
    cfg = load_config(None, overrides=[f"detector.model={shared_weights / 'yolov8n_int8_openvino_model'}"])
    with pytest.raises(ValueError, match=r"auto needs a PyTorch \(\.pt\)"):
        build_detector(cfg.detector, torch.device("cpu"), keep_features=True)


def test_fp16_on_cuda_is_asked_without_ultralytics_deprecation_warnings(monkeypatch):
    """Seen on an H200: `half=True` made ultralytics 8.4 warn once per frame ('half' is deprecated). The detector
    asks for fp16 in the form the installed ultralytics takes, and ultralytics' own argument check (the public
    `get_cfg`, which maps deprecated keys as `Model.predict` does) accepts it silently and reads it as fp16."""
    import ultralytics.cfg

    from tracker.detector import UltralyticsDetector

    class Result:
        class boxes:  # the attribute name of ultralytics' results
            xyxy = conf = cls = torch.zeros((0,))

    class CudaModel:
        model = torch.nn.Identity()  # a PyTorch model: the device and precision options are passed
        predictor = object()

        def predict(self, _frame, **options):
            self.options = options
            return [Result()]

    cfg = load_config(None, overrides=["detector.model=yolov8n.pt", "detector.half=true"]).detector
    model = CudaModel()
    UltralyticsDetector(model, cfg, torch.device("cuda"))(np.zeros((8, 8, 3), np.uint8))
    options = dict(model.options)
    assert options["device"] == "cuda" and "half" not in options
    warnings = []
    monkeypatch.setattr(ultralytics.cfg, "deprecation_warn", lambda *args, **kwargs: warnings.append(args))
    checked = ultralytics.cfg.get_cfg(options)  # public: maps deprecated keys, then checks types and values
    assert warnings == [] and checked.quantize == 16


def test_an_openvino_detector_runs_unpinned_with_ultralytics_settings_and_the_same_boxes(
    shared_weights, bus, tmp_path, monkeypatch
):
    """`detector.cpu_pinning: false` (default): the compiled model ultralytics runs has OpenVINO's thread pinning off
    and every other thread setting ultralytics chose (threads, streams, hint, precision); `true` keeps ultralytics'
    own pinned compile. The boxes are the same bit for bit; the next build loads the unpinned compile from its blob
    (`blob_cache`); no OpenVINO or torch setting of the caller moves."""
    import openvino as ov

    from tracker.detector import _openvino_holder
    from tracker.reid import blob_cache
    from tracker.reid.openvino import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    loaded = []
    load_or_compile = blob_cache.load_or_compile

    def watched(*args, **kwargs):
        compiled, from_blob = load_or_compile(*args, **kwargs)
        loaded.append(from_blob)
        return compiled, from_blob

    monkeypatch.setattr(blob_cache, "load_or_compile", watched)

    caller = ov.Core()
    caller.set_property("CPU", {"ENABLE_CPU_PINNING": True})
    threads = torch.get_num_threads()
    model = shared_weights / "yolov8n_int8_openvino_model"
    detectors, compiled = {}, {}
    for pinning in (True, False):
        cfg = load_config(None, overrides=[f"detector.model={model}", f"detector.cpu_pinning={pinning}"]).detector
        detectors[pinning] = build_detector(cfg, torch.device("cpu"))
        compiled[pinning] = _openvino_holder(detectors[pinning].model).ov_compiled_model
    assert compiled[True].get_property("ENABLE_CPU_PINNING") is True  # ultralytics' compile, OpenVINO's default
    assert compiled[False].get_property("ENABLE_CPU_PINNING") is False
    for name in ("INFERENCE_NUM_THREADS", "NUM_STREAMS", "PERFORMANCE_HINT", "INFERENCE_PRECISION_HINT"):
        assert str(compiled[False].get_property(name)) == str(compiled[True].get_property(name)), name
    for pinned, unpinned in zip(detectors[True](bus), detectors[False](bus), strict=True):
        np.testing.assert_array_equal(pinned, unpinned)
    assert len(detectors[False](bus)[0]) >= 3  # the people on the bus: a detector that runs, not an empty one
    again = build_detector(load_config(None, overrides=[f"detector.model={model}"]).detector, torch.device("cpu"))
    reloaded = _openvino_holder(again.model).ov_compiled_model  # the second compile comes from its blob
    assert loaded == [False, True]
    assert reloaded.get_property("ENABLE_CPU_PINNING") is False
    assert caller.get_property("CPU", "ENABLE_CPU_PINNING") is True
    assert ov.Core().get_property("CPU", "ENABLE_CPU_PINNING") is True  # no process-wide default changed
    assert torch.get_num_threads() == threads


def test_pinning_leaves_models_that_are_not_openvino_on_the_cpu_alone(shared_weights, tmp_path):
    """A PyTorch model, a model not loaded yet, an object without ultralytics' compiled model, and a model compiled
    for OpenVINO's AUTO device (which reports CPU while an accelerator compiles, and has no pinning to read): nothing
    to compile again (False), nothing changed."""
    import openvino as ov

    from tracker.detector import set_openvino_pinning

    ir = shared_weights / "yolov8n_int8_openvino_model"
    core = ov.Core()
    auto_compiled = core.compile_model(core.read_model(str(next(ir.glob("*.xml")))), "AUTO")

    class Auto:
        class predictor:  # ultralytics' attribute names: predictor.model.backend.ov_compiled_model
            class model:
                class backend:
                    ov_compiled_model = auto_compiled

    class NotLoaded:
        predictor = None

    class Other:
        class predictor:  # ultralytics' attribute names: predictor.model.backend, without a compiled model
            class model:
                backend = object()

    cfg = load_config(None, overrides=[f"detector.model={shared_weights / 'yolov8n.pt'}"]).detector
    pytorch = build_detector(cfg, torch.device("cpu")).model
    for model in (pytorch, NotLoaded(), Other(), Auto()):
        assert set_openvino_pinning(model, ir, pinning=False) is False
    assert Auto.predictor.model.backend.ov_compiled_model is auto_compiled


def test_after_quiet_ultralytics_building_and_tracking_print_nothing(shared_weights):
    """README (Python API): the library never prints; ultralytics' "Loading ..." lines (its own logger, its handler
    on stdout) go to stderr once the detector is built, and `quiet_ultralytics()` silences them, so an application
    that owns stdout (JSON lines, a pipe) keeps it clean either way."""
    import os
    import subprocess
    import sys

    model = shared_weights / "yolov8n_int8_openvino_model"
    script = (
        "import cv2, sys\n"
        "from ultralytics.utils import ASSETS\n"
        "from tracker import Tracker, load_config\n"
        "from tracker.detector import quiet_ultralytics\n"
        "quiet_ultralytics()\n"
        f"cfg = load_config(overrides=['detector.model={model}', 'reid.model=none'])\n"
        "tracker = Tracker.from_config(cfg, frame_rate=10)\n"
        "frame = cv2.imread(str(ASSETS / 'bus.jpg'))\n"
        "outputs = [tracker.update(frame) for _ in range(4)]\n"
        "sys.stderr.write(f'tracked {len(outputs[-1])}')\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = os.environ | {"PYTHONPATH": root, "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("tracked ") and done.stderr != "tracked 0", done.stderr  # people on the bus
    assert done.stdout == ""
    # without it, ultralytics' own lines are said, on stderr (`_ultralytics_on_stderr`): stdout stays the caller's
    loud = subprocess.run(
        [sys.executable, "-c", script.replace("quiet_ultralytics()\n", "")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert loud.returncode == 0 and "Loading" in loud.stderr and loud.stdout == "", (loud.stdout, loud.stderr)


def test_quiet_ultralytics_imports_nothing_and_holds_once_ultralytics_is_imported(shared_weights):
    """`quiet_ultralytics()` imported ultralytics (~0.1 s warm, ~1 s cold) to set its logger's level after ultralytics
    sets it: a tool of synthetic worlds (`bench_update_bounds`) paid it for a model it never loads. Called before
    the import, ultralytics' info lines stay out of stdout, its warnings do not, and its progress bars (a download)
    stay off once the tracker loads a model."""
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from tracker.detector import fetch_official_weights, quiet_ultralytics\n"
        "quiet_ultralytics()\n"
        "sys.stderr.write(f\"imported={'ultralytics' in sys.modules}\\n\")\n"
        "from ultralytics.utils import LOGGER\n"
        "from ultralytics.utils.tqdm import TQDM\n"
        "LOGGER.info('an info line')\n"
        "LOGGER.warning('a warning line')\n"
        f"fetch_official_weights({str(shared_weights / 'yolov8n.pt')!r})\n"
        "sys.stderr.write(f'bars={not TQDM(range(2)).disable}\\n')\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    env = os.environ | {"PYTHONPATH": root, "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "imported=False" in done.stderr, done.stderr
    assert "an info line" not in done.stdout and "a warning line" in done.stdout, done.stdout
    assert "bars=False" in done.stderr, done.stderr


@pytest.mark.parametrize("task", ["cls", "obb"])
def test_a_model_of_a_task_without_boxes_is_one_error_at_load(tmp_path, task):
    """A classification or oriented-box model as detector.model (`yolo11n-cls.pt`) loaded, then ended the first frame
    in a traceback, "'NoneType' object has no attribute 'xyxy'" (exit status 1). It is one error naming the model
    and its task, before any frame."""
    from ultralytics import YOLO

    path = tmp_path / f"yolov8n-{task}.pt"
    YOLO(f"yolov8n-{task}.yaml").save(path)  # (an untrained network of that task: built here, nothing downloaded)
    cfg = load_config(None, overrides=[f"detector.model={path}"]).detector
    kind = {"cls": "classify", "obb": "obb"}[task]
    with pytest.raises(
        ValueError, match=rf"^detector\.model {path} is an ultralytics {kind} model, whose results hold no"
    ):
        build_detector(cfg, torch.device("cpu"))


def test_a_class_the_model_does_not_have_is_an_error_not_an_empty_run(shared_weights):
    """`--classes 99` with an 80-class COCO model tracked nothing, exit 0: ultralytics keeps no box of an id it does
    not have. It is one error naming the id and the model's numbering."""
    model = shared_weights / "yolov8n_int8_openvino_model"
    cfg = load_config(None, overrides=[f"detector.model={model}", "detector.classes=[0, 99]"])
    with pytest.raises(ValueError, match=r"detector\.classes: 99 is not a class .*ids 0-79: 0 person"):
        build_detector(cfg.detector, torch.device("cpu"))
    ok = load_config(None, overrides=[f"detector.model={model}", "detector.classes=[0, 79]"])
    assert build_detector(ok.detector, torch.device("cpu")).model is not None


def test_an_image_size_an_export_of_fixed_size_does_not_use_is_warned(shared_weights, bus, caplog):
    """`--set detector.image_size=1280` (what README says for people far away in a 4K video) with a 640 OpenVINO
    export ran at 640 without a word: ultralytics takes a fixed-size export's own size, and the boxes were those
    of 640. It is warned, naming both sizes; the size the export has, and a .pt model at any size, are not."""
    exported = shared_weights / "yolov8n_int8_openvino_model"
    runs = {}
    for model, size in [(exported, 1280), (exported, 640), (shared_weights / "yolov8n.pt", 1280)]:
        cfg = load_config(None, overrides=[f"detector.model={model}", f"detector.image_size={size}"])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="tracker.detector"):
            detector = build_detector(cfg.detector, torch.device("cpu"))
        runs[model.name, size] = detector(bus)[0], caplog.text
    boxes, said = runs[exported.name, 1280]
    assert "detector.image_size=1280 is not used" in said and "was exported for 640x640 frames" in said
    np.testing.assert_array_equal(boxes, runs[exported.name, 640][0])  # (what the warning is about)
    assert runs[exported.name, 640][1] == "" and runs["yolov8n.pt", 1280][1] == ""


def _sizes_641_and_672_detected(model: Path, bus, caplog) -> None:
    """`model` run at `detector.image_size` 641 and 672 on three frames each: the tracker says once that 641 runs at
    672 (nothing at 672), ultralytics says nothing of `imgsz`, and the boxes at 641 are those at 672."""
    said: list[str] = []
    listener = logging.Handler(logging.WARNING)
    listener.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    ultralytics_log = logging.getLogger("ultralytics")
    ultralytics_log.addHandler(listener)
    boxes = {}
    try:
        for size in (641, 672):
            cfg = load_config(None, overrides=[f"detector.model={model}", f"detector.image_size={size}"])
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="tracker.detector"):
                detector = build_detector(cfg.detector, torch.device("cpu"))
                boxes[size] = [detector(bus)[0] for _ in range(3)]
            ours = [r.getMessage() for r in caplog.records]
            assert ours == (
                []
                if size == 672
                else [
                    f"detector.image_size=641 is not a multiple of detector.model {cfg.detector.model}'s stride 32: it "
                    "runs at 672 (set detector.image_size=672 to be told no more)"
                ]
            ), ours
    finally:
        ultralytics_log.removeHandler(listener)
    assert not [line for line in said if "imgsz" in line], said
    for at_641, at_672 in zip(boxes[641], boxes[672], strict=True):
        np.testing.assert_array_equal(at_641, at_672)


def test_an_image_size_off_the_models_stride_is_warned_once_not_on_every_frame(shared_weights, bus, caplog):
    """`--set detector.image_size=641` with a .pt model: ultralytics warned "imgsz=[641] must be multiple of max
    stride 32, updating to [672]" on every frame (past --quiet: a line a frame). The size is rounded as ultralytics
    rounds it, so the boxes are the same, and said once, by the tracker."""
    _sizes_641_and_672_detected(shared_weights / "yolov8n.pt", bus, caplog)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:FutureWarning")  # (ultralytics' export traces the model)
def test_an_image_size_off_the_stride_of_a_dynamic_export_is_warned_once_not_on_every_frame(
    shared_weights, bus, tmp_path, caplog
):
    """An export of dynamic input size (`yolo export format=openvino dynamic=True`) with `detector.image_size=641`:
    ultralytics rounds the size by the export's stride as it does a .pt model's, and warned "imgsz=[641] must be
    multiple of max stride 32, updating to [672]" at load and on every frame after it (the .pt model's fix left
    exports out). The size is rounded as ultralytics rounds it, so the boxes are those of 672, and said once."""
    import shutil

    from ultralytics import YOLO

    shutil.copy(shared_weights / "yolov8n.pt", tmp_path / "yolov8n.pt")
    exported = Path(YOLO(str(tmp_path / "yolov8n.pt")).export(format="openvino", dynamic=True, imgsz=640))
    _sizes_641_and_672_detected(exported, bus, caplog)


@pytest.mark.parametrize("inside", ["yolov8n.xml", "yolov8n.bin"])
def test_a_file_of_an_openvino_export_given_for_it_names_the_folder_to_give(shared_weights, inside):
    """`detector.model=.../yolov8n_int8_openvino_model/yolov8n.xml` (the network file, not the export) was called a
    format ultralytics does not support and "the copy is damaged: get it again". It names the folder to give."""
    folder = shared_weights / "yolov8n_int8_openvino_model"
    cfg = load_config(None, overrides=[f"detector.model={folder / inside}"]).detector
    with pytest.raises(
        ValueError, match=r"is a file of the OpenVINO export .*: give the folder \(detector\.model="
    ) as e:
        build_detector(cfg, torch.device("cpu"))
    assert str(e.value).endswith(f"(detector.model={folder})") and "damaged" not in str(e.value)


def test_a_frame_update_refuses_is_refused_by_the_detector_called_directly(shared_weights, bus):
    """`tracker.detector(frame)` called directly takes the frames `Tracker.update` takes and refuses the others with
    update's ValueError naming the conversion: a (H, W, 3) torch tensor was ultralytics' "inputs should be BCHW",
    a float or channels-first frame found no box without a word, and None detected ultralytics' own sample image."""
    cfg = load_config(None, overrides=[f"detector.model={shared_weights / 'yolov8n_int8_openvino_model'}"])
    detector = build_detector(cfg.detector, torch.device("cpu"))
    refused = {
        r"got Tensor \(a torch tensor: \.cpu\(\)\.numpy\(\), channels last\)": torch.from_numpy(bus),
        r"must be uint8 .* got float64": bus / 255.0,
        r"got \(3, \d+, \d+\) \(channels first\? frame\.transpose\(1, 2, 0\)\)": np.ascontiguousarray(
            bus.transpose(2, 0, 1)
        ),
        r"got NoneType \(cv2 reads None at the end of a video": None,
    }
    for message, frame in refused.items():
        with pytest.raises(ValueError, match=message):
            detector(frame)
    boxes = detector(bus)[0]
    assert len(boxes) >= 4
    bgra = np.dstack([bus, np.full(bus.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(detector(bgra)[0], boxes)  # (update's frames: BGRA as its BGR)
