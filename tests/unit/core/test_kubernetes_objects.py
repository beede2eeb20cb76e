"""render_kubernetes_objects against the Kubernetes schema and the rules of each Flink release."""

from __future__ import annotations

from collections.abc import Callable

import kubernetes_validate
import pytest

from airflow_flink_k8s.core.kubernetes_objects import (
    render_kubernetes_objects,
    with_owner_references,
)
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.spec_support import full_spec, minimal_spec


@pytest.mark.parametrize("version", ["1.16.3", "1.18.1", "1.19.1", "1.20.3", "2.0.0", "2.3.0"])
@pytest.mark.parametrize("make_spec", [minimal_spec, full_spec], ids=["minimal", "full"])
def test_every_rendered_object_is_valid_for_the_kubernetes_api(
    version: str, make_spec: Callable[..., FlinkApplicationSpec]
) -> None:
    objects = with_owner_references(render_kubernetes_objects(make_spec(version)),
                                    "5f0c1a2e-0000-4000-8000-000000000001")
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)


def test_the_configuration_file_and_artifacts_volume_follow_the_flink_release() -> None:
    old, new = render_kubernetes_objects(minimal_spec("1.18.1")), render_kubernetes_objects(minimal_spec("1.19.0"))
    assert list(old[-1]["data"]) == ["flink-conf.yaml"] and list(new[-1]["data"]) == ["config.yaml"]
    def volumes(objs: list[dict]) -> list[str]:
        return [v["name"] for v in objs[0]["spec"]["template"]["spec"]["volumes"]]

    assert volumes(old) == ["flink-config-volume"]
    assert volumes(new) == ["user-artifacts-volume", "flink-config-volume"]


def test_only_the_owned_objects_get_the_deployment_as_controller() -> None:
    objects = with_owner_references(render_kubernetes_objects(minimal_spec("2.3.0")), "uid-1")
    assert "ownerReferences" not in objects[0]["metadata"]
    for obj in objects[1:]:
        (ref,) = obj["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Deployment", "probe", "uid-1", True)


def test_headless_internal_service_exists_only_without_ha() -> None:
    def names(spec: FlinkApplicationSpec) -> list[tuple[str, str]]:
        return [(o["kind"], o["metadata"]["name"]) for o in render_kubernetes_objects(spec)]

    assert ("Service", "probe") in names(minimal_spec("2.3.0"))
    with_ha = minimal_spec("2.3.0", ha="kubernetes", ha_storage_dir="s3://b/ha")
    assert ("Service", "probe") not in names(with_ha)
