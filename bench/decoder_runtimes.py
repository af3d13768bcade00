"""Renderer seconds per frame with the SPADE decoder run by other runtimes: OpenVINO and ONNX
Runtime, in fp32 and int8 (post-training static quantisation).

The decoder is 76 % of a fp32 frame; the 3-D dense motion and warps stay in torch (OpenVINO's
GridSample is 4-D only). Paths, timed interleaved (one batch of each per round, medians over
`--runs` rounds after a warm-up round), all on the same frames:
  baseline   the public code's fp32 path (bench/render_speed.py's baseline, glibc heap);
  fp32       this package's exact torch path (the reference of every PSNR);
  ov_fp32    the decoder as an OpenVINO model (sadtalker.render.decoder_graph), f32 hint;
  ov_int8    the same quantised by NNCF (MIXED preset: asymmetric activations);
  ort_int8   the decoder exported to ONNX, QDQ static quantisation of every Conv (u8
             activations, per-channel s8 weights), ONNX Runtime's CPU provider.
int8 models are calibrated on the decoder inputs of `--calibration` frames of the same clip
that are not timed. The converted models are cached in `--work` (built once; they do not
depend on the ISA), so the same models can be timed under several ISA caps:

    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python bench/decoder_runtimes.py
    ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE python bench/decoder_runtimes.py
    python bench/decoder_runtimes.py

ONEDNN_MAX_CPU_ISA caps torch's oneDNN and OpenVINO's convolutions and fused subgraphs (the
bench prints the kernels OpenVINO chose: e.g. jit_avx2_I8 vs brgconv_avx512_I8); OpenVINO's
MVN and Interpolate nodes ignore it, and ONNX Runtime's MLAS has no cap at all (it picks
AVX-512 VNNI kernels wherever the CPU has them), so capped ort_int8 figures are not those of
the capped class. Needs `pip install openvino nncf onnxruntime onnx` (the `int8-bench` extra).
"""

from __future__ import annotations

import collections
import logging
import os
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from render_speed import driving_coefficients, psnr, render_arguments, render_like_public
from torch import nn

from sadtalker import cpu, weights
from sadtalker.allocator import retain_freed_memory
from sadtalker.coeff_layout import FRAME_COEFFS
from sadtalker.options import Precision
from sadtalker.render import Renderer
from sadtalker.render.decoder_graph import DecoderGraph
from sadtalker.render.renderer import GENERATOR_PREFIX, KP_PREFIX
from sadtalker.render.settings import RenderSettings
from sadtalker.testing.example_inputs import astronaut_crop
from sadtalker.testing.render_weights import mapping_weights, render_weights

log = logging.getLogger("bench.decoder_runtimes")

SEED = 0
CLIP_FRAMES = 32
FEATURES = 256  # decoder input channels
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")


class RuntimeDecoder(nn.Module):
    """Stands in for `Generator.decoder`: hands the feature map to another runtime."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__()
        self.run = run

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.run(feature.float().contiguous().numpy()))


def decoder_inputs(renderer: Renderer, state, settings, start: int, stop: int) -> torch.Tensor:
    """The decoder's inputs for frames [start, stop), in NCHW."""
    captured = []
    hook = renderer.generator.decoder.register_forward_hook(
        lambda module, inputs, output: captured.append(inputs[0].float().contiguous()))
    try:
        renderer.render_float(state, settings, start, stop)
    finally:
        hook.remove()
    return torch.cat(captured)


def build_models(renderer: Renderer, calibration: torch.Tensor, batch: int, work: Path) -> None:
    """Convert (OpenVINO IR, ONNX) and quantise (NNCF, ORT QDQ) the decoder into `work`."""
    import nncf
    import openvino as ov
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    work.mkdir(parents=True, exist_ok=True)
    graph = DecoderGraph(renderer.generator.decoder).eval()
    example = calibration[:batch]
    samples = [calibration[i:i + batch].numpy() for i in range(0, len(calibration), batch)]
    if not (work / "decoder_fp32.xml").exists():
        begin = time.perf_counter()
        with torch.no_grad():
            model = ov.convert_model(graph, example_input=example)
        model.reshape(list(example.shape))
        ov.save_model(model, work / "decoder_fp32.xml", compress_to_fp16=False)
        log.info("OpenVINO conversion %.0f s", time.perf_counter() - begin)
    if not (work / "decoder_int8.xml").exists():
        begin = time.perf_counter()
        model = ov.Core().read_model(work / "decoder_fp32.xml")
        quantized = nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples),
                                  preset=nncf.QuantizationPreset.MIXED)
        ov.save_model(quantized, work / "decoder_int8.xml", compress_to_fp16=False)
        log.info("NNCF quantisation %.0f s", time.perf_counter() - begin)
    if not (work / "decoder_qdq.onnx").exists():
        begin = time.perf_counter()
        with torch.no_grad():
            torch.onnx.export(graph, (example,), work / "decoder_fp32.onnx", dynamo=False,
                              opset_version=17, input_names=["feature"],
                              output_names=["image"])

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self.samples = iter(samples)

            def get_next(self) -> dict[str, np.ndarray] | None:
                sample = next(self.samples, None)
                return None if sample is None else {"feature": sample}

        quantize_static(work / "decoder_fp32.onnx", work / "decoder_qdq.onnx", Reader(),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv"])
        log.info("ONNX export + ORT quantisation %.0f s", time.perf_counter() - begin)


def openvino_runner(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled OpenVINO model as a function, after logging the kernels it runs."""
    import openvino as ov

    compiled = ov.Core().compile_model(path, "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY"})
    kernels = collections.Counter()
    for node in compiled.get_runtime_model().get_ordered_ops():
        info = node.get_rt_info()
        layer = info["layerType"].astype(str)
        if layer in ("Convolution", "Subgraph", "MVN", "Interpolate"):
            kernels[f"{layer} {info['primitiveType'].astype(str)}"] += 1
    log.info("%s kernels: %s", path.name, ", ".join(f"{n} x{c}" for c, n in
                                                     sorted(kernels.items(), key=str)))
    return lambda x: compiled(x)[0]


def onnxruntime_runner(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # idle ORT threads otherwise spin after each run and slow the torch paths timed beside it
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"feature": x})[0]


def main() -> None:
    parser = render_arguments(__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=int, default=4,
                        help="frames whose decoder inputs calibrate int8 (the clip's last)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sadtalker-decoder-runtimes"))
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    caps = " ".join(f"{v}={os.environ[v]}" for v in ISA_VARIABLES if v in os.environ)
    log.info("%s, torch kernels: %s, ISA caps: %s", cpu.describe(),
             torch.backends.cpu.get_cpu_capability(), caps or "none")

    tensors = render_weights(SEED, args.size)
    coeffs = driving_coefficients(CLIP_FRAMES, SEED)
    source = astronaut_crop(args.size)

    def build() -> Renderer:
        return Renderer.from_state_dicts(
            weights.strip_prefix(tensors, KP_PREFIX),
            weights.strip_prefix(tensors, GENERATOR_PREFIX),
            mapping_weights(SEED, FRAME_COEFFS), args.size, FRAME_COEFFS, Precision.FP32)

    ours = build()
    state = ours.prepare(source, coeffs[0])
    settings = RenderSettings.for_clip(coeffs, coeffs[0], FRAME_COEFFS, args.batch)
    calibration = decoder_inputs(ours, state, settings, CLIP_FRAMES - args.calibration,
                                 CLIP_FRAMES)
    work = args.work / str(args.size)
    build_models(ours, calibration, args.batch, work)

    paths: dict[str, Callable[[int, int], torch.Tensor]] = {}
    if not args.skip_baseline:
        public = build()
        public.generator.set_frame_dtype(torch.float32, channels_last=False)
        paths["baseline"] = lambda a, b: render_like_public(public, state, source, settings,
                                                            a, b)
    paths["fp32"] = lambda a, b: ours.render_float(state, settings, a, b)
    runners = {
        "ov_fp32": openvino_runner(work / "decoder_fp32.xml", args.threads),
        "ov_int8": openvino_runner(work / "decoder_int8.xml", args.threads),
        "ort_int8": onnxruntime_runner(work / "decoder_qdq.onnx", args.threads),
    }
    for name, run in runners.items():
        other = build()
        other.generator.decoder = RuntimeDecoder(run)
        paths[name] = lambda a, b, r=other: r.render_float(state, settings, a, b)

    times: dict[str, list[float]] = {name: [] for name in paths}
    frames: dict[str, list[torch.Tensor]] = {name: [] for name in paths}
    for run in range(args.runs + 1):  # round 0 warms up
        start = run * args.batch
        for name, render in paths.items():
            retain_freed_memory(name != "baseline")
            begin = time.perf_counter()
            out = render(start, start + args.batch)
            if run:
                times[name].append((time.perf_counter() - begin) / args.batch)
                frames[name].append(out)
        log.info("round %d: %s (load %.1f)", run, " ".join(
            f"{n} {t[-1]:.2f}" for n, t in times.items() if t), os.getloadavg()[0])

    median = {name: statistics.median(t) for name, t in times.items()}
    reference = torch.cat(frames["fp32"])
    log.info("size %d, %d threads, batch %d, median of %d interleaved rounds, ISA caps: %s",
             args.size, args.threads, args.batch, args.runs, caps or "none")
    log.info("%-9s %8s %10s %10s %9s", "path", "s/frame", "vs public", "vs fp32", "PSNR")
    for name, seconds in median.items():
        versus_public = (f"x{median['baseline'] / seconds:.2f}" if "baseline" in median
                         else "-")
        quality = psnr(torch.cat(frames[name]), reference)
        log.info("%-9s %8.2f %10s %10s %9s", name, seconds, versus_public,
                 f"x{median['fp32'] / seconds:.2f}",
                 "exact" if name == "fp32" else f"{quality:.1f} dB")


if __name__ == "__main__":
    main()
