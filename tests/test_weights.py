"""The checkpoint registry: locating, verifying, and downloading over a real (loopback) server."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from sadtalker import weights
from sadtalker.checksum import file_sha256
from sadtalker.errors import CheckpointError
from sadtalker.testing.checkpoints import record_synthetic, write_safetensors, write_torch

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB stands in for a checkpoint file


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD, honouring `Range: bytes=N-` as release servers do."""

    def do_GET(self) -> None:
        start = 0
        header = self.headers.get("Range")
        if header:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/file"
    server.shutdown()


@pytest.fixture()
def served_entry(server_url, monkeypatch):
    entry = replace(weights.REGISTRY[weights.S3FD], url=server_url,
                    sha256=hashlib.sha256(PAYLOAD).hexdigest(), size=len(PAYLOAD))
    monkeypatch.setitem(weights.REGISTRY, entry.name, entry)
    return entry


def test_checkpoint_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path / "env"))
    assert weights.checkpoint_dir() == tmp_path / "env"
    assert weights.checkpoint_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv(weights.ENV_VAR)
    assert weights.checkpoint_dir().name == "checkpoints"


def test_missing_file_error_names_file_directory_and_fix(tmp_path):
    with pytest.raises(CheckpointError) as info:
        weights.locate(weights.SADTALKER_256, tmp_path)
    message = str(info.value)
    assert weights.SADTALKER_256 in message and str(tmp_path) in message
    assert f"sadtalker weights download --dir {tmp_path}" in message


def test_registry_covers_every_official_file():
    assert set(weights.REGISTRY) == {
        "SadTalker_V0.0.2_256.safetensors", "SadTalker_V0.0.2_512.safetensors",
        "mapping_00229-model.pth.tar", "mapping_00109-model.pth.tar", "GFPGANv1.4.pth",
        "detection_Resnet50_Final.pth", "parsing_parsenet.pth", "s3fd-619a316812.pth",
        "2DFAN4-11f355bf06.pth.tar",
    }
    for entry in weights.REGISTRY.values():
        assert entry.url.startswith("https://") and entry.url.endswith(entry.name)
        assert len(entry.sha256) in (10, 64)


def test_download_verifies_and_renames(served_entry, tmp_path):
    seen = []
    [path] = weights.download([served_entry.name], tmp_path,
                              progress=lambda name, done, total: seen.append((done, total)))
    assert path.read_bytes() == PAYLOAD
    assert not path.with_name(path.name + ".part").exists()
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    [status] = weights.verify(tmp_path, [served_entry.name])
    assert status.state is weights.FileState.OK


def test_download_resumes_a_partial_file(served_entry, tmp_path):
    part = tmp_path / (served_entry.name + ".part")
    part.write_bytes(PAYLOAD[:1000])
    weights.download([served_entry.name], tmp_path)
    assert (tmp_path / served_entry.name).read_bytes() == PAYLOAD


def test_download_refuses_a_wrong_checksum(served_entry, monkeypatch, tmp_path):
    monkeypatch.setitem(weights.REGISTRY, served_entry.name, replace(served_entry, sha256="0" * 64))
    with pytest.raises(CheckpointError, match="sha256"):
        weights.download([served_entry.name], tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_verify_reports_corrupt_and_missing(tmp_path):
    (tmp_path / weights.MAPPING_CROP).write_bytes(b"not a checkpoint")
    states = {s.name: s.state for s in weights.verify(tmp_path)}
    assert states[weights.MAPPING_CROP] is weights.FileState.CORRUPT
    assert states[weights.GFPGAN] is weights.FileState.MISSING


def test_safetensors_prefix_loading_and_synthetic_marker(tmp_path):
    path = tmp_path / weights.SADTALKER_256
    write_safetensors(path, {"audio2exp.w": torch.ones(2), "audio2pose.w": torch.zeros(3)})
    assert weights.is_synthetic(path)
    assert weights.uses_synthetic_weights(tmp_path, 256)
    loaded = weights.load_safetensors_prefix(path, "audio2exp")
    assert list(loaded) == ["w"] and loaded["w"].tolist() == [1.0, 1.0]
    with pytest.raises(CheckpointError, match=r"256\.safetensors \[generator\]: no tensors "
                                              r"under 'generator\.'"):
        weights.load_safetensors_prefix(path, "generator")


def test_manifest_marks_pickled_synthetic_files(tmp_path):
    path = tmp_path / weights.GFPGAN
    torch.save({"params_ema": {}}, path)
    assert not weights.is_synthetic(path)
    record_synthetic(tmp_path, [path])
    assert weights.is_synthetic(path)
    [status] = weights.verify(tmp_path, [weights.GFPGAN])
    assert status.state is weights.FileState.SYNTHETIC


def test_unreadable_safetensors_names_file_part_and_fix(tmp_path: Path):
    path = tmp_path / weights.SADTALKER_256
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError) as info:
        weights.load_safetensors_prefix(path, "generator")
    message = str(info.value)
    assert message.startswith(f"{path} [generator]: cannot read it (")
    assert message.endswith(f"re-download it: `sadtalker weights download --dir {tmp_path}`")
    assert "\n" not in message


def test_unreadable_torch_file_names_it(tmp_path: Path):
    path = tmp_path / weights.MAPPING_CROP
    path.write_bytes(b"not a pickle\n" * 40)
    with pytest.raises(CheckpointError) as info:
        weights.load_torch_state(path)
    assert str(info.value).startswith(f"{path}: cannot read it (")
    assert "\n" not in str(info.value)


def test_torch_entries_are_found_or_named(tmp_path: Path):
    path = tmp_path / weights.GFPGAN
    torch.save({"params": {"w": torch.ones(1)}}, path)
    key, state = weights.load_torch_state(path, ("params_ema", "params"))
    assert key == "params" and list(state) == ["w"]
    name = re.escape(str(path))
    with pytest.raises(CheckpointError, match=rf"^{name}: no entry 'mapping'; re-download"):
        weights.load_torch_state(path, ("mapping",))
    torch.save([torch.ones(1)], path)
    with pytest.raises(CheckpointError, match=rf"^{name}: holds a list, not a dict"):
        weights.load_torch_state(path)


def test_load_strict_names_file_part_missing_and_unexpected_keys(tmp_path: Path):
    path = tmp_path / "layer.pth"
    state = {"weight": torch.ones(2, 3), "extra": torch.ones(1)}
    with pytest.raises(CheckpointError) as info:
        weights.load_strict(nn.Linear(3, 2), state, path, "head")
    assert str(info.value).startswith(
        f"{path} [head]: does not fit Linear: missing keys ['bias'], unexpected keys ['extra'] "
        "(1 missing, 1 unexpected); re-download it: `sadtalker weights download")


def test_load_strict_names_file_and_key_of_a_wrong_shape():
    state = {"weight": torch.ones(3, 3), "bias": torch.ones(2)}
    with pytest.raises(CheckpointError) as info:
        weights.load_strict(nn.Linear(3, 2), state, "in-memory weights")
    assert str(info.value) == ("in-memory weights: key weight has shape (3, 3), Linear expects "
                               "(2, 3); re-download the file")


def test_load_strict_loads_and_returns_the_module():
    layer = nn.Linear(3, 2)
    state = {"weight": torch.full((2, 3), 0.5), "bias": torch.zeros(2)}
    assert weights.load_strict(layer, state, "w") is layer
    assert layer.weight.eq(0.5).all()


def test_strip_prefix_keeps_one_sub_model_exactly():
    entries = {"generator.a": 1, "generator_extra.b": 2, "kp.generator.c": 3, "generator.d.e": 4}
    assert weights.strip_prefix(entries, "generator") == {"a": 1, "d.e": 4}


def _synthetic_dir(directory: Path, seed: int = 0) -> Path:
    """Small random-weight files under the names a 256 crop run reads."""
    directory.mkdir()
    torch.manual_seed(seed)
    write_safetensors(directory / weights.SADTALKER_256, {"w": torch.randn(64, 64)})
    write_torch(directory / weights.MAPPING_CROP, {"state_dict": torch.randn(32)})
    return directory


def test_fingerprint_follows_file_bytes_not_directories(tmp_path):
    names = [weights.SADTALKER_256, weights.MAPPING_CROP]
    first = _synthetic_dir(tmp_path / "a")
    same = _synthetic_dir(tmp_path / "b")  # same seed, same bytes, another directory
    changed = _synthetic_dir(tmp_path / "c")
    write_torch(changed / weights.MAPPING_CROP, {"state_dict": torch.randn(32)})

    fingerprint = weights.fingerprint(names, first)
    assert fingerprint == weights.fingerprint(names, same) == weights.fingerprint(names[::-1], same)
    assert fingerprint != weights.fingerprint(names, changed)  # one file differs
    assert fingerprint != weights.fingerprint(names[:1], first)  # a file fewer
    expected = hashlib.sha256("".join(f"{name}\n{file_sha256(first / name)}\n"
                                      for name in sorted(names)).encode()).hexdigest()
    assert fingerprint == expected


def test_fingerprints_of_groups_equal_each_group_alone(tmp_path, monkeypatch):
    directory = _synthetic_dir(tmp_path / "a")
    whole, subset = [weights.SADTALKER_256, weights.MAPPING_CROP], [weights.SADTALKER_256]
    read = []
    monkeypatch.setattr(weights, "file_sha256", lambda path: read.append(path) or file_sha256(path))
    prints = weights.fingerprints({"run": whole, "face": subset}, directory)
    assert sorted(p.name for p in read) == sorted(whole)  # each file read once
    assert prints == {"run": weights.fingerprint(whole, directory),
                      "face": weights.fingerprint(subset, directory)}


def test_fingerprint_of_a_missing_file_names_it(tmp_path):
    directory = _synthetic_dir(tmp_path / "a")
    with pytest.raises(CheckpointError, match=weights.GFPGAN):
        weights.fingerprint([weights.SADTALKER_256, weights.GFPGAN], directory)
