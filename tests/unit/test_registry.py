"""Reading back what a push left in the registry: an OCI index's platforms and its provenance."""

from __future__ import annotations

from sos_images.registry import distribution_facts, index_facts

DIGEST = "sha256:" + "a" * 64


def test_an_index_read_with_buildx_names_its_platforms_and_its_attestations() -> None:
    index = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"digest": DIGEST, "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": DIGEST, "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
            {
                "digest": DIGEST,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ],
    }
    assert index_facts(index) == {"index": True, "platforms": ["linux/amd64", "linux/arm/v7"], "provenance": "present"}
    assert index_facts({"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []})["index"] is False
    assert index_facts({}) == {}


def test_the_engines_distribution_inspect_says_the_same() -> None:
    """GET /distribution/{name}/json: BuildKit's attestation manifests appear as the platform unknown/unknown."""
    data = {
        "Descriptor": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": DIGEST, "size": 856},
        "Platforms": [
            {"architecture": "amd64", "os": "linux"},
            {"architecture": "arm64", "os": "linux"},
            {"architecture": "unknown", "os": "unknown"},
            {"architecture": "unknown", "os": "unknown"},
        ],
    }
    assert distribution_facts(data) == {
        "index": True,
        "platforms": ["linux/amd64", "linux/arm64"],
        "provenance": "present",
    }
    data["Platforms"] = data["Platforms"][:1]
    assert distribution_facts(data)["provenance"] == "absent"
    data["Descriptor"]["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    assert distribution_facts(data) == {"index": False, "platforms": [], "provenance": "unknown"}
    assert distribution_facts({}) == {}
