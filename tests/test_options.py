import pytest
import torch

from sadtalker.errors import OptionError
from sadtalker.options import DEFAULTS, Enhancer, GenerateOptions, Precision, Preprocess


def test_defaults_are_sadtalkers():
    assert DEFAULTS.preprocess is Preprocess.CROP
    assert (DEFAULTS.size, DEFAULTS.pose_style, DEFAULTS.batch_size) == (256, 0, 2)
    assert DEFAULTS.expression_scale == 1.0 and DEFAULTS.enhancer is Enhancer.NONE
    assert DEFAULTS.coeff_channels == 70


def test_strings_become_enums_and_full_modes_widen_coefficients():
    opts = GenerateOptions(preprocess="EXTFULL", enhancer="gfpgan", input_yaw=[0, 20])
    assert opts.preprocess is Preprocess.EXTFULL and opts.preprocess.pastes_back
    assert opts.preprocess.extended and opts.coeff_channels == 73
    assert opts.input_yaw == (0.0, 20.0)
    assert opts.to_dict()["preprocess"] == "extfull"


def test_enhancer_none_accepted():
    assert GenerateOptions(enhancer=None).enhancer is Enhancer.NONE


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"pose_style": 46}, "pose_style must be in [0, 45]"),
        ({"size": 300}, "size must be one of (256, 512)"),
        ({"preprocess": "zoom"}, "unknown preprocess 'zoom'"),
        ({"enhancer": "codeformer"}, "unknown enhancer 'codeformer'"),
        ({"batch_size": 0}, "batch_size must be in"),
        ({"input_pitch": [120]}, "input_pitch angles must lie within"),
        ({"max_audio_seconds": 0}, "max_audio_seconds must be > 0"),
    ],
)
def test_out_of_range_options_name_the_problem(kwargs, fragment):
    with pytest.raises(OptionError) as info:
        GenerateOptions(**kwargs)
    assert fragment in str(info.value)


def test_auto_precision_is_decided_once_from_the_cpu(monkeypatch):
    assert DEFAULTS.precision is Precision.AUTO
    for native, expected in ((True, Precision.BF16), (False, Precision.FP32)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda n=native: n)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        resolved = DEFAULTS.with_resolved_precision()
        assert resolved.precision is expected
        assert resolved.to_dict()["precision"] == expected.value  # what the render pods read
    assert Precision.FP32.resolve() is Precision.FP32 and Precision.BF16.resolve() is Precision.BF16
