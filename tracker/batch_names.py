"""How the errors of a batch name what the user chose: `track_many`'s parameters for a Python caller
(`PARAMETERS`), `track batch`'s options for the command line (`OPTIONS`, which the CLI passes). One wording of each
error, whoever called: a Python user is not told about a flag they never typed."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OPTIONS", "PARAMETERS", "SettingNames"]


@dataclass(frozen=True)
class SettingNames:
    """What an error calls each setting of a batch (`track_many`'s parameter names as the fields), and whether they
    are command-line flags (`--engine ray`) or Python parameters (`engine='ray'`)."""

    gallery: str
    out_dir: str
    engine: str
    address: str
    gpus_per_video: str
    flags: bool

    def setting(self, name: str, value: str | float) -> str:
        """The setting `name` (a field) given `value`, as the caller wrote it: `--engine ray` or `engine='ray'`,
        `--gpus-per-video 0.25` or `gpus_per_video=0.25`."""
        number = isinstance(value, float)
        shown = f"{value:g}" if number else value
        if self.flags:
            return f"{getattr(self, name)} {shown}"
        return f"{getattr(self, name)}={shown if number else repr(value)}"


PARAMETERS = SettingNames("gallery", "out_dir", "engine", "address", "gpus_per_video", flags=False)
"""`track_many`'s own parameters (a Python caller's)."""
OPTIONS = SettingNames("--gallery", "--out", "--engine", "--address", "--gpus-per-video", flags=True)
"""`track batch`'s options (the command line's)."""
