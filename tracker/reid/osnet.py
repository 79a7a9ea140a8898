"""OSNet (Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification", ICCV 2019) in torch.

Written for this project from the paper's description; the module names follow torchreid's, so its
published state dicts load with strict key matching. `forward` returns the (N, 512) feature before the
classifier (the classifier weights, if present in a checkpoint, are ignored).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

__all__ = ["OSNet", "osnet_x0_25", "osnet_x1_0"]

_BOTTLENECK_REDUCTION = 4  # OSBlock's middle width is out_channels / 4
_GATE_REDUCTION = 16  # the unified aggregation gate squeezes channels by 16
_STREAMS = 4  # omni-scale streams of 1, 2, 3 and 4 stacked lite 3x3 convolutions
FEATURE_DIM = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the input normalisation OSNet was trained with: RGB in [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)


class _ConvBnRelu(nn.Sequential):
    """conv -> BN -> ReLU, stored as `.conv` and `.bn`."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, relu: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(c_out)  # (nn.Identity once folded into the convolution: `fold_batchnorm`)
        if relu:
            self.relu = nn.ReLU(inplace=True)


class _LiteConv3x3(nn.Module):
    """Pointwise then depthwise 3x3 convolution, BN, ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, groups=c_out, bias=False)
        self.bn: nn.Module = nn.BatchNorm2d(c_out)  # (nn.Identity once folded into the convolution: `fold_batchnorm`)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv2(self.conv1(x))))


class _ChannelGate(nn.Module):
    """Unified aggregation gate: per-channel weights from a squeezed global descriptor."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = max(1, channels // _GATE_REDUCTION)
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(w))))


class _OSBlock(nn.Module):
    """Omni-scale residual bottleneck: four streams of growing receptive field, gated and summed."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        mid = c_out // _BOTTLENECK_REDUCTION
        self.conv1 = _ConvBnRelu(c_in, mid, 1)
        self.conv2a = _LiteConv3x3(mid, mid)
        self.conv2b = nn.Sequential(*[_LiteConv3x3(mid, mid) for _ in range(2)])
        self.conv2c = nn.Sequential(*[_LiteConv3x3(mid, mid) for _ in range(3)])
        self.conv2d = nn.Sequential(*[_LiteConv3x3(mid, mid) for _ in range(_STREAMS)])
        self.gate = _ChannelGate(mid)
        self.conv3 = _ConvBnRelu(mid, c_out, 1, relu=False)
        self.downsample = _ConvBnRelu(c_in, c_out, 1, relu=False) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = sum(self.gate(stream(x1)) for stream in (self.conv2a, self.conv2b, self.conv2c, self.conv2d))
        identity = x if self.downsample is None else self.downsample(x)
        return torch.relu(self.conv3(x2) + identity)


def _stage(c_in: int, c_out: int, transition: bool) -> nn.Sequential:
    layers: list[nn.Module] = [_OSBlock(c_in, c_out), _OSBlock(c_out, c_out)]
    if transition:
        layers.append(nn.Sequential(_ConvBnRelu(c_out, c_out, 1), nn.AvgPool2d(2, stride=2)))
    return nn.Sequential(*layers)


class OSNet(nn.Module):
    """OSNet feature extractor (Zhou et al., ICCV 2019; torchreid's module names, so its state dicts load). Input
    (N, 3, 256, 128) normalised RGB -> output (N, 512)."""

    def __init__(self, channels: tuple[int, int, int, int]) -> None:
        super().__init__()
        c0, c1, c2, c3 = channels
        self.conv1 = _ConvBnRelu(3, c0, 7, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _stage(c0, c1, transition=True)
        self.conv3 = _stage(c1, c2, transition=True)
        self.conv4 = _stage(c2, c3, transition=False)
        self.conv5 = _ConvBnRelu(c3, c3, 1)
        self.fc = nn.Sequential(nn.Linear(c3, FEATURE_DIM), nn.BatchNorm1d(FEATURE_DIM), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB crops in [0, 1] normalised by IMAGENET_MEAN / IMAGENET_STD (256 x 128 as trained) -> (B,
        FEATURE_DIM) features, not L2-normalised."""
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.conv4(self.conv3(self.conv2(x))))
        return self.fc(x.mean(dim=(2, 3)))

    def load_torchreid(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a torchreid state dict strictly (classifier keys are dropped; `module.` prefixes stripped).

        Raises:
            ValueError: keys missing or unexpected, or tensors of other shapes, naming a few of them.
        """
        cleaned = {
            k.removeprefix("module."): v
            for k, v in state_dict.items()
            if not k.startswith(("classifier.", "module.classifier."))
        }
        try:
            result = self.load_state_dict(cleaned, strict=False)
        except RuntimeError as exc:  # same names, other shapes: another width of OSNet
            mismatches = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
            raise ValueError(
                f"state dict does not match OSNet: {len(mismatches)} tensors of another shape "
                f"(e.g. {mismatches[0] if mismatches else exc})"
            ) from None
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(
                "state dict does not match OSNet: "
                f"{len(result.missing_keys)} missing (e.g. {result.missing_keys[:3]}), "
                f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:3]})"
            )
        self.flush_subnormals()

    @torch.no_grad()
    def fold_batchnorm(self) -> OSNet:
        """Fold every BatchNorm into the convolution or linear layer before it, in place; returns self (eval mode).

        Inference-only and exact up to float rounding (cosine to the unfolded features > 0.9999): each BN
        becomes a per-channel scale of the weights and a bias (torch.nn.utils.fusion). It removes about one
        kernel launch in five, which is what a small network's forward costs on a GPU, and a pass over every
        activation on the CPU. The folded model no longer loads torchreid state dicts (no `bn` keys). Folding
        scales weights by gamma / sqrt(var + eps), which can make new float32 subnormals (5 in the Market-1501
        OSNet-x0.25): they are flushed again, as `load_torchreid` does.
        """
        self.eval()
        for module in self.modules():
            if isinstance(module, _ConvBnRelu) and isinstance(module.bn, nn.BatchNorm2d):
                module.conv, module.bn = fuse_conv_bn_eval(module.conv, module.bn), nn.Identity()
            elif isinstance(module, _LiteConv3x3) and isinstance(module.bn, nn.BatchNorm2d):
                module.conv2, module.bn = fuse_conv_bn_eval(module.conv2, module.bn), nn.Identity()
        linear, bn = self.fc[0], self.fc[1]
        if isinstance(linear, nn.Linear) and isinstance(bn, nn.BatchNorm1d):
            self.fc[0], self.fc[1] = fuse_linear_bn_eval(linear, bn), nn.Identity()
        self.flush_subnormals()
        return self

    @torch.no_grad()
    def flush_subnormals(self) -> int:
        """Set float32-subnormal weights and buffers to zero; returns how many there were.

        Trained checkpoints carry such values (the MSMT17 OSNet-x0.25 has about a thousand). They change no
        output but make CPU convolutions on flat image regions up to 10x slower (subnormal arithmetic).
        """
        tiny = torch.finfo(torch.float32).tiny
        count = 0
        for tensor in (*self.parameters(), *self.buffers()):
            if tensor.is_floating_point():
                subnormal = (tensor != 0) & (tensor.abs() < tiny)
                count += int(subnormal.sum())
                tensor.masked_fill_(subnormal, 0.0)
        return count


def osnet_x0_25() -> OSNet:
    """OSNet with width multiplier 0.25 (0.2 M parameters)."""
    return OSNet((16, 64, 96, 128))


def osnet_x1_0() -> OSNet:
    """OSNet with width multiplier 1.0 (2.2 M parameters)."""
    return OSNet((64, 256, 384, 512))
