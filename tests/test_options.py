import pytest
import torch

from sadtalker.coeff_layout import FRAME_COEFFS, SOURCE_COEFFS
from sadtalker.cpu import CpuClass
from sadtalker.errors import OptionError
from sadtalker.options import DEFAULTS, Enhancer, GenerateOptions, Precision, Preprocess


def test_defaults_are_sadtalkers():
    assert DEFAULTS.preprocess is Preprocess.CROP
    assert (DEFAULTS.size, DEFAULTS.pose_style, DEFAULTS.batch_size) == (256, 0, 2)
    assert DEFAULTS.expression_scale == 1.0 and DEFAULTS.enhancer is Enhancer.NONE
    assert DEFAULTS.coeff_channels == FRAME_COEFFS


def test_strings_become_enums_and_full_modes_widen_coefficients():
    opts = GenerateOptions(preprocess="EXTFULL", enhancer="gfpgan", input_yaw=[0, 20])
    assert opts.preprocess is Preprocess.EXTFULL and opts.preprocess.pastes_back
    assert opts.preprocess.extended and opts.coeff_channels == SOURCE_COEFFS
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


def test_auto_picks_the_fastest_precision_the_cpu_runs_natively():
    assert DEFAULTS.precision is Precision.AUTO
    assert Precision.AUTO.resolve(CpuClass.AVX512_BF16) is Precision.BF16
    assert Precision.AUTO.resolve(CpuClass.AVX512) is Precision.WINOGRAD
    assert Precision.AUTO.resolve(CpuClass.AVX2) is Precision.WINOGRAD
    for cpu in CpuClass:
        assert Precision.FP32.resolve(cpu) is Precision.FP32
        assert Precision.WINOGRAD.resolve(cpu) is Precision.WINOGRAD


@pytest.mark.parametrize("cpu", [CpuClass.AVX512, CpuClass.AVX2])
def test_bf16_is_refused_where_the_cpu_lacks_it(cpu):
    with pytest.raises(OptionError) as info:
        Precision.BF16.resolve(cpu)
    assert str(info.value) == (f"precision bf16 needs a CPU with native bfloat16 (AVX-512 BF16 "
                               f"or AMX); this one is {cpu.value} class: use precision auto, "
                               f"winograd or fp32")
    assert Precision.BF16.resolve(CpuClass.AVX512_BF16) is Precision.BF16
    assert not Precision.BF16.runs_on(cpu) and Precision.FP32.runs_on(cpu)


def test_options_are_resolved_once_for_this_machine(monkeypatch):
    from sadtalker import options

    for cpu, expected in ((CpuClass.AVX512_BF16, Precision.BF16), (CpuClass.AVX2, Precision.WINOGRAD)):
        monkeypatch.setattr(options, "cpu_class", lambda c=cpu: c)
        resolved = DEFAULTS.with_resolved_precision()
        assert resolved.precision is expected
        assert resolved.to_dict()["precision"] == expected.value  # what the render pods read
    with pytest.raises(OptionError, match="avx2 class"):
        GenerateOptions(precision="bf16").with_resolved_precision()


def test_cpu_class_follows_torchs_view_of_the_cpu(monkeypatch):
    from sadtalker import cpu

    for bf16, avx512, aten, expected in ((True, True, "AVX512", CpuClass.AVX512_BF16),
                                         (False, True, "AVX512", CpuClass.AVX512),
                                         (False, False, "AVX2", CpuClass.AVX2),
                                         (True, True, "AVX2", CpuClass.AVX2)):  # ATen capped
        cpu.cpu_class.cache_clear()
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda b=bf16: b)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_supported", lambda a=avx512: a)
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda c=aten: c)
        assert cpu.cpu_class() is expected
    cpu.cpu_class.cache_clear()


def test_json_round_trip_keeps_every_option():
    opts = GenerateOptions(preprocess="full", size=512, input_roll=[-5, 5], seed=3,
                           precision="fp32")
    assert GenerateOptions.from_json(opts.to_json()) == opts


def test_every_option_has_a_help_and_a_choice_type_where_values_are_fixed():
    from sadtalker.options import Size, option_specs

    specs = {spec.name: spec for spec in option_specs()}
    assert all(spec.help for spec in specs.values())
    assert specs["size"].choices is Size and specs["preprocess"].choices is Preprocess
    assert specs["input_yaw"].is_list and specs["input_yaw"].item_type is float
    assert specs["seed"].choices is None and not specs["seed"].is_list
