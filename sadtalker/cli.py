"""The `sadtalker` command: generate a video, manage checkpoints, write example inputs.

A thin argparse layer over `sadtalker.pipeline`, `sadtalker.weights` and `sadtalker.testing`;
its generation flags follow from `sadtalker.options.GenerateOptions`. Errors the user can fix
print as one line.
"""

from __future__ import annotations

import argparse
import logging
import sys
from enum import Enum
from pathlib import Path

from tqdm import tqdm

from sadtalker import weights
from sadtalker.errors import SadTalkerError
from sadtalker.options import SIZES, GenerateOptions, OptionSpec, option_specs

log = logging.getLogger("sadtalker")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="animate a portrait with a speech clip")
    p.add_argument("--image", type=Path, required=True, help="portrait (jpg/png/webp/bmp)")
    p.add_argument("--audio", type=Path, required=True, help="speech (wav/mp3/m4a/flac/ogg)")
    p.add_argument("--out", type=Path, required=True, help="output .mp4")
    p.add_argument("--landmarks", type=Path, help="68 (x, y) points (.npy/.json): skip detection")
    p.add_argument("--checkpoints", type=Path, help=f"checkpoint dir (default ${weights.ENV_VAR} "
                   "or the user cache)")
    p.add_argument("--ref-eyeblink", type=Path, help="video whose eye blinks are copied")
    p.add_argument("--ref-pose", type=Path, help="video whose head motion is copied")
    for spec in option_specs():
        _add_option(p, spec)
    p.add_argument("--chunk-frames", type=int,
                   help="render in chunks of this many frames, as the workflow's pods do")


def _add_option(parser: argparse.ArgumentParser, spec: OptionSpec) -> None:
    """One `--flag` per field of GenerateOptions, typed, with its choices, default and help."""
    flag = "--" + spec.name.replace("_", "-")
    if spec.type is bool:
        parser.add_argument(flag, action="store_true", help=spec.help)
        return
    default = spec.default.value if isinstance(spec.default, Enum) else spec.default
    kind = str if spec.type is spec.choices else spec.item_type  # an enum field reads values
    parser.add_argument(
        flag, type=kind, nargs="+" if spec.is_list else None, default=default,
        choices=None if spec.choices is None else [kind(c.value) for c in spec.choices],
        help=spec.help if default is None else f"{spec.help} (default: {default})")


def _add_weights(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="download, verify or synthesize checkpoint files")
    verbs = p.add_subparsers(dest="verb", required=True)
    d = verbs.add_parser("download", help="fetch the official files (checksummed, resumable)")
    d.add_argument("--dir", type=Path)
    d.add_argument("--group", action="append", choices=[g.value for g in weights.Group],
                   help="feature groups to fetch (repeatable; default: all)")
    v = verbs.add_parser("verify", help="check each file against its published sha256; exit 1 "
                         "when one is missing or damaged")
    v.add_argument("--dir", type=Path)
    v.add_argument("--group", action="append", choices=[g.value for g in weights.Group],
                   help="feature groups to check (repeatable; default: all)")
    s = verbs.add_parser("synthesize", help="write random-weight files in the official layout")
    s.add_argument("--dir", type=Path)
    s.add_argument("--size", type=int, action="append", choices=SIZES)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-enhancer", action="store_true")
    s.add_argument("--no-detector", action="store_true")


def _add_examples(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("example-inputs", help="write a portrait, its landmarks and espeak-ng speech")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--seconds", type=float, help="cut or pad the speech to this length")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sadtalker", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_weights(sub)
    _add_examples(sub)
    return parser


def _generate(args: argparse.Namespace) -> None:
    from sadtalker import pipeline

    options = GenerateOptions(**{spec.name: getattr(args, spec.name)
                                 for spec in option_specs()})
    if weights.uses_synthetic_weights(args.checkpoints, options.size):
        log.warning("the checkpoints are SYNTHETIC (random weights): the video is not a face")
    out = pipeline.generate(args.image, args.audio, args.out, options,
                            checkpoints=args.checkpoints, landmarks=args.landmarks,
                            ref_eyeblink=args.ref_eyeblink, ref_pose=args.ref_pose,
                            chunk_frames=args.chunk_frames)
    print(out)


def _download(args: argparse.Namespace) -> None:
    groups = [weights.Group(g) for g in args.group] if args.group else list(weights.Group)
    bars: dict[str, tqdm] = {}

    def progress(name: str, done: int, total: int | None) -> None:
        bar = bars.get(name) or bars.setdefault(
            name, tqdm(total=total, unit="B", unit_scale=True, desc=name))
        bar.update(done - bar.n)

    try:
        paths = weights.download(weights.names_for(groups), args.dir, progress)
    finally:
        for bar in bars.values():
            bar.close()
    for path in paths:
        print(path)


def _verify(args: argparse.Namespace) -> int:
    groups = [weights.Group(g) for g in args.group] if args.group else list(weights.Group)
    unusable = (weights.FileState.MISSING, weights.FileState.CORRUPT)
    bad = 0
    for status in weights.verify(args.dir, weights.names_for(groups)):
        print(f"{status.state.value:9s} {status.name}: {status.detail}")
        bad += status.state in unusable
    if bad:
        print(f"error: {bad} file(s) missing or damaged: run 'sadtalker weights download'",
              file=sys.stderr)
    return 1 if bad else 0


def _synthesize(args: argparse.Namespace) -> None:
    from sadtalker.testing.checkpoints import synthesize

    directory = weights.checkpoint_dir(args.dir)
    for path in synthesize(directory, sizes=args.size or [256], seed=args.seed,
                           enhancer=not args.no_enhancer, detector=not args.no_detector):
        print(path)


def _examples(args: argparse.Namespace) -> None:
    from sadtalker.testing.example_inputs import write_example_inputs

    for path in write_example_inputs(args.dir, seconds=args.seconds).values():
        print(path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "generate":
            _generate(args)
        elif args.command == "example-inputs":
            _examples(args)
        elif args.verb == "download":
            _download(args)
        elif args.verb == "verify":
            return _verify(args)
        else:
            _synthesize(args)
    except SadTalkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
