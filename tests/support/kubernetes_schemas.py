"""Render deploy/kubernetes's overlays and validate every object strictly.

Built-in kinds are validated against the Kubernetes API's own schemas, in their
strict form (no field the API does not know), for each version in
KUBERNETES_VERSIONS (kubernetes-validate bundles them). Every custom resource is
validated against the openAPIV3Schema of its operator's CRD, read from the CRD
files under CRDS/<operator>-<version>/ (deploy/kubernetes/crds/README.md): read as the API server
reads it, so an object field the CRD does not declare is refused unless that part
of the schema says `x-kubernetes-preserve-unknown-fields`. A custom resource
whose CRD is not there is reported apart (`missing_crds`); an object that is
neither kind is refused.

CEL rules (`x-kubernetes-validations`) and string formats are not evaluated: the
API server does that at apply time.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
# The operators' CRD files are theirs, not this repository's (deploy/kubernetes/crds/README.md lists
# each one's source): they are read from TOLLGATE_TEST_KUBERNETES_CRDS, or from the steering repository's
# shared/kubernetes-crds beside this checkout.
CRDS = Path(os.environ.get("TOLLGATE_TEST_KUBERNETES_CRDS") or ROOT.parent / "shared" / "kubernetes-crds")
OVERLAYS = ("dev", "prod")
# The oldest Kubernetes the manifests are meant for and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.32", "1.37")

Manifest = dict[str, Any]


@dataclass(frozen=True)
class CustomResourceSchema:
    crd_file: Path
    validator: jsonschema.Draft202012Validator


@cache
def rendered(overlay: str) -> tuple[Manifest, ...]:
    """What `kubectl kustomize deploy/kubernetes/overlays/<overlay>` prints, as objects."""
    done = subprocess.run(
        ["kubectl", "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize overlays/{overlay}:\n{done.stderr}"
    return tuple(document for document in yaml.safe_load_all(done.stdout) if document)


def crd_files(folder: Path = CRDS) -> list[Path]:
    return sorted(folder.rglob("*.yaml"))


def is_custom(api_version: str) -> bool:
    """Whether an apiVersion is an extension's: a dotted group outside Kubernetes' own *.k8s.io."""
    group = api_version.rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def strict(schema: Any, *, embedded: bool = False) -> Any:
    """An openAPIV3Schema as JSON Schema with the API server's pruning made refusal."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            result[key] = {name: strict(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            result[key] = strict(value) if isinstance(value, dict) else value
        elif key in ("allOf", "anyOf", "oneOf"):
            result[key] = strict(value)
        elif key == "nullable" or key.startswith("x-kubernetes-"):
            continue
        else:
            result[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        result.pop("type", None)
        result.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in result:
        result["type"] = [result["type"], "null"]
    if schema.get("x-kubernetes-embedded-resource") or embedded:
        # apiVersion, kind and metadata are implied on an embedded object.
        result.setdefault("properties", {})
        result["properties"].setdefault("apiVersion", {"type": "string"})
        result["properties"].setdefault("kind", {"type": "string"})
        result["properties"].setdefault("metadata", {"type": "object"})
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object and not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in schema:
        result["additionalProperties"] = False
    return result


@cache
def kubernetes_definitions() -> Registry[Any]:
    """The Kubernetes API's strict definitions (ObjectMeta among them), for `$ref`s."""
    folder = f"v{KUBERNETES_VERSIONS[0]}.0-local-strict"
    path = files("kubernetes_validate") / "kubernetes-json-schema" / folder / "_definitions.json"
    definitions = json.loads(path.read_text())
    return Resource.from_contents(definitions) @ Registry()


OBJECT_META = {
    "$ref": "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
}


@cache
def custom_resource_schemas(folder: Path = CRDS) -> dict[tuple[str, str], CustomResourceSchema]:
    """(apiVersion, kind) -> the schema of every served version of every CRD under `folder`."""
    schemas: dict[tuple[str, str], CustomResourceSchema] = {}
    for path in crd_files(folder):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served", True):
                    continue
                converted = strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]), embedded=True)
                # The API server validates metadata as ObjectMeta, whatever the CRD says of it.
                converted["properties"]["metadata"] = OBJECT_META
                validator = jsonschema.Draft202012Validator(converted, registry=kubernetes_definitions())
                schemas[(f"{group}/{version['name']}", kind)] = CustomResourceSchema(path, validator)
    return schemas


def missing_crds(manifests: tuple[Manifest, ...], folder: Path = CRDS) -> set[str]:
    """The custom kinds among `manifests` whose CRD is not under `folder` ("group/version Kind")."""
    known = custom_resource_schemas(folder)
    return {
        f"{m['apiVersion']} {m['kind']}"
        for m in manifests
        if is_custom(m["apiVersion"]) and (m["apiVersion"], m["kind"]) not in known
    }


def problems(manifest: Manifest, folder: Path = CRDS) -> Iterator[str]:
    """Every way `manifest` fails its schema; nothing when it is valid or is a custom kind without a CRD."""
    name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
    api_version, kind = manifest.get("apiVersion", ""), manifest.get("kind", "")
    custom = custom_resource_schemas(folder).get((api_version, kind))
    if custom is not None:
        for error in custom.validator.iter_errors(manifest):
            where = ".".join(str(part) for part in error.absolute_path) or "(root)"
            yield f"{name}: {where}: {error.message} (CRD {custom.crd_file.name})"
        return
    if is_custom(api_version):
        return  # missing_crds names it
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path) or "(root)"
            yield f"{name}: {where}: {error.message} (Kubernetes {version})"
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{name}: {api_version} {kind} is not a Kubernetes kind"
            return
