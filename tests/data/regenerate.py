"""Regenerate the public-code reference numbers in tests/data from a checkout of the public
SadTalker code (https://github.com/OpenTalker/SadTalker), given by path.

Every file is computed by the public code's own modules, imported from the checkout, on this
project's synthetic weights (`sadtalker.testing`, as the tests build them)
and real inputs (scikit-image's astronaut, espeak-ng speech). Where the public code detects
landmarks or draws random numbers from the global state, the script hands it what this
project uses instead (given landmarks; the blink ratios and pose latents that
`generate_coefficients` draws for the seed), by patching those functions for the duration of
the call. No public code is copied here.

    python tests/data/regenerate.py /path/to/SadTalker            # write every file
    python tests/data/regenerate.py /path/to/SadTalker --check    # compare, write nothing
    python tests/data/regenerate.py /path/to/SadTalker --only pipeline

Run it from the repository root with the project installed (`pip install -e .`). The public
code needs two packages this project does not (yacs, pydub) and NumPy 1.x (it calls float()
on 1-element arrays); without touching the project's environment:

    pip install --target /tmp/pubdeps yacs pydub numpy==1.26.4
    PYTHONPATH=/tmp/pubdeps python tests/data/regenerate.py /path/to/SadTalker

The files in tests/data were made from OpenTalker/SadTalker@cd4c046 (each records the commit)
on an AVX-512 CPU; the tests' tolerances cover the differences on other CPU classes.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import scipy.io
import soundfile
import torch
from PIL import Image
from skimage import data

from sadtalker import weights
from sadtalker.audio import SAMPLE_RATE
from sadtalker.coeff_layout import FRAME_COEFFS, POSE
from sadtalker.coeffs.audio2pose import LATENT, num_latents
from sadtalker.coeffs.blink import blink_ratios
from sadtalker.face.crop import crop_face
from sadtalker.options import Preprocess
from sadtalker.testing import example_inputs
from sadtalker.testing.checkpoints import write_safetensors, write_torch
from sadtalker.torchvision_compat import install as install_torchvision_compat

DATA = Path(__file__).parent
TESTS = DATA.parent

# the end-to-end parity case (tests/test_pipeline_parity.py reads these from the file)
PIPELINE_SECONDS = 2.0  # the tests' example speech (tests/conftest.py)
PIPELINE_SEED = 0
PIPELINE_FRAMES = 2  # frames rendered: ~7 s each at 256 in fp32 on a slow CPU
PIXEL_STRIDE = 16  # frames are stored as 16x16 block means and every 16th pixel (offset 8)


# ---------------------------------------------------------------------------------------------
# the public checkout and the patches that feed it our inputs

def load_public(checkout: Path) -> None:
    """Make the checkout's `src` package importable (the public code imports `src.*`)."""
    if not (checkout / "src" / "facerender" / "animate.py").is_file():
        sys.exit(f"{checkout} is not a SadTalker checkout (no src/facerender/animate.py)")
    if int(np.__version__.split(".")[0]) >= 2:
        sys.exit("the public 3DMM code calls float() on 1-element arrays, which NumPy 2 "
                 "refuses: put NumPy 1.26 first on the path, e.g. `pip install --target "
                 "/tmp/np1 numpy==1.26.4` and PYTHONPATH=/tmp/np1")
    install_torchvision_compat()  # the public renderer imports gfpgan -> basicsr
    if not hasattr(Image, "ANTIALIAS"):  # removed in Pillow 10; the public crop's shrink uses it
        Image.ANTIALIAS = Image.LANCZOS
    sys.path.insert(0, str(checkout))


def public_commit(checkout: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git work tree)"


@contextlib.contextmanager
def patched(module: ModuleType | type, name: str, value: object) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def our_draws(frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The blink ratios (T, 1) and pose latents (K, LATENT) that `generate_coefficients` draws
    for `seed`, in its order: blinks first, then one latent per 32 frames."""
    rng = np.random.default_rng(seed)
    blink = blink_ratios(frames, rng)
    return blink, rng.standard_normal((num_latents(frames), LATENT), dtype=np.float32)


@contextlib.contextmanager
def injected_draws(seed: int) -> Iterator[None]:
    """The public code draws blinks with `random` and pose latents with `torch.randn`; hand it
    the ones `generate_coefficients` draws for `seed` (for the clip's length, known when the
    blinks are asked for), and check that it asks for exactly as many latents."""
    from src import generate_batch

    drawn: dict[str, np.ndarray] = {}
    asked = []

    def blink_seq(num_frames):
        drawn["blink"], drawn["latents"] = our_draws(num_frames, seed)
        return drawn["blink"].astype(np.float64)

    def randn(*shape, **kwargs):
        asked.append(shape)
        return torch.from_numpy(drawn["latents"][len(asked) - 1]).reshape(1, -1).clone()

    with patched(generate_batch, "generate_blink_seq_randomly", blink_seq), \
            patched(torch, "randn", randn):
        yield
    assert len(asked) == len(drawn["latents"]), f"the public code drew {len(asked)} latents"


def flat_translation(solve: Callable) -> Callable:
    """The public alignment's least-squares step returns its translation as a (2, 1) array,
    which NumPy >= 1.24 refuses to mix with scalars in `align_img`'s parameter array: the same
    numbers, handed on as a flat (2,) array."""
    def wrapper(*args):
        translation, scale = solve(*args)
        return np.asarray(translation).reshape(2), scale
    return wrapper


@contextlib.contextmanager
def given_landmarks(image_landmarks: np.ndarray, crop_landmarks: np.ndarray) -> Iterator[None]:
    """The public crop detects 68 points on the photo and again on the 256 crop (facexlib);
    hand it the given points and the same points mapped into the crop, as this project does."""
    import src.face3d.util.preprocess as alignment
    from src.utils import croper

    class GivenKeypoints:
        def __init__(self, device):
            pass

        def extract_keypoint(self, images, name=None):
            return np.asarray(crop_landmarks, np.float32)[None].repeat(len(images), axis=0)

    with patched(alignment, "POS", flat_translation(alignment.POS)), \
            patched(croper, "KeypointExtractor", GivenKeypoints), \
            patched(croper.Preprocesser, "get_landmark",
                    lambda self, img: np.asarray(image_landmarks, np.float64).copy()):
        yield


def public_paths(checkpoint_dir: Path, checkout: Path, size: int, preprocess: str) -> dict:
    from src.utils.init_path import init_path

    return init_path(str(checkpoint_dir), str(checkout / "src" / "config"), size, False,
                     preprocess)


def write_mat(path: Path, coeffs: np.ndarray) -> str:
    scipy.io.savemat(path, {"coeff_3dmm": np.asarray(coeffs, np.float32)})
    return str(path)


def public_face(paths: dict, image: Path, landmarks: np.ndarray, work: Path,
                size: int = 256) -> tuple[str, str]:
    """Public CropAndExtract (crop mode) with given landmarks: (coefficient .mat, crop .png)."""
    from src.utils.preprocess import CropAndExtract

    pixels = np.asarray(Image.open(image).convert("RGB"))
    _, _, mapped = crop_face(pixels, landmarks, Preprocess.CROP, size)
    with given_landmarks(landmarks, mapped):
        extractor = CropAndExtract(paths, "cpu")
        first_coeff, crop_png, _ = extractor.generate(str(image), str(work), "crop",
                                                      source_image_flag=True, pic_size=size)
    return first_coeff, crop_png


def public_coefficients(paths: dict, first_coeff: str, wav: Path, work: Path, pose_style: int,
                        seed: int, ref_eyeblink: str | None = None,
                        ref_pose: str | None = None) -> np.ndarray:
    """Public get_data + Audio2Coeff.generate with our seed's blinks and latents: (T, 70)."""
    from src.generate_batch import get_data
    from src.test_audio2coeff import Audio2Coeff

    audio2coeff = Audio2Coeff(paths, "cpu")  # built outside the patch: its init draws randn
    with injected_draws(seed):
        batch = get_data(first_coeff, str(wav), "cpu", ref_eyeblink)
        out = audio2coeff.generate(batch, str(work), pose_style, ref_pose)
    return scipy.io.loadmat(out)["coeff_3dmm"]


def public_frames(paths: dict, coeff_mat: str, crop_png: str, first_coeff: str, frames: int,
                  size: int, batch_size: int, preprocess: str = "crop", still: bool = False,
                  expression_scale: float = 1.0, yaw=None, pitch=None, roll=None) -> torch.Tensor:
    """Public get_facerender_data + make_animation: the renderer's float output (N, 3, S, S)
    for the first `frames` frames, in frame order, before any conversion or encoding."""
    from src.facerender.animate import AnimateFromCoeff
    from src.facerender.modules.make_animation import make_animation
    from src.generate_facerender_batch import get_facerender_data

    batch = get_facerender_data(coeff_mat, crop_png, first_coeff, "unused.wav", batch_size,
                                yaw, pitch, roll, expression_scale, still, preprocess, size)
    animate = AnimateFromCoeff(paths, "cpu")
    target = batch["target_semantics_list"]
    if batch_size == 1:  # one row of frames in order: render only the first ones
        target = target[:, :frames]
    out = make_animation(batch["source_image"], batch["source_semantics"], target,
                         animate.generator, animate.kp_extractor, animate.he_estimator,
                         animate.mapping, batch.get("yaw_c_seq"), batch.get("pitch_c_seq"),
                         batch.get("roll_c_seq"), use_exp=True)
    return out.reshape(-1, *out.shape[2:])[:frames]  # (batch, steps) -> frame order


# ---------------------------------------------------------------------------------------------
# the reference files

def rounded(values: np.ndarray, decimals: int = 7) -> list:
    return np.round(np.asarray(values, np.float64), decimals).tolist()


def pipeline_expected(checkout: Path, work: Path) -> dict:
    """tests/test_pipeline_parity.py: the default configuration end to end at 256, fp32."""
    from sadtalker.testing.checkpoints import synthesize

    checkpoints = work / "checkpoints"
    synthesize(checkpoints, sizes=(256,), seed=0, enhancer=False, detector=False)
    inputs = example_inputs.write_example_inputs(work / "inputs", seconds=PIPELINE_SECONDS)
    paths = public_paths(checkpoints, checkout, 256, "crop")
    first_coeff, crop_png = public_face(paths, inputs["image"], example_inputs.astronaut_landmarks(),
                                        work)
    coeffs = public_coefficients(paths, first_coeff, inputs["audio"], work, 0, PIPELINE_SEED)
    coeff_mat = write_mat(work / "coeffs.mat", coeffs)
    frames = public_frames(paths, coeff_mat, crop_png, first_coeff, PIPELINE_FRAMES, 256,
                           batch_size=1)
    source = scipy.io.loadmat(first_coeff)["coeff_3dmm"][0]
    half = PIXEL_STRIDE // 2
    return {
        "how": "public code: CropAndExtract.generate (crop, 256) with the given astronaut "
               "landmarks handed to its two facexlib detections (the photo's points, and the "
               "same points mapped into the crop), get_data + Audio2Coeff.generate (pose_style "
               "0) with the blink ratios and pose latents generate_coefficients draws for the "
               "seed, get_facerender_data (batch 1) + make_animation for the first frames; on "
               "sadtalker.testing.checkpoints.synthesize(seed=0) weights and "
               "example_inputs.write_example_inputs(seconds=2.0)",
        "seconds": PIPELINE_SECONDS,
        "seed": PIPELINE_SEED,
        "source_coeffs": rounded(source),
        "coeffs": rounded(coeffs),
        "frames": PIPELINE_FRAMES,
        "pixel_stride": PIXEL_STRIDE,
        "block_means": rounded(torch.nn.functional.avg_pool2d(frames, PIXEL_STRIDE)),
        "pixels": rounded(frames[:, :, half::PIXEL_STRIDE, half::PIXEL_STRIDE]),
        "mean": rounded(frames.mean(dim=(1, 2, 3))),
        "std": rounded(frames.std(dim=(1, 2, 3))),
    }


COEFF_SOURCE = np.concatenate([np.linspace(-1, 1, 64),
                               [0.1, -0.05, 0.02, 0.01, 0.02, 0.03]]).astype(np.float32)


def coeffs_reference(checkout: Path, work: Path) -> dict:
    """tests/test_coeffs.py::test_reproduces_the_public_code."""
    import src.utils.audio as public_audio
    from src.generate_batch import crop_pad_audio, parse_audio_length

    from sadtalker.testing.coeff_weights import coeff_weights
    from sadtalker.testing.example_inputs import synthetic_voice

    seed, pose_style, voice_seed, seconds = 3, 7, 1, 1.5
    checkpoints = work / "coeff-checkpoints"
    checkpoints.mkdir()
    write_safetensors(checkpoints / weights.sadtalker_file(256), coeff_weights(0))
    paths = public_paths(checkpoints, checkout, 256, "crop")
    wav = work / "voice.wav"
    soundfile.write(wav, synthetic_voice(voice_seed, seconds), SAMPLE_RATE, subtype="FLOAT")
    samples = public_audio.load_wav(str(wav), SAMPLE_RATE)
    length, _ = parse_audio_length(len(samples), SAMPLE_RATE, 25)
    mel = public_audio.melspectrogram(crop_pad_audio(samples, length))
    first_coeff = write_mat(work / "source.mat", COEFF_SOURCE[None])
    rng = np.random.default_rng(5)
    ref_eyeblink = write_mat(work / "eyeblink.mat", rng.normal(0, 0.5, (10, 64)))
    ref_pose = np.zeros((15, FRAME_COEFFS))
    ref_pose[:, POSE] = rng.normal(0, 0.05, (15, 6))
    ref_pose_mat = write_mat(work / "pose.mat", ref_pose)
    out = {
        "how": "public code: src/utils/audio.py melspectrogram, src/generate_batch.py get_data, "
               "Audio2Coeff.generate (SimpleWrapperV2 + Audio2Exp.test, Audio2Pose.test, "
               "savgol, using_refpose) loaded with sadtalker.testing.coeff_weights."
               "coeff_weights(0), on synthetic_voice(seed=1, seconds=1.5) written as float "
               "wav, source coeffs linspace(-1,1,64) | [0.1,-0.05,0.02,0.01,0.02,0.03], "
               "pose_style 7, with the blink ratios and latents generate_coefficients draws "
               "for seed 3 injected into the public code",
        "seed": seed, "pose_style": pose_style, "voice_seed": voice_seed,
        "voice_seconds": seconds,
        "ref_eyeblink_rng": "numpy default_rng(5): normal(0,0.5,(10,64)) then "
                            "normal(0,0.05,(15,6))",
        "mel_every_10th": rounded(mel[::10, ::10], 6),
    }
    for case, refs in (("plain", (None, None)), ("refs", (ref_eyeblink, ref_pose_mat))):
        coeffs = public_coefficients(paths, first_coeff, wav, work, pose_style, seed, *refs)
        out[case] = {"exp_first8": rounded(coeffs[:, :8], 6), "pose": rounded(coeffs[:, POSE], 6)}
    return out


def render_expected(checkout: Path, work: Path) -> dict:
    """tests/test_render_renderer.py::test_frames_match_the_public_code (128 px, 2 cases)."""
    from sadtalker.testing.example_inputs import astronaut_crop
    from sadtalker.testing.render_weights import mapping_weights, render_weights

    spec = importlib.util.spec_from_file_location("test_render_renderer",
                                                  TESTS / "test_render_renderer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seed, size = module.SEED, module.TINY
    checkpoints = work / "render-checkpoints"
    checkpoints.mkdir()
    # the 128 px weights under the 256 file's name: the size only names the file
    write_safetensors(checkpoints / weights.sadtalker_file(256),
                              render_weights(seed, size))
    for channels in (70, 73):
        write_torch(checkpoints / weights.mapping_file(channels),
                            {"mapping": mapping_weights(seed, channels), "epoch": 0})
    face_png = work / "face.png"
    Image.fromarray(astronaut_crop(size)).save(face_png)
    first_coeff = write_mat(work / "render-source.mat", module.source_coefficients()[None])
    cases = [("crop", 70, {"batch_size": 2}),
             ("full_still_freeview", 73,
              {"batch_size": 2, "preprocess": "full", "still": True, "expression_scale": 1.5,
               "input_yaw": [10.0, -20.0, 5.0], "input_pitch": [7.0],
               "input_roll": [-5.0, 5.0]})]
    out = []
    for name, channels, options in cases:
        frames = 3
        coeff_mat = write_mat(work / f"render-{name}.mat", module.clip_coefficients(frames))
        preprocess = options.get("preprocess", "crop")
        paths = public_paths(checkpoints, checkout, 256, preprocess)
        images = public_frames(paths, coeff_mat, str(face_png), first_coeff, frames, size,
                               options["batch_size"], preprocess, options.get("still", False),
                               options.get("expression_scale", 1.0), options.get("input_yaw"),
                               options.get("input_pitch"), options.get("input_roll"))
        out.append({"name": name, "coeff_channels": channels, "frames": frames,
                    "options": options, "block_means": module.block_means(images).tolist()})
    return {"note": "Derived with tests/data/regenerate.py: the public SadTalker renderer "
                    "(AnimateFromCoeff built from src/config/facerender*.yaml, "
                    "get_facerender_data + make_animation) run on sadtalker.testing.render_weights "
                    "weights (seed 0, 128x128), the test module's coefficients and "
                    "astronaut_crop(128); values are 16x16 block means of the float output.",
            "cases": out}


def face_expected(checkout: Path, work: Path) -> dict:
    """tests/test_face_crop.py and test_face_recon.py: crop geometry, alignment, ReconNet.

    The landmarks of the transformed cases are inputs, read from the committed file."""
    from src.utils.croper import Preprocesser

    from sadtalker.testing.recon_weights import recon_weights

    committed = json.loads((DATA / "face_expected.json").read_text())["cases"]
    checkpoints = work / "face-checkpoints"
    checkpoints.mkdir()
    write_safetensors(checkpoints / weights.sadtalker_file(256), recon_weights(0))
    paths = public_paths(checkpoints, checkout, 256, "crop")
    astronaut = data.astronaut()
    cases, recon = {}, None
    for name, case in committed.items():
        landmarks = np.asarray(case["landmarks"], np.float64)
        width, height = case["image_size"]
        blank = Image.new("L", (width, height))
        work_size, crop, quad = Preprocesser.align_face(None, blank, landmarks.copy(), 512)
        cases[name] = {"image_size": [width, height], "landmarks": case["landmarks"],
                       "work_size": list(work_size), "crop_box": list(crop),
                       "quad": [float(v) for v in quad]}
        if width * height > 4096 * 4096:
            continue  # geometry only
        photo = astronaut if width == astronaut.shape[1] else np.asarray(
            Image.fromarray(astronaut).resize((width, height), Image.BILINEAR))
        png = work / f"{name}.png"
        Image.fromarray(photo).save(png)
        face_dir = work / name
        face_dir.mkdir()
        first_coeff, _ = public_face(paths, png, landmarks, face_dir)
        mat = scipy.io.loadmat(first_coeff)
        # the crop is 256 x 256: align_img's first two parameters are its width and height
        cases[name]["trans_params_crop256"] = [256.0, 256.0,
                                               *map(float, mat["coeff_3dmm"][0, 70:73])]
        if name == "rotated_near_border":
            recon = mat["full_3dmm"].reshape(-1).tolist()
    return {"how": "computed by tests/data/regenerate.py: public Preprocesser.align_face("
                   "output_size=512) on the astronaut landmarks and transformed copies (x8 on "
                   "the photo resized to 4096; rotated 15 deg and moved to the border; x20 on a "
                   "blank 10240 image, geometry only), and CropAndExtract.generate (crop, 256) "
                   "with the given landmarks for trans_params (float32 there)",
            "cases": cases,
            "recon": {"how": "public CropAndExtract's ReconNetWrapper('resnet50', "
                             "use_last_fc=False) loaded strictly with sadtalker.testing.recon_weights."
                             "recon_weights(0), on the aligned 224 face of case "
                             "rotated_near_border",
                      "output": recon}}


FILES: dict[str, tuple[str, Callable[[Path, Path], dict]]] = {
    "pipeline": ("pipeline_expected.json", pipeline_expected),
    "coeffs": ("coeffs_reference.json", coeffs_reference),
    "render": ("render_expected.json", render_expected),
    "face": ("face_expected.json", face_expected),
}


def max_differences(new: object, old: object, key: str = "") -> Iterator[tuple[str, float]]:
    """(key, max abs difference) of every numeric leaf the two JSON trees share."""
    if isinstance(new, dict) and isinstance(old, dict):
        for k in new.keys() & old.keys():
            yield from max_differences(new[k], old[k], f"{key}.{k}" if key else k)
    elif isinstance(new, list) and isinstance(old, list) and new and isinstance(new[0], dict):
        for i, (a, b) in enumerate(zip(new, old)):
            yield from max_differences(a, b, f"{key}[{i}]")
    elif isinstance(new, (list, int, float)) and not isinstance(new, bool):
        a, b = np.asarray(new, np.float64), np.asarray(old, np.float64)
        yield key, (float(np.abs(a - b).max()) if a.shape == b.shape else float("inf"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a checkout of OpenTalker/SadTalker")
    parser.add_argument("--only", choices=sorted(FILES), action="append",
                        help="regenerate only these files (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="print the max abs difference to the committed files, write nothing")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    load_public(checkout)
    torch.set_grad_enabled(False)
    commit = public_commit(checkout)
    for name in args.only or list(FILES):
        filename, make = FILES[name]
        with tempfile.TemporaryDirectory() as tmp:
            result = make(checkout, Path(tmp))
        result["public_commit"] = commit
        path = DATA / filename
        if args.check:
            old = json.loads(path.read_text()) if path.exists() else {}
            for key, diff in max_differences(result, old):
                print(f"{filename} {key}: max abs diff {diff:.3g}")
        else:
            path.write_text(json.dumps(result, indent=None, separators=(",", ":")) + "\n")
            print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
