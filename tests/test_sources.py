"""Frame sources: every kind yields the same frames for the same pictures; damage is skipped and reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import undecodable_path, write_video

import tracker.io.sources as sources
from tracker.io.mp4_index import missing_mp4_index
from tracker.io.opencv_files import image_file
from tracker.io.sources import SourceError, open_source

SIZE = (160, 120)  # width, height of synthetic clips
DEMO_FRAME = Path(__file__).resolve().parents[1] / "assets" / "demo_frame.jpg"  # a real frame


def noise_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """Frames that compress badly, so a truncated file loses most of them."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8) for _ in range(count)]


def read_all(spec: str | Path) -> tuple[list[int], list[np.ndarray]]:
    numbers, images = [], []
    for number, image in open_source(spec):
        numbers.append(number)
        images.append(image)
    return numbers, images


def test_sequence_folder_glob_and_lossless_video_yield_identical_frames(shared, tmp_path):
    seq = shared / "data" / "MOT15" / "train" / "TUD-Campus"
    count = 12
    folder = tmp_path / "frames"
    folder.mkdir()
    for file in sorted((seq / "img1").glob("*.jpg"))[:count]:
        shutil.copy(file, folder / file.name)
    short_seq = tmp_path / "TUD-Campus"
    (short_seq / "img1").mkdir(parents=True)
    shutil.copy(seq / "seqinfo.ini", short_seq / "seqinfo.ini")  # seqLength 71, images for 12: stop at 12
    for file in folder.iterdir():
        shutil.copy(file, short_seq / "img1" / file.name)
    decoded = [cv2.imread(str(f)) for f in sorted(folder.iterdir())]
    video = write_video(tmp_path / "clip.avi", decoded, "FFV1", fps=25)

    src = open_source(short_seq)
    assert (src.name, src.kind, src.frame_rate, src.total) == ("TUD-Campus", "sequence", 25.0, count)
    assert open_source(folder).frame_rate is None, "image folders do not declare a rate: config.frame_rate applies"
    assert open_source(video).frame_rate == 25.0
    reference = read_all(short_seq)
    assert reference[0] == list(range(1, count + 1))
    for spec in (folder, f"{folder}/*.jpg", video):
        numbers, images = read_all(spec)
        assert numbers == reference[0], spec
        for a, b in zip(images, reference[1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_mot17_sequence_stops_at_the_images_that_exist(shared):
    src = open_source(shared / "data" / "MOT17" / "train" / "MOT17-02-FRCNN")
    numbers, images = read_all(shared / "data" / "MOT17" / "train" / "MOT17-02-FRCNN")
    assert src.frame_rate == 30.0 and 1 <= len(numbers) == src.total < 600
    assert numbers == list(range(1, len(numbers) + 1)) and images[0].shape == (1080, 1920, 3)


def test_a_sequence_whose_seqinfo_says_no_frames_is_named_as_such(shared, tmp_path):
    """seqLength=0 beside its images said "MOTChallenge sequence without images": the fault is the length."""
    seq = tmp_path / "ZERO"
    shutil.copytree(shared / "data" / "MOT15" / "train" / "TUD-Campus", seq)
    ini = seq / "seqinfo.ini"
    ini.write_text(
        "\n".join("seqLength=0" if line.startswith("seqLength") else line for line in ini.read_text().splitlines())
    )
    with pytest.raises(SourceError, match=r"seqinfo\.ini says seqLength=0 \(set it to the number of frames\)"):
        open_source(str(seq))


def video_with_frame_5_unreadable(tmp_path: Path) -> Path:
    """A 10-frame MJPG AVI of noise whose 5th frame's JPEG data is wiped (its AVI chunk kept): `damaged.avi`."""
    video = write_video(tmp_path / "clip.avi", noise_frames(10), "MJPG")
    data = bytearray(video.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]  # JPEG start markers
    stop = starts[5] - 16  # keep the AVI chunk header of frame 6 before its JPEG start
    data[starts[4] : stop] = bytes(stop - starts[4])  # wipe frame 5's JPEG data
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    return damaged


def test_corrupt_frame_mid_video_is_skipped_counted_and_keeps_its_number(tmp_path):
    src = open_source(video_with_frame_5_unreadable(tmp_path))
    numbers = [n for n, _ in src]
    assert numbers == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert src.corrupt_frames == 1 and src.ended_early is None


@pytest.mark.parametrize(
    ("end", "numbers", "corrupt", "reached"),
    [(5, [1, 2, 3, 4], 1, True), (7, [1, 2, 3, 4, 6, 7], 1, True), (10, [1, 2, 3, 4, 6, 7, 8, 9, 10], 1, False)],
)
def test_a_video_read_to_an_end_stops_at_that_frame_counting_unreadable_ones_before_it(
    tmp_path, end, numbers, corrupt, reached
):
    """`FrameSource.end` (`--max-frames`) is a source position: with frame 5 unreadable, an end of 5 reads frames 1
    to 4 and counts frame 5 as unreadable (not as a video whose data stops there), and an end of 7 reads no frame
    after 7 (a limit counted in frames read went on to frame 8)."""
    src = open_source(video_with_frame_5_unreadable(tmp_path))
    src.end = end
    assert [n for n, _ in src] == numbers
    assert (src.corrupt_frames, src.ended_early, src.reached_end) == (corrupt, None, reached)


def test_a_video_whose_first_frames_are_damaged_is_tracked_from_the_first_readable_one(tmp_path):
    """Undecodable frames are skipped, the first ones too (a CCTV export cut in a damaged spot): the video was
    refused as "not a readable video" when its first frame did not decode."""
    video = write_video(tmp_path / "clip.avi", noise_frames(10), "MJPG")
    data = bytearray(video.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]  # JPEG start markers
    for k in (0, 1):  # wipe frames 1 and 2, keeping the AVI chunk header before each next JPEG
        end = starts[k + 1] - 16
        data[starts[k] : end] = bytes(end - starts[k])
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    src = open_source(damaged)
    assert [n for n, _ in src] == list(range(3, 11))
    assert src.corrupt_frames == 2 and src.ended_early is None


def test_truncated_video_gives_the_frames_before_the_damage(tmp_path):
    data = write_video(tmp_path / "clip.avi", noise_frames(40), "MJPG").read_bytes()
    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes(data[: len(data) // 2])
    src = open_source(truncated)
    numbers = [n for n, _ in src]
    assert 5 <= len(numbers) < 40 and numbers == list(range(1, len(numbers) + 1))
    assert src.ended_early == numbers[-1] and src.total == 40


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "empty",
        "text_as_mp4",
        "truncated_mp4",
        "mp4_cut_in_its_index",
        "empty_folder",
        "no_glob_match",
        "glob_of_videos",
        "glob_of_one_video",
        "undecodable_folder",
        "undecodable_glob",
    ],
)
def test_unreadable_sources_raise_one_line_errors(case, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "notes.mp4").write_text("not a video\n" * 100)
    mp4 = write_video(tmp_path / "clip.mp4", noise_frames(10), "mp4v").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(mp4[: len(mp4) // 2])  # OpenCV writes the index at the end: gone
    (tmp_path / "tail.mp4").write_bytes(mp4[:-100])  # a copy stopped 100 bytes short: the index cut, no frame read
    (tmp_path / "broken").mkdir()  # image files none of which decodes: an error (it was a run of 0 frames, status 0)
    for name in ("000001.jpg", "000002.png"):
        (tmp_path / "broken" / name).write_bytes(b"not an image")
    spec, expected = {
        "missing": ("nope.mp4", "no such file"),
        "empty": ("empty.mp4", "0 bytes"),
        "text_as_mp4": ("notes.mp4", "not a readable video"),
        "truncated_mp4": ("cut.mp4", "an MP4/MOV without its whole index (`moov` box): the recording or copy was cut"),
        # it was "not a readable video (... not a video, or truncated)": the cause was not named
        "mp4_cut_in_its_index": ("tail.mp4", "an MP4/MOV without its whole index (`moov` box): the recording or copy"),
        "empty_folder": ("empty", "holds no images"),
        "no_glob_match": ("empty/*.png", "no images match"),
        # a quoted glob of videos, meant as several videos: the error says what it matched and what to do
        "glob_of_videos": ("*.mp4", "matches 5 other files, e.g. "),
        "glob_of_one_video": ("clip.m*", "matches 1 other file, e.g. "),  # it said "1 other files"
        "undecodable_folder": ("broken", "none of its 2 image file(s) can be decoded (e.g. 000001.jpg)"),
        "undecodable_glob": ("broken/*.png", "none of its 1 image file(s) can be decoded (e.g. 000002.png)"),
    }[case]
    with pytest.raises(SourceError) as info:
        open_source(tmp_path / spec)
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["seqinfo.ini", "det/det.txt", "gt/gt.txt"])
def test_a_file_of_a_sequence_given_as_the_source_names_the_sequence_to_give(tmp_path, name):
    """`track SEQ/det/det.txt` (hoping to track the public detections) or `track SEQ/seqinfo.ini` said only "not a
    readable video (... not a video, or truncated)"; it now names the sequence folder and `track eval`'s command."""
    sequence = tmp_path / "TUD-Campus"
    (sequence / "img1").mkdir(parents=True)
    (sequence / "seqinfo.ini").write_text("[Sequence]\nname=TUD-Campus\nframeRate=25\n")
    given = sequence / name
    given.parent.mkdir(exist_ok=True)
    if not given.exists():
        given.write_text("1,-1,10,10,20,40,0.9\n")
    with pytest.raises(SourceError) as info:
        open_source(given)
    assert str(info.value).endswith(
        f"a text file, not a video: it is a file of the MOTChallenge sequence {sequence}; track its images with "
        f"`track {sequence}`, or score its public detections with `track eval --data {sequence} --detections public`"
    ), info.value
    (tmp_path / "notes.mp4").write_text("not a video\n")
    with pytest.raises(SourceError, match=r"not a video, or truncated\)$"):  # another file: no sequence named
        open_source(tmp_path / "notes.mp4")


def test_a_long_text_file_is_refused_not_tracked_as_frames_of_text(tmp_path):
    """FFmpeg's tty demuxer plays a .txt as a video of its rendered text: `track SEQ/det/det.txt` (MOT17-09's
    public detections) ran 421 frames in 11 minutes, 0 tracks, exit status 0. A text file is now refused at once."""
    text = tmp_path / "det.txt"
    text.write_text("1,-1,794.2,47.5,71.2,174.8,67.5,-1,-1\n" * 5000)
    with pytest.raises(SourceError, match=r"det\.txt: a text file, not a video$"):
        open_source(text)


def test_dead_stream_is_retried_with_backoff_then_fails(monkeypatch):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 0.01)
    waits = []
    real_wait = sources._wait
    monkeypatch.setattr(sources, "_wait", lambda s, stop: waits.append(s) or real_wait(s, stop))
    src = open_source("rtsp://127.0.0.1:9/nothing-here")
    assert src.kind == "stream" and src.total is None
    with pytest.raises(SourceError, match="did not open"):
        list(src)
    assert waits == [0.01 * 2**i for i in range(sources.STREAM_RETRIES)], "exponential backoff"


class _Camera:
    """A stand-in for `cv2.VideoCapture` of a webcam: open or not, and `frames` images before it stops sending."""

    def __init__(self, opened: bool, frames: int = 0) -> None:
        self.opened, self.left = opened, frames

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.left -= 1
        return (True, np.zeros((4, 4, 3), np.uint8)) if self.left >= 0 else (False, None)

    def get(self, prop: int) -> float:  # `CAP_PROP_POS_MSEC`: a backend that gives no presentation times
        return 0.0

    def release(self) -> None:
        self.opened = False


def test_a_webcam_is_opened_at_once_and_only_a_dropped_one_is_retried(monkeypatch):
    """No such camera: one error from `open_source`, with no backoff; a camera that gave frames and stopped is
    reopened with backoff like any live stream, then fails naming the frames it gave."""
    waits = []
    monkeypatch.setattr(sources, "_wait", lambda seconds, stop: waits.append(seconds) or False)
    monkeypatch.setattr(sources, "_open_capture", lambda target: _Camera(opened=False))
    with pytest.raises(SourceError, match="webcam 7 did not open"):
        open_source("7")
    assert waits == []
    cameras = iter([_Camera(opened=True, frames=3)])
    monkeypatch.setattr(sources, "_open_capture", lambda target: next(cameras, _Camera(opened=False)))
    src = open_source("7")
    with pytest.raises(SourceError, match="webcam 7 dropped after 3 frames"):
        list(src)
    assert len(waits) == sources.STREAM_RETRIES


def test_stop_request_ends_a_stream_backoff_at_once(monkeypatch):
    monkeypatch.setattr(sources, "STREAM_BACKOFF_S", 60.0)
    src = open_source("rtsp://127.0.0.1:9/nothing-here")
    src.should_stop = lambda: True
    assert list(src) == []


@pytest.mark.parametrize("as_glob", [False, True])
def test_frames_numbered_without_zero_padding_are_read_in_numeric_order(tmp_path, as_glob):
    """ffmpeg's `%d.jpg` names frames 1.png ... 12.png: they were read 1, 10, 11, 12, 2, ... (plain string order),
    so every track jumped between frames 1 and 10. Zero-padded names keep their order."""
    frames = noise_frames(12)
    plain, padded = tmp_path / "plain", tmp_path / "padded"
    plain.mkdir()
    padded.mkdir()
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(plain / f"{i}.png"), frame)
        cv2.imwrite(str(padded / f"frame_{i:04d}.png"), frame)
    for folder in (plain, padded):
        numbers, images = read_all(str(folder / "*.png") if as_glob else folder)
        assert numbers == list(range(1, len(frames) + 1))
        assert all(np.array_equal(a, b) for a, b in zip(images, frames, strict=True)), folder.name


@pytest.mark.parametrize("extra", ["._000001.png", ".thumbnail.png", "folder.png/"])
def test_an_image_folder_lists_the_images_its_glob_does(tmp_path, extra):
    """A folder copied from a Mac holds `._000001.png` beside `000001.png` (a resource fork OpenCV cannot decode):
    it was read as frame 1, a corrupt one, and every image after it one frame later than the same images given as
    a glob (which skips hidden names): the MOT file's frame numbers were off by one against the ground truth. A
    folder named like an image was a corrupt frame too."""
    frames = noise_frames(3)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), frame)
    if extra.endswith("/"):
        (tmp_path / extra).mkdir()
    else:
        (tmp_path / extra).write_bytes(b"\x00\x05\x16\x07 not an image")
    src = open_source(tmp_path)
    numbers, images = zip(*src, strict=True)
    assert list(numbers) == [1, 2, 3] and src.corrupt_frames == 0
    assert all(np.array_equal(a, b) for a, b in zip(images, frames, strict=True))
    assert read_all(str(tmp_path / "*.png"))[0] == [1, 2, 3]


def test_image_folder_skips_unreadable_images(tmp_path):
    for i, frame in enumerate(noise_frames(3), start=1):
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), frame)
    (tmp_path / "000002.png").write_bytes(b"broken")
    src = open_source(tmp_path)
    assert [n for n, _ in src] == [1, 3] and src.corrupt_frames == 1


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_a_truncated_jpeg_in_a_folder_is_skipped_and_counted_not_tracked_half_grey(tmp_path, capfd, cut):
    """A JPEG cut short (a copy interrupted mid-file) was decoded by OpenCV with its missing rows grey, and
    libjpeg's "Premature end of JPEG file" went to stderr past --quiet: the people in its lower part vanished for a
    frame and came back as returns after occlusion, while the summary said no frame was corrupt."""
    frames = noise_frames(3)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), frame)
    data = (tmp_path / "2.jpg").read_bytes()
    (tmp_path / "2.jpg").write_bytes(data[: int(len(data) * cut)])
    src = open_source(tmp_path)
    numbers = [n for n, _ in src]
    assert numbers == [1, 3] and src.corrupt_frames == 1 and src.corrupt_numbers == [2]
    assert "JPEG" not in capfd.readouterr().err
    assert read_all(str(tmp_path / "*.jpg"))[0] == [1, 3]


def test_an_animated_png_is_still_read_as_the_frames_it_holds(tmp_path):
    """A file of several images (an animated PNG: FFmpeg reads each) is a video, not one still frame."""
    import PIL.Image

    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(3)]
    images = [PIL.Image.fromarray(frame) for frame in frames]
    images[0].save(tmp_path / "anim.png", save_all=True, append_images=images[1:], duration=40)
    numbers, read = read_all(tmp_path / "anim.png")
    assert numbers == [1, 2, 3] and all(np.array_equal(a, b) for a, b in zip(read, frames, strict=True))


def test_an_image_a_tool_needs_is_read_under_any_name_and_one_that_cannot_be_is_named(tmp_path):
    """The tools read a sequence's frames with `cv2.imread(str(path))`: a folder whose name is not UTF-8 crashed the
    process, a missing or damaged frame gave None that failed frames later. `image_file` reads any name (the pixels
    `cv2.imread` gives) and raises one error naming a file it cannot read."""
    frame = noise_frames(1)[0]
    cv2.imwrite(str(tmp_path / "1.png"), frame)
    folder = undecodable_path(tmp_path, b"d\xe9j\xe0")
    folder.mkdir()
    shutil.copy(tmp_path / "1.png", folder / "1.png")
    assert np.array_equal(image_file(folder / "1.png"), cv2.imread(str(tmp_path / "1.png")))
    (tmp_path / "2.png").write_bytes(b"not an image")
    for bad, shown in [
        (tmp_path / "2.png", tmp_path / "2.png"),
        (folder / "3.png", f"{tmp_path}/d\ufffdj\ufffd/3.png"),
    ]:
        with pytest.raises(OSError) as info:
            image_file(bad)
        assert str(info.value) == f"cannot read the image {shown}: missing, unreadable, or not an image OpenCV decodes"


def test_a_multi_page_tiff_warns_that_its_first_page_only_is_read_and_an_animated_webp_is_one_error(tmp_path, caplog):
    """A multi-page TIFF gave its first page only (FFmpeg reads no other), without a word: one frame tracked of many.
    An animated WebP gave no frame at all: "not a readable video", and FFmpeg's "image data not found" on stderr.
    The TIFF is read as before and a warning says how many pages were not; the WebP is one error saying what it is
    and what to convert it to."""
    import PIL.Image

    images = [PIL.Image.fromarray(frame) for frame in noise_frames(3)]
    images[0].save(tmp_path / "pages.tiff", save_all=True, append_images=images[1:])
    with caplog.at_level("WARNING", logger="tracker.io.sources"):
        numbers, _ = read_all(tmp_path / "pages.tiff")
    assert numbers == [1]
    assert caplog.messages == [
        f"{tmp_path / 'pages.tiff'}: a TIFF of 3 pages, of which FFmpeg (OpenCV's video reader) reads the first only: "
        "1 frame is tracked, not 3; save the pages as a folder of images to track them all"
    ]
    images[0].save(tmp_path / "anim.webp", save_all=True, append_images=images[1:], duration=40, lossless=True)
    with pytest.raises(SourceError) as info:
        open_source(tmp_path / "anim.webp")
    assert str(info.value) == (
        f"{tmp_path / 'anim.webp'}: an animated WEBP of 3 images, which FFmpeg (OpenCV's video reader) cannot read: "
        "convert it to a video (such as an .mp4) or to a folder of images"
    )
    images[0].save(tmp_path / "one.tiff")
    caplog.clear()
    assert read_all(tmp_path / "one.tiff")[0] == [1] and not caplog.messages, "a TIFF of one page: a still, no word"


def test_a_still_image_file_cut_short_is_refused_not_tracked_half_grey(tmp_path):
    """`track photo.jpg` of a JPEG cut short tracked it with its missing rows grey (FFmpeg's decoder), where the same
    file in a folder is an unreadable frame; and a still that does not decode was "not a readable video"."""
    cv2.imwrite(str(tmp_path / "photo.jpg"), noise_frames(1)[0])
    data = (tmp_path / "photo.jpg").read_bytes()
    (tmp_path / "photo.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError) as info:
        open_source(tmp_path / "photo.jpg")
    assert str(info.value) == f"{tmp_path / 'photo.jpg'}: not a readable image (not an image, or damaged)"


@pytest.mark.parametrize("cut", ["half", "in_its_end_chunk", "before_its_end_chunk"])
def test_a_truncated_png_in_a_folder_is_skipped_without_libpng_s_error_on_stderr(tmp_path, capfd, cut):
    """A PNG cut short (a copy of a real frame interrupted mid-file) was refused by OpenCV, but libpng printed
    "libpng error: Read Error" on stderr first, past --quiet, beside our one warning. Now nothing is printed; the
    frame is skipped and counted as before, and a whole PNG with bytes after its end (some writers pad) is read."""
    frame = cv2.imread(str(DEMO_FRAME))
    for i in (1, 2, 3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), frame)
    data = (tmp_path / "2.png").read_bytes()
    end = {"half": len(data) // 2, "in_its_end_chunk": len(data) - 6, "before_its_end_chunk": len(data) - 12}[cut]
    (tmp_path / "2.png").write_bytes(data[:end])
    (tmp_path / "3.png").write_bytes(data + bytes(16))
    src = open_source(tmp_path)
    numbers, images = zip(*src, strict=True)
    assert numbers == (1, 3) and src.corrupt_frames == 1 and src.corrupt_numbers == [2]
    assert np.array_equal(images[1], frame)
    err = capfd.readouterr().err
    assert "libpng" not in err and "PNG" not in err, err


@pytest.mark.parametrize("chunk", [b"IHDR", b"IDAT"])
def test_a_damaged_png_in_a_folder_is_skipped_without_libpng_s_error_on_stderr(tmp_path, capfd, chunk):
    """A PNG with one byte flipped inside (a bad disk, a bad copy) is refused by libpng, which printed "libpng error:
    IDAT: CRC error" (IHDR's) on stderr past --quiet, as it did for a PNG cut short. Now nothing is printed; the
    frame is skipped and counted. A PNG whose text chunk or IEND is damaged is still read (libpng only warns: the
    image is whole)."""
    import zlib

    frame = cv2.resize(cv2.imread(str(DEMO_FRAME)), (64, 48))
    for i in (1, 2, 3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), frame)
    data = bytearray((tmp_path / "2.png").read_bytes())
    data[data.index(chunk) + 4] ^= 0x01  # the chunk's first data byte
    (tmp_path / "2.png").write_bytes(bytes(data))
    whole = bytearray((tmp_path / "3.png").read_bytes())
    whole[-1] ^= 0x01  # IEND's CRC (IEND has no data)
    text = b"tEXt" + b"Comment\0hello"
    damaged_text = len(text[4:]).to_bytes(4, "big") + text + (zlib.crc32(text) ^ 1).to_bytes(4, "big")
    (tmp_path / "3.png").write_bytes(bytes(whole[:33]) + damaged_text + bytes(whole[33:]))  # after signature, IHDR
    src = open_source(tmp_path)
    numbers, images = zip(*src, strict=True)
    assert numbers == (1, 3) and src.corrupt_frames == 1 and src.corrupt_numbers == [2]
    assert np.array_equal(images[1], frame)
    err = capfd.readouterr().err
    assert "libpng error" not in err, err


def _exif_rotated(path: Path, frame: np.ndarray, orientation: int) -> None:
    """`frame` (BGR) saved at `path` with an EXIF (TIFF: its own) Orientation tag, as phones and cameras write."""
    import PIL.Image

    exif = PIL.Image.Exif()
    exif[0x0112] = orientation  # Orientation
    PIL.Image.fromarray(frame[..., ::-1]).save(path, exif=exif)


@pytest.mark.parametrize(
    "kind",
    [
        *("jpeg_rotated", "tiff_rotated", "png_16_bit", "png_gray", "png_alpha", "bmp", "tiff", "webp"),
        *("ppm", "pgm_gray", "pgm_12_bit"),
    ],
)
def test_image_files_are_read_as_they_are_shown(tmp_path, kind):
    """Each frame's file is read from disk once and its bytes decoded as OpenCV reads the file (EXIF rotation
    applied, gray and alpha as BGR, 16 bits at 8). A TIFF whose Orientation tag turns it by 90 degrees, which
    `cv2.imread` cannot read ("Internal imread issue"), was skipped as unreadable: it is now read, turned. Netpbm
    frames (ffmpeg's `%04d.ppm`, thermal cameras' 16-bit PGMs), which OpenCV reads, were "no images" (a glob of them
    was even told to let the shell expand it, as if they were videos)."""
    frame = cv2.resize(cv2.imread(str(DEMO_FRAME)), (64, 48))
    path = tmp_path / {"jpeg_rotated": "1.jpg", "tiff_rotated": "1.tif", "png_16_bit": "1.png", "png_gray": "1.png",
                       "png_alpha": "1.png", "bmp": "1.bmp", "tiff": "1.tif", "webp": "1.webp", "ppm": "1.ppm",
                       "pgm_gray": "1.pgm", "pgm_12_bit": "1.pgm"}[kind]  # fmt: skip
    shown = frame
    if kind.startswith(("png_gray", "pgm")):
        shown = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if kind.endswith("rotated"):
        _exif_rotated(path, frame, orientation=6)  # 6: turn 90 degrees clockwise to show
        shown = cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)
    elif kind == "png_16_bit":
        cv2.imwrite(str(path), frame.astype(np.uint16) * 257)
    elif kind in ("png_gray", "pgm_gray"):
        cv2.imwrite(str(path), shown[..., 0])
    elif kind == "pgm_12_bit":
        cv2.imwrite(str(path), shown[..., 0].astype(np.uint16) << 4)
    elif kind == "png_alpha":
        cv2.imwrite(str(path), np.dstack([frame, frame[..., :1]]))
    else:
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_WEBP_QUALITY, 101] if kind == "webp" else [])  # 101: lossless
    (number, image), *rest = list(open_source(tmp_path))
    assert [n for n, _ in open_source(tmp_path / f"*{path.suffix}")] == [1]
    # the file itself (`track photo.jpg`) was read by FFmpeg as a one-frame video: not turned by its EXIF tag,
    # 12-bit data near black
    ((alone, same),) = list(open_source(path))
    assert alone == 1 and np.array_equal(same, image)
    assert number == 1 and not rest
    if kind == "jpeg_rotated":  # (lossy: what OpenCV decodes, turned)
        assert image.shape == shown.shape and np.array_equal(image, cv2.imread(str(path)))
    else:
        assert np.array_equal(image, shown)


@pytest.mark.parametrize("bits", [10, 12, 16])
def test_sensor_data_in_16_bit_images_is_read_as_the_picture_it_holds(tmp_path, bits):
    """Machine-vision and thermal datasets store 10- or 12-bit values in 16-bit PNGs: OpenCV's 8-bit reading drops
    their low 8 bits, which left frames of values 0-3 (10-bit), near black, in which nobody was detected. Each frame
    now comes back as the 8-bit picture it holds, with one scale for the whole source (a darker frame is not
    brightened apart from the rest, a resumed run scales as the first did); full-range 16-bit files as before."""
    frames = [np.zeros_like(noise_frames(1)[0]), *noise_frames(3)]  # all black first: it tells no depth
    frames[2] = frames[2] // 4  # a dark frame
    frames[3] = cv2.cvtColor(cv2.cvtColor(frames[3], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    for i, frame in enumerate(frames, start=1):
        wide = frame.astype(np.uint16) << (bits - 8)
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), wide[..., 0] if i == 4 else wide)  # a thermal camera's: gray
    numbers, images = read_all(tmp_path)
    assert numbers == [1, 2, 3, 4]
    assert all(np.array_equal(a, b) for a, b in zip(images, frames, strict=True))
    resumed = open_source(tmp_path)
    resumed.skip_to = 2
    assert all(np.array_equal(image, frames[n - 1]) for n, image in resumed)


@pytest.mark.parametrize("depth", [8, 12])
def test_each_image_of_a_folder_is_read_once(tmp_path, monkeypatch, depth):
    """Opening a folder reads its first image (`DepthReader.probe`: it fixes the depth of 16-bit data), and the frame
    loop read it again. It is now read once, the probe's image given as frame 1 (the same pixels), and a second pass
    over the source reads every file again. (A folder whose first 16-bit images are all black, which tell no depth,
    still reads those twice.)"""
    from tracker.io.image_depth import DepthReader

    frames = noise_frames(4)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(tmp_path / f"{i:06d}.png"), frame if depth == 8 else frame.astype(np.uint16) << (depth - 8))
    read, decode = [], DepthReader.read
    monkeypatch.setattr(DepthReader, "read", lambda self, path: read.append(Path(path).name) or decode(self, path))
    source = open_source(tmp_path)
    first = list(source)
    assert read == [f"{i:06d}.png" for i in range(1, 5)], read
    assert all(np.array_equal(image, frame) for (_, image), frame in zip(first, frames, strict=True))
    read.clear()
    assert [n for n, _ in source] == [1, 2, 3, 4] and len(read) == 4  # (no image kept for a second pass)


def test_only_an_mp4_cut_before_its_index_is_said_to_be_cut(tmp_path):
    """The cut mp4 of `test_unreadable_sources_raise_one_line_errors` is told by its missing `moov` box, one cut
    inside its `moov` box (a copy a few bytes short) by that box running past the end; a whole mp4, another container
    cut short, and a text file are not."""
    whole = write_video(tmp_path / "clip.mp4", noise_frames(5), "mp4v")
    avi = write_video(tmp_path / "clip.avi", noise_frames(5), "MJPG").read_bytes()
    (tmp_path / "cut.avi").write_bytes(avi[: len(avi) // 2])
    (tmp_path / "notes.mp4").write_text("ftyp, but words\n" * 10)
    mp4 = whole.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(mp4[: len(mp4) // 2])
    (tmp_path / "tail.mp4").write_bytes(mp4[:-1])
    assert missing_mp4_index(tmp_path / "cut.mp4") and missing_mp4_index(tmp_path / "tail.mp4")
    assert not any(missing_mp4_index(tmp_path / name) for name in ("clip.mp4", "cut.avi", "notes.mp4", "nope.mp4"))


def test_a_folder_of_motchallenge_data_without_images_says_which_sequence_to_track(tmp_path):
    """`track MOT15/train` (a folder of sequences, as `track eval --data` takes it) said only "folder holds no
    images", and `track SEQ/gt` advised `track SEQ/gt/*.txt`, as if gt.txt were a video. Now each names the
    sequence folders to give (all in turn and eval only where every folder there is one)."""
    train = tmp_path / "MOT15" / "train"
    for name in ("TUD-Campus", "PETS09"):
        (train / name / "img1").mkdir(parents=True)
        cv2.imwrite(str(train / name / "img1" / "000001.jpg"), np.zeros((32, 32, 3), np.uint8))
        (train / name / "gt").mkdir()
        (train / name / "gt" / "gt.txt").write_text("1,1,0,0,5,5,1,1,1,1\n")

    def said(folder: Path) -> str:
        with pytest.raises(SourceError) as err:
            open_source(folder)
        return str(err.value)

    sequence = train / "PETS09"
    assert said(sequence / "gt").endswith(
        f"(it is a folder of the MOTChallenge sequence {sequence}: track the sequence, `track {sequence}`)"
    )
    for given in (train, train.parent):
        assert said(given).endswith(
            f"(it holds 2 MOTChallenge sequences, {sequence}, ...: each is a source of its own; track one, "
            f"`track {sequence}`, all in turn, `track {train / '*'}`, or score them, `track eval --data {given}`)"
        ), said(given)
    (train / "notes").mkdir()  # a folder that is no sequence: `train/*` would name it, eval refuses it
    assert said(train).endswith(
        f"(it holds 2 MOTChallenge sequences, {sequence}, ...: track a sequence by its folder, `track {sequence}`)"
    )


def test_a_folder_of_videos_says_how_to_track_the_videos_in_it(tmp_path):
    """`track batch cams/ --out ...` (a folder of clips) said only "folder holds no images (.jpg, ...)"."""
    cams = tmp_path / "cams"
    cams.mkdir()
    write_video(cams / "cam1.avi", [np.zeros((32, 32, 3), np.uint8)] * 2)
    (cams / ".hidden").write_text("not named")
    with pytest.raises(SourceError) as err:
        open_source(cams)
    message = str(err.value)
    assert "holds no images" in message and "1 other file, e.g." in message and "cam1.avi" in message, message
    assert f"`track batch {cams / '*.avi'} --out OUT`" in message
    # a LICENSE beside the clips (the shared videos folder): `*` named it too, and it was the example given
    write_video(cams / "cam2.avi", [np.zeros((32, 32, 3), np.uint8)] * 2)
    (cams / "intel-sample-videos.LICENSE").write_text("licence text")
    with pytest.raises(SourceError) as err:
        open_source(cams)
    message = str(err.value)
    assert f"e.g. {cams / 'cam1.avi'}:" in message and f"`track {cams / '*.avi'}`" in message, message
    (cams / "cam2.avi").unlink()
    (cams / "intel-sample-videos.LICENSE").unlink()
    (cams / "cam1.avi").unlink()
    with pytest.raises(SourceError, match=r"holds no images \(\.jpg[^(]*\)$"):  # an empty folder: nothing to add
        open_source(cams)


def test_a_folder_of_no_images_is_told_before_anything_opens(tmp_path):
    """`track cams/` (a folder of clips) loaded the models (4 s) before "folder holds no images", and `track batch
    cams/ --out OUT` started a worker to fail it (8 s, exit status 1): `check_named`, which both run first, says it
    in milliseconds, the error `open_source` gives. Folders read as images or as a MOTChallenge sequence pass."""
    cams = tmp_path / "cams"
    cams.mkdir()
    write_video(cams / "cam1.avi", [np.zeros((32, 32, 3), np.uint8)] * 2)
    with pytest.raises(SourceError) as opened:
        open_source(cams)
    with pytest.raises(SourceError) as checked:
        sources.check_named(str(cams))
    assert str(checked.value) == str(opened.value)
    assert f"`track batch {cams / '*.avi'} --out OUT`" in str(checked.value)
    with pytest.raises(SourceError, match="holds no images"):
        sources.check_named(f"file://{cams}")  # (a file URL names the folder as its path does)
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "1.jpg"), np.zeros((8, 8, 3), np.uint8))
    sources.check_named(str(frames))
    sequence = tmp_path / "SEQ"
    (sequence / "img1").mkdir(parents=True)  # a sequence without seqinfo.ini: its img1/ is told by open_source
    sources.check_named(str(sequence))


def test_a_stream_that_comes_back_gets_the_whole_backoff_again(monkeypatch):
    """The reconnection budget is per loss: frames after a reopening restore it, so a camera that drops now and then
    is not given up on after STREAM_RETRIES losses in all, and each loss waits from STREAM_BACKOFF_S again."""
    waits = []
    monkeypatch.setattr(sources, "_wait", lambda seconds, stop: waits.append(seconds) or False)
    cameras = iter([_Camera(opened=True, frames=3), _Camera(opened=True, frames=2), _Camera(opened=False)])
    monkeypatch.setattr(sources, "_open_capture", lambda target: next(cameras, _Camera(opened=False)))
    src = open_source("7")
    numbers = []
    with pytest.raises(SourceError, match=f"webcam 7 dropped after 5 frames .*{sources.STREAM_RETRIES} retries"):
        numbers.extend(number for number, _ in src)
    assert numbers == [1, 2, 3, 4, 5]
    first = sources.STREAM_BACKOFF_S
    assert waits == [first] + [first * 2**i for i in range(sources.STREAM_RETRIES)]


def test_a_sequence_folder_without_seqinfo_is_named_after_the_sequence_not_img1(tmp_path):
    """`track MOT17-09` of a copy without seqinfo.ini tracked its img1/ folder and named everything `img1`
    (runs/track/img1/img1.txt, then img12/ for the next sequence), not after the sequence, as MOTChallenge results
    are named."""
    seq = tmp_path / "SEQ-07"
    (seq / "img1").mkdir(parents=True)
    for i, frame in enumerate(noise_frames(2), start=1):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.png"), frame)
    src = open_source(seq)
    assert src.name == "SEQ-07" and src.name == sources.image_source_name(seq)
    assert [n for n, _ in src] == [1, 2]


def test_the_image_folder_of_a_sequence_is_its_sequence_with_its_name_and_frame_rate(tmp_path):
    """`track PETS09-S3-MF1/img1` (the folder of images most users point at) tracked a plain folder: at the config's
    30 frames/s instead of the 7 its seqinfo.ini gives (every time limit and the motion model 4x off) and named
    `img1` (runs/track/img1/img1.txt, img12/ for the next). The image folder that seqinfo.ini's imDir names is now
    that sequence; another folder beside it, or one beside a seqinfo.ini that cannot be read, stays a folder."""
    seq = tmp_path / "SEQ-07"
    for folder in ("img1", "other"):
        (seq / folder).mkdir(parents=True)
        for i, frame in enumerate(noise_frames(2), start=1):
            cv2.imwrite(str(seq / folder / f"{i:06d}.png"), frame)
    info = "[Sequence]\nname=SEQ-07\nimDir=img1\nframeRate=7\nseqLength=2\nimWidth=160\nimHeight=120\nimExt=.png\n"
    (seq / "seqinfo.ini").write_text(info)
    src = open_source(seq / "img1")
    assert (src.name, src.kind, src.frame_rate) == ("SEQ-07", "sequence", 7.0)
    assert sources.image_source_name(seq / "img1") == "SEQ-07"
    assert [n for n, _ in src] == [1, 2]
    other = open_source(seq / "other")
    assert (other.name, other.frame_rate) == ("other", None) == (sources.image_source_name(seq / "other"), None)
    (seq / "seqinfo.ini").write_text("not an ini file")
    plain = open_source(seq / "img1")
    assert (plain.name, plain.frame_rate, len(list(plain))) == ("img1", None, 2)


def test_a_leading_tilde_is_the_home_folder_and_a_missing_file_says_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_video(tmp_path / "clip.avi", noise_frames(3))
    src = open_source("~/clip.avi")
    assert (src.kind, src.total, src.path) == ("video", 3, tmp_path / "clip.avi")
    with pytest.raises(SourceError) as info:
        open_source("~/nope.mp4")
    assert str(info.value) == f"no such file or folder: ~/nope.mp4 ({tmp_path / 'nope.mp4'})"


def test_a_file_url_is_read_once_as_the_file_it_names_not_reopened_as_a_stream(tmp_path, monkeypatch):
    """A still image's file URL gives its one frame (it was a live stream giving the same image every ~0.5 s, for
    ever); a video's gives its frames; a missing file is an error at once, naming the path (no retries)."""
    monkeypatch.setattr(sources, "_wait", lambda seconds, stop: pytest.fail("a file URL waited to reopen"))
    image = tmp_path / "still shot.png"
    cv2.imwrite(str(image), noise_frames(1)[0])
    src = open_source(image.as_uri())  # file:///.../still%20shot.png
    assert (src.kind, src.live, src.name) == ("images", False, "still shot")  # (one frame, read as in a folder)
    assert [n for n, _ in src] == [1]
    video = write_video(tmp_path / "clip.avi", noise_frames(4))
    assert read_all(video.as_uri())[0] == [1, 2, 3, 4]
    assert read_all(f"file://localhost{video}")[0] == [1, 2, 3, 4]
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError) as info:
        open_source(missing.as_uri())
    assert str(info.value) == f"no such file or folder: {missing.as_uri()} ({missing})"
    for other in ("file://server/share/clip.avi", "file://server"):  # (a bare host was "a file URL that names no file")
        with pytest.raises(SourceError, match="a file URL of another computer"):
            open_source(other)


def test_a_file_url_without_a_host_is_the_relative_or_absolute_path_it_names_decoded(tmp_path, monkeypatch):
    """`track file:sp%20ace/x.avi` run from the folder holding `sp ace/`, and RFC 8089's `file:/abs/x.avi`: both
    were "no such file or folder" (only `file://...` was decoded); `file:` alone names no file, not the current
    folder, and a missing one says the path it was looked for at."""
    folder = tmp_path / "sp ace"
    folder.mkdir()
    video = write_video(folder / "x.avi", noise_frames(3))
    monkeypatch.chdir(tmp_path)
    for spec in (
        "file:sp%20ace/x.avi",
        "FILE:./sp%20ace/x.avi",
        f"file:{tmp_path.as_uri()[len('file://') :]}/sp%20ace/x.avi",
    ):
        src = open_source(spec)
        assert (src.kind, src.name, src.path.resolve()) == ("video", "x", video), spec
        assert [n for n, _ in src] == [1, 2, 3], spec
        assert sources.local_path(spec).resolve() == video, spec
    with pytest.raises(SourceError) as info:
        open_source("file:sp%20ace/nope.avi")
    assert str(info.value) == f"no such file or folder: file:sp%20ace/nope.avi ({Path('sp ace/nope.avi')})"
    for empty in ("file:", "file://"):
        with pytest.raises(SourceError, match="names no file"):
            open_source(empty)


def test_a_name_that_is_not_utf8_is_an_error_or_read_never_a_crash(tmp_path):
    """`track caf<0xE9>.mp4` (a Latin-1 name) ended in a segmentation fault: OpenCV's string conversion crashes on
    the name Python decodes with surrogates. A video so named is one error naming it; a folder of images so named is
    read (its files are read as bytes), named for the outputs with `_` for each undecodable byte."""
    video = undecodable_path(tmp_path, b"caf\xe9.avi")
    write_video(tmp_path / "clip.avi", noise_frames(2)).rename(video)
    with pytest.raises(SourceError) as info:
        open_source(video)
    assert str(info.value) == f"{tmp_path}/caf\ufffd.avi: OpenCV cannot open a name that is not UTF-8: rename the file"
    folder = undecodable_path(tmp_path, b"d\xe9j\xe0")
    folder.mkdir()
    for i, frame in enumerate(noise_frames(2), start=1):
        (folder / f"{i}.png").write_bytes(cv2.imencode(".png", frame)[1].tobytes())
    src = open_source(folder)
    assert src.name == "d_j_" and [n for n, _ in src] == [1, 2]


def test_a_folder_of_notes_is_not_told_to_track_them_as_videos(tmp_path):
    """`track notes/` (only .txt files) was told "to track the videos in it, name them: `track notes/*.txt`", a
    command that fails on every file: the hint now names videos only, and says when the folder holds none."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("a.txt", "b.txt"):
        (notes / name).write_text("not a video")
    with pytest.raises(SourceError) as err:
        open_source(notes)
    message = str(err.value)
    assert "*.txt" not in message and "track the videos" not in message, message
    assert f"it holds 2 other files, e.g. {notes / 'a.txt'}, none of them an image or a video (.mp4, " in message
    # the notes outnumber the one clip beside them: the clip's suffix is still the one suggested
    write_video(notes / "cam.avi", [np.zeros((32, 32, 3), np.uint8)] * 2)
    with pytest.raises(SourceError) as err:
        open_source(notes)
    assert f"`track batch {notes / '*.avi'} --out OUT`" in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("rtsp://admin:secret@192.168.1.10/stream", "rtsp://admin:***@192.168.1.10/stream"),
        ("http://user:p@ss@cam:8080?x=1", "http://user:***@cam:8080?x=1"),  # (the host follows the last @)
        ("rtsp://admin@cam/x", "rtsp://admin@cam/x"),  # a user name alone: nothing hidden
        ("http://cam/v.mjpg?token=a:b@c", "http://cam/v.mjpg?token=a:b@c"),  # a query's `@` is no login
        ("/data/admin:secret@x.mp4", "/data/admin:secret@x.mp4"),  # a path, not a URL
    ],
)
def test_a_shown_url_hides_its_password_and_keeps_the_rest(url, shown):
    assert sources.shown_url(url) == shown


def test_a_folder_of_motchallenge_roots_names_the_sequences_one_level_down(tmp_path):
    """`track ../shared/data` (PETS09-S3-MF1/ directly in it, the roots MOT15/ and MOT17/ one level down) named only
    PETS09-S3-MF1, and a folder of roots alone said only "folder holds no images": a user was not told of the other
    sequences there. Now the error (nothing is tracked, as before) names each root with its count of sequences and
    how to track one or score them."""
    data = tmp_path / "data"
    for sequence in (
        "PETS09/img1",
        "MOT15/train/TUD-Campus/img1",
        "MOT17/train/MOT17-02/img1",
        "MOT17/train/M-04/img1",
    ):
        (data / sequence).mkdir(parents=True)
    (data / "notes").mkdir()  # a folder of neither: not named
    (data / "MOT17" / "test" / "x").mkdir(parents=True)  # a root's other folder (no sequence): not counted

    def said(folder: Path) -> str:
        with pytest.raises(SourceError) as err:
            open_source(folder)
        return str(err.value)

    also = (
        f"also MOTChallenge sequences one level down, in MOT15/ (1 sequence), MOT17/ (2 sequences): track one by "
        f"its folder, `track {data / 'MOT15/train/TUD-Campus'}`, or score a folder's, `track eval --data "
        f"{data / 'MOT15'}`"
    )
    pets = data / "PETS09"
    assert said(data).endswith(
        f"(it holds 1 MOTChallenge sequence, {pets}: track a sequence by its folder, `track {pets}`; {also})"
    ), said(data)
    shutil.rmtree(pets)
    assert said(data).endswith(
        f"holds no images (.jpg, .jpeg, .png, .bmp, .tif, .tiff, .webp, .ppm, .pgm, .pbm, .pnm) ({also})"
    ), said(data)


def test_the_search_one_level_down_for_sequence_roots_is_capped(tmp_path, monkeypatch):
    """`track ~` (a home folder: no images, thousands of folders) listed every folder in it, and each one's `train/`,
    looking for MOTChallenge roots one level down (`_roots_below`): a folder of 3000 folders was listed ~6000 times
    before the error came. The search now looks in the first `MAX_FOLDERS_SEARCHED` folders (natural order) only,
    and the error says how many it left out where it names roots; a root among those searched is still named."""
    home = tmp_path / "home"
    (home / "000-MOT15" / "train" / "TUD-Campus" / "img1").mkdir(parents=True)
    many = 3000
    for i in range(many):
        (home / f"folder{i:05d}").mkdir()
    listed: list[Path] = []
    iterdir = Path.iterdir

    def counted(self: Path):
        listed.append(self)
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", counted)
    with pytest.raises(SourceError) as err:
        open_source(home)
    assert len(listed) < many, f"{len(listed)} folders listed"
    limit = sources.MAX_FOLDERS_SEARCHED
    assert limit < many and len(listed) <= 2 * limit + 4, len(listed)  # (each searched: itself and its train/)
    said = str(err.value)
    assert "also MOTChallenge sequences one level down, in 000-MOT15/ (1 sequence)" in said, said
    assert said.endswith(f"; searched the first {limit} of its {many + 1} folders)"), said


def test_a_glob_in_the_image_folder_of_a_sequence_has_its_name_and_frame_rate(tmp_path):
    """`track "TUD-Campus/img1/*.jpg"` (quoted: one source) tracked at the config's 30 frames/s, not the 25 its
    seqinfo.ini one folder up gives, and named its outputs `img1`, while `track TUD-Campus/img1` is that sequence,
    its name and frame rate. A glob in the image folder a seqinfo.ini's imDir names now has them too (its frames
    are still the images it matches, numbered from 1); a glob in another folder beside it stays a plain glob."""
    seq = tmp_path / "SEQ-07"
    for folder in ("img1", "other"):
        (seq / folder).mkdir(parents=True)
        for i, frame in enumerate(noise_frames(3), start=1):
            cv2.imwrite(str(seq / folder / f"{i:06d}.png"), frame)
    info = "[Sequence]\nname=SEQ-07\nimDir=img1\nframeRate=7\nseqLength=3\nimWidth=160\nimHeight=120\nimExt=.png\n"
    (seq / "seqinfo.ini").write_text(info)
    for pattern, frames in (("*.png", [1, 2, 3]), ("00000[23].png", [1, 2])):
        glob = seq / "img1" / pattern
        src = open_source(glob)
        assert (src.name, src.frame_rate, src.kind) == ("SEQ-07", 7.0, "images"), glob
        assert sources.image_source_name(glob) == "SEQ-07"
        assert [n for n, _ in src] == frames
    other = open_source(seq / "other" / "*.png")
    assert (other.name, other.frame_rate) == ("other", None) == (sources.image_source_name(seq / "other/*.png"), None)
