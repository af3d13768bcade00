"""The cluster PodTemplates in deploy/ that tasks name at registration."""

from __future__ import annotations

from pathlib import Path

import yaml

from tasks.config import CHECKPOINTS_IN_IMAGE

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def pod_templates() -> dict[str, dict]:
    """The pod spec of every PodTemplate in deploy/, by name."""
    templates = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"] == "PodTemplate":
                templates[document["metadata"]["name"]] = document["template"]["spec"]
    return templates


def test_the_render_template_mounts_the_weights_as_the_weights_template_does() -> None:
    """A render pod carries the render template instead of the weights', so it must mount
    the same volume at the same place."""
    templates = pod_templates()
    weights, render = templates["sadtalker-weights"], templates["sadtalker-render"]
    (mount,) = weights["containers"][0]["volumeMounts"]
    assert (mount["mountPath"], mount["readOnly"]) == (CHECKPOINTS_IN_IMAGE, True)
    assert render["volumes"] == weights["volumes"]
    assert render["containers"] == weights["containers"]
    assert "affinity" in render and "affinity" not in weights  # only render pods are placed
