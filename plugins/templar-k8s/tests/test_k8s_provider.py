"""The k8s provider: its fields, its rules, and ORB's k8s_templates.json unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from templar import TemplateEngine
from templar.testing import RunCli, WriteLayer, issue_codes

from templar_k8s import K8S_PROVIDER, __version__, parse_quantity


def _template(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "templateId": "w1",
        "providerApi": "Deployment",
        "maxNumber": 3,
        "imageId": "nginx:1.27",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def test_orb_k8s_templates_load_unchanged(
    orb_samples: Path, templar_config_dir: Path, templar_engine: TemplateEngine
) -> None:
    shutil.copyfile(
        orb_samples / "k8s_templates.json", templar_config_dir / "k8sprov_templates.json"
    )
    report = templar_engine.validate()
    assert report.issues == []
    templates = {t.template_id: t for t in templar_engine.list_templates()}
    assert list(templates) == [
        "k8s-pod-example",
        "k8s-deployment-example",
        "k8s-statefulset-example",
        "k8s-job-example",
        "k8s-nginx-deployment-native-path",
    ]
    assert [t.provider_api for t in templates.values()] == [
        "Pod",
        "Deployment",
        "StatefulSet",
        "Job",
        "Deployment",
    ]
    job = templates["k8s-job-example"]
    assert job.name == "Kubernetes Job example"
    assert job.configuration == {
        "max_number": 3,
        "image": "busybox:1.37",
        "command": ["sh", "-c", "exit 0"],
        "price_type": "ondemand",
        "allocation_strategy": "lowestPrice",
    }
    native = templates["k8s-nginx-deployment-native-path"]
    # _comment is a comment: read past, kept nowhere.
    assert "_comment" not in native.configuration and "comment" not in native.configuration
    assert native.configuration["native_spec_path"] == "config/specs/k8s/nginx-deployment.yaml"
    features = {r.template_id: r.supported_features for r in report.results}
    assert features["k8s-job-example"] == ["run-to-completion"]
    assert features["k8s-statefulset-example"] == ["replicas", "stable-identity"]
    assert features["k8s-nginx-deployment-native-path"] == ["replicas", "native-spec"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"image": "nginx:1.27", "max_number": 3}),
        (
            {"imageId": None, "image": "registry.k8s.io/pause:3.9"},
            {"image": "registry.k8s.io/pause:3.9"},
        ),
        (
            {"imageId": None, "image_id": "localhost:5000/team/app:v1"},
            {"image": "localhost:5000/team/app:v1"},
        ),
        (
            {"imageId": "ghcr.io/org/app@sha256:" + "a" * 64},
            {"image": "ghcr.io/org/app@sha256:" + "a" * 64},
        ),
        ({"namespace": "batch-jobs"}, {"namespace": "batch-jobs"}),
        (
            {"command": ["python"], "args": ["-m", "app"]},
            {"command": ["python"], "args": ["-m", "app"]},
        ),
        (
            {"env": {"LOG_LEVEL": "debug", "WORKERS": 4, "DEBUG": False}},
            {"env": {"LOG_LEVEL": "debug", "WORKERS": "4", "DEBUG": "false"}},
        ),
        ({"env": [{"name": "A", "value": "1"}, {"name": "B"}]}, {"env": {"A": "1", "B": ""}}),
        (
            {"nodeSelector": {"kubernetes.io/arch": "amd64", "pool": ""}},
            {"node_selector": {"kubernetes.io/arch": "amd64", "pool": ""}},
        ),
        (
            {
                "resources": {
                    "requests": {"cpu": "500m", "memory": "256Mi"},
                    "limits": {"cpu": 1, "memory": "1Gi", "nvidia.com/gpu": "1"},
                }
            },
            {
                "resources": {
                    "requests": {"cpu": "500m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
                }
            },
        ),
        ({"maxNumber": -1}, {"max_number": -1}),
    ],
)
def test_accepted(
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    templar_write("k8sprov_templates.json", [_template(**fields)])
    assert templar_engine.validate().issues == []
    template = templar_engine.get_template("w1")
    assert template is not None
    assert {k: template.configuration.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("fields", "expected_field", "expected_error"),
    [
        ({"imageId": "Nginx:1.27"}, "configuration.image", "not a container image reference"),
        ({"imageId": "nginx:"}, "configuration.image", "not a container image reference"),
        ({"imageId": "nginx@sha256:abc"}, "configuration.image", "not a container image reference"),
        ({"imageId": "-bad/name"}, "configuration.image", "not a container image reference"),
        ({"namespace": "Batch"}, "configuration.namespace", "DNS-1123 label"),
        ({"namespace": "a" * 64}, "configuration.namespace", "DNS-1123 label"),
        ({"namespace": "-x"}, "configuration.namespace", "DNS-1123 label"),
        ({"maxNumber": 10001}, "configuration.max_number", "less than or equal to 10000"),
        ({"maxNumber": None}, "configuration.max_number", "field required"),
        ({"command": "sleep 5"}, "configuration.command", "valid list"),
        (
            {"env": {"1BAD": "x"}},
            "configuration.env.1BAD.[key]",
            "not a valid environment variable name",
        ),
        ({"env": [{"value": "x"}]}, "configuration.env", "{name, value}"),
        (
            {"nodeSelector": {"bad key!": "x"}},
            "configuration.node_selector.bad key!.[key]",
            "not a label key",
        ),
        (
            {"nodeSelector": {"pool": "x" * 64}},
            "configuration.node_selector.pool",
            "not a label value",
        ),
        (
            {"resources": {"requests": {"cpu": "half"}}},
            "configuration.resources.requests.cpu",
            "not a Kubernetes quantity",
        ),
        (
            {"resources": {"requests": {"memory": "-1Gi"}}},
            "configuration.resources.requests.memory",
            "not a Kubernetes quantity",
        ),
        (
            {"resources": {"requests": {"memory": "1GB"}}},
            "configuration.resources.requests.memory",
            "not a Kubernetes quantity",
        ),
        (
            {"resources": {"requests": {"cpu": True}}},
            "configuration.resources.requests.cpu",
            "not a boolean",
        ),
        (
            {"resources": {"request": {"cpu": "1"}}},
            "configuration.resources.request",
            "unknown key 'request'",
        ),
        ({"priceType": "spot"}, "configuration.price_type", "'ondemand'"),
        (
            {"nodeSelecter": {"a": "b"}},
            "configuration.node_selecter",
            "unknown key 'nodeSelecter' (did you mean 'nodeSelector'?)",
        ),
    ],
)
def test_refused(
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected_field: str,
    expected_error: str,
) -> None:
    templar_write("k8sprov_templates.json", [_template(**fields)])
    errors = [(e.field, e.message) for e in templar_engine.validate().errors]
    assert any(f == expected_field and expected_error in m for f, m in errors), errors
    assert templar_engine.get_template("w1") is None


@pytest.mark.parametrize(
    ("fields", "expected_codes"),
    [
        ({"providerApi": "DaemonSet"}, ["k8s-provider-api-invalid"]),
        ({"providerApi": "Deployments"}, ["k8s-provider-api-invalid"]),
        ({"imageId": None}, ["k8s-image-required"]),
        ({"imageId": None, "nativeSpecPath": "specs/app.yaml"}, []),
        (
            {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}},
            ["k8s-request-exceeds-limit"],
        ),
        ({"resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "1024Mi"}}}, []),
        (
            {"resources": {"requests": {"memory": "2G"}, "limits": {"memory": "1Gi"}}},
            ["k8s-request-exceeds-limit"],
        ),
        ({"resources": {"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}}}, []),
    ],
)
def test_cross_field_rules(
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected_codes: list[str],
) -> None:
    templar_write("k8sprov_templates.json", [_template(**fields)])
    assert issue_codes(templar_engine.validate(), "w1") == expected_codes


def test_request_above_limit_is_located_and_explained(
    templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    templar_write("k8sprov_templates.json", [_template(resources={"limits": {"cpu": "1"}})])
    templar_write(
        "k8stype_templates.yaml",
        """\
        w1:
          resources:
            requests: {cpu: 1500m}
        """,
    )
    [error] = templar_engine.validate().errors
    assert error.code == "k8s-request-exceeds-limit"
    assert error.message.startswith("the cpu request (1500m) is above its limit (1) (source: ")
    assert "kubernetes.io/docs" in error.message
    assert error.field == "configuration.resources.requests.cpu"
    assert error.file is not None and error.file.endswith("k8stype_templates.yaml")
    assert error.line == 3


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("500m", "0.5"),
        ("2", "2"),
        ("1Ki", "1024"),
        ("1Gi", "1073741824"),
        ("1.5G", "1500000000"),
        ("1e3", "1000"),
        ("100n", "0.0000001"),
        (".5", "0.5"),
    ],
)
def test_parse_quantity(quantity: str, value: str) -> None:
    from decimal import Decimal

    assert parse_quantity(quantity) == Decimal(value)


def test_key_style_reads_orb_and_snake_case() -> None:
    style = K8S_PROVIDER.key_style
    assert style is not None
    assert [
        style.to_canonical(k) for k in ("imageId", "image_id", "image", "nodeSelector", "maxNumber")
    ] == [
        "image",
        "image",
        "image",
        "node_selector",
        "max_number",
    ]
    assert style.to_external("image") == "imageId"


def test_list_style_camel_exports_orb_spelling(
    templar_write: WriteLayer, templar_cli: RunCli
) -> None:
    templar_write("k8sprov_templates.yaml", [_template(nodeSelector={"pool": "a"})])
    result = templar_cli("list", "--style", "camel", entry_points=["k8s"])
    assert result.exit_code == 0, result.output
    [exported] = json.loads(result.stdout)["templates"]
    assert exported["imageId"] == "nginx:1.27"
    assert exported["nodeSelector"] == {"pool": "a"}
    assert exported["templateId"] == "w1"


def test_installed_entry_point_is_discovered(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    result = subprocess.run(
        [sys.executable, "-m", "templar", "plugins", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["k8s"]["version"] == __version__
    assert plugins["k8s"]["registered"] == ["k8s"]
    assert plugins["k8s"]["error"] is None


@pytest.mark.parametrize("sample", ["063", "064", "065", "066"])
def test_realworld_orb_k8s_files_load_unchanged(
    realworld_samples: Path, templar_config_dir: Path, templar_engine: TemplateEngine, sample: str
) -> None:
    shutil.copyfile(
        realworld_samples / sample / "k8s_templates.json",
        templar_config_dir / "k8sprov_templates.json",
    )
    report = templar_engine.validate()
    assert report.errors == []
    written = json.loads((realworld_samples / sample / "k8s_templates.json").read_text())
    ids = [t["templateId"] for t in written["templates"]]
    assert [t.template_id for t in templar_engine.list_templates()] == ids


def test_orb_k8s_field_set(templar_write: WriteLayer, templar_engine: TemplateEngine) -> None:
    """Every field of ORB's K8sTemplate, in ORB's camelCase (its HostFactory mapping)."""
    fields = {
        "namespaces": ["batch", "batch-2"],
        "runtimeClass": "gvisor",
        "nodeSelector": {"kubernetes.io/arch": "amd64"},
        "tolerations": {
            "key": "dedicated",
            "operator": "Equal",
            "value": "hpc",
            "effect": "NoSchedule",
            "tolerationSeconds": 60,
        },
        "serviceAccount": "hf-worker",
        "resourceRequests": {"cpu": "500m", "memory": "256Mi", "ephemeralStorage": "1Gi"},
        "resourceLimits": {"cpu": "1", "memory": "1Gi", "gpuCount": 1, "gpuType": "nvidia.com/gpu"},
        "completions": 4,
        "parallelism": 2,
        "annotations": {"team": "hpc"},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "env": [
            {"name": "MODE", "value": "batch"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "t"}}},
        ],
        "imagePullSecret": "regcred",
        "podSpecOverride": {"hostNetwork": True},
        "priorityClassName": "high",
        "terminationGracePeriodSeconds": 30,
        "restartPolicy": "OnFailure",
        "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 3},
        "securityContext": {"runAsUser": 1000, "runAsNonRoot": True, "fsGroup": 2000},
        "ttlSecondsAfterFinished": 600,
        "activeDeadlineSeconds": 3600,
    }
    templar_write("k8sprov_templates.json", [_template(providerApi="Job", **fields)])
    report = templar_engine.validate()
    assert report.issues == []
    template = templar_engine.get_template("w1")
    assert template is not None
    config = template.configuration
    assert config["tolerations"] == [
        {
            "key": "dedicated",
            "operator": "Equal",
            "value": "hpc",
            "effect": "NoSchedule",
            "toleration_seconds": 60,
        }
    ]
    assert config["resource_limits"] == {
        "cpu": "1",
        "memory": "1Gi",
        "gpu_count": 1,
        "gpu_type": "nvidia.com/gpu",
    }
    assert config["volumes"] == [{"name": "data", "source": {"emptyDir": {}}}]
    assert config["env"] == {
        "MODE": "batch",
        "TOKEN": {"secret_key_ref": {"name": "s", "key": "t"}},
    }
    assert config["service_account"] == "hf-worker"
    assert config["restart_policy"] == "OnFailure"
    [result] = report.results
    assert {
        "run-to-completion",
        "resource-requests",
        "resource-limits",
        "tolerations",
        "volumes",
        "probes",
    } <= set(result.supported_features)


@pytest.mark.parametrize(
    ("fields", "expected_codes"),
    [
        (
            {"providerApi": "Deployment", "restartPolicy": "Never"},
            ["k8s-restart-policy-unsupported"],
        ),
        ({"providerApi": "Job", "restartPolicy": "Always"}, ["k8s-restart-policy-unsupported"]),
        ({"providerApi": "Pod", "restartPolicy": "Never"}, []),
        ({"providerApi": "Deployment", "completions": 3}, ["k8s-job-field-ignored"]),
        ({"providerApi": "Pod", "serviceName": "svc"}, ["k8s-service-name-ignored"]),
        (
            {"resourceRequests": {"memory": "2Gi"}, "resourceLimits": {"memory": "1Gi"}},
            ["k8s-request-exceeds-limit"],
        ),
        (
            {"resources": {"requests": {"cpu": "1"}}, "resourceRequests": {"cpu": "1"}},
            ["k8s-resources-twice"],
        ),
        # ORB's empty values are "not set".
        ({"namespace": "", "tolerations": [], "annotations": {}}, []),
        ({"machine_role": "hf-worker"}, []),
    ],
)
def test_orb_k8s_rules(
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected_codes: list[str],
) -> None:
    templar_write("k8sprov_templates.json", [_template(**fields)])
    assert issue_codes(templar_engine.validate(), "w1") == expected_codes


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"readinessProbe": {"periodSeconds": 5}}, "exactly one of httpGet"),
        ({"tolerations": [{"effect": "Sometimes"}]}, "'NoSchedule', 'PreferNoSchedule'"),
        ({"restartPolicy": "Sometimes"}, "'Always', 'OnFailure' or 'Never'"),
        ({"completions": 0}, "greater than 0"),
        ({"env": [{"name": "A", "value": "1", "valueFrom": {}}]}, "value or valueFrom"),
        ({"volumes": [{"emptyDir": {}}]}, "field required"),
    ],
)
def test_orb_k8s_fields_refused(
    templar_write: WriteLayer, templar_engine: TemplateEngine, fields: dict[str, Any], message: str
) -> None:
    templar_write("k8sprov_templates.json", [_template(**fields)])
    errors = templar_engine.validate().errors
    assert any(message in e.message for e in errors), [e.message for e in errors]


#: A template of Morgan Stanley's Symphony HostFactory for Kubernetes, as its tests write it
#: (morganstanley/symphony-hostfactory, src/hostfactory/tests/unit/test_api.py).
SYMPHONY_K8S = {
    "templateId": "Template-K8s-A",
    "maxNumber": 10,
    "attributes": {
        "nram": ["4096"],
        "ncpus": ["8"],
        "ncores": ["1"],
        "type": ["String", "X86_64"],
    },
    "podSpec": "pod-spec.yaml",
}


def test_symphony_for_kubernetes_templates_are_read(
    templar_config_dir: Path, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    (templar_config_dir / "pod-spec.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    templar_write("k8sprov_templates.json", {"templates": [SYMPHONY_K8S]})
    report = templar_engine.validate()
    assert report.issues == []
    template = templar_engine.get_template("Template-K8s-A")
    assert template is not None
    assert template.configuration["attributes"] == {
        "nram": ["Numeric", "4096"],
        "ncpus": ["Numeric", "8"],
        "ncores": ["Numeric", "1"],
        "type": ["String", "X86_64"],
    }
    assert template.configuration["pod_spec"] == "pod-spec.yaml"
    assert "pod-spec-file" in report.results[0].supported_features


@pytest.mark.parametrize(
    ("fields", "expected_codes"),
    [
        ({"podSpec": "{{ podSpec }}"}, ["k8s-unrendered-placeholder"]),
        ({"podSpec": "missing.yaml"}, ["k8s-pod-spec-not-found"]),
        ({"attributes": None}, ["k8s-attributes-missing"]),
    ],
)
def test_symphony_for_kubernetes_rules(
    templar_config_dir: Path,
    templar_write: WriteLayer,
    templar_engine: TemplateEngine,
    fields: dict[str, Any],
    expected_codes: list[str],
) -> None:
    (templar_config_dir / "pod-spec.yaml").write_text("apiVersion: v1\nkind: Pod\n")
    body = {k: v for k, v in {**SYMPHONY_K8S, **fields}.items() if v is not None}
    templar_write("k8sprov_templates.json", {"templates": [body]})
    assert issue_codes(templar_engine.validate()) == expected_codes


def test_symphony_for_kubernetes_attributes_need_type_ncpus_nram(
    templar_config_dir: Path, templar_write: WriteLayer, templar_engine: TemplateEngine
) -> None:
    (templar_config_dir / "pod-spec.yaml").write_text("kind: Pod\n")
    body = {**SYMPHONY_K8S, "attributes": {"ncpus": ["8"], "type": ["String", "X86_64"]}}
    templar_write("k8sprov_templates.json", {"templates": [body]})
    [error] = templar_engine.validate().errors
    assert error.field == "configuration.attributes"
    assert "must define nram" in error.message
