"""ResourceQuota admission, as the API server's quota plug-in applies it to creates.

A create that would take a namespace over a quota's ``spec.hard`` is refused with 403 Forbidden ("exceeded quota"),
and so is a pod that leaves out a compute resource the quota limits ("must specify"). Enforced: object counts
(``count/<resource>[.<group>]``, and ``pods``, ``services``, ``configmaps``, ``secrets`` by their short names) and
pod compute (``requests.cpu``/``cpu``, ``requests.memory``/``memory``, ``limits.cpu``, ``limits.memory``). Pods in a
terminal phase (Succeeded, Failed) do not count. A quota naming anything else is refused at its own create (422),
never accepted and ignored. ``status`` (used) is not kept: the admission counts the objects each time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from airflow_flink_k8s_sandbox.k8s_resources import ApiError
from airflow_flink_k8s_sandbox.scheduling import container_amount, parse_quantity

COUNTED_BY_SHORT_NAME = ("pods", "services", "configmaps", "secrets")
#: Pod compute quota names → (field of the container's resources, resource).
POD_COMPUTE = {"requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
               "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
               "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory")}
TERMINAL_PHASES = ("Succeeded", "Failed")

#: The objects of a resource (plural) in a namespace.
ListObjects = Callable[[str], list[dict[str, Any]]]


def _count_names(plural: str, group: str) -> set[str]:
    names = {f"count/{plural}{'.' + group if group else ''}"}
    if not group and plural in COUNTED_BY_SHORT_NAME:
        names.add(plural)
    return names


def check_quota_spec(quota: Mapping[str, Any]) -> None:
    """Refuse (422) a ResourceQuota naming what this admission does not enforce, or a bad quantity."""
    for name, value in ((quota.get("spec") or {}).get("hard") or {}).items():
        enforced = name in POD_COMPUTE or name in COUNTED_BY_SHORT_NAME or name.startswith("count/")
        if not enforced:
            raise ApiError(422, "Invalid", f"spec.hard[{name}]: the sandbox enforces only object counts and pod "
                                           f"cpu/memory requests and limits, not {name!r}")
        try:
            parse_quantity(value)
        except ValueError as exc:
            raise ApiError(422, "Invalid", f"spec.hard[{name}]: Invalid value: {value!r}: {exc}") from None


def _live(objects: list[dict[str, Any]], plural: str) -> list[dict[str, Any]]:
    if plural != "pods":
        return objects
    return [o for o in objects if (o.get("status") or {}).get("phase") not in TERMINAL_PHASES]


def _pod_amount(pod: Mapping[str, Any], field: str, resource: str) -> tuple[Decimal, list[str]]:
    """The sum over the pod's containers of ``resources.<field>.<resource>``, and the containers that set none."""
    amounts = [(c.get("name", "?"), container_amount(c, field, resource))
               for c in (pod.get("spec") or {}).get("containers") or []]
    return (sum((a for _, a in amounts if a is not None), Decimal(0)),
            [name for name, amount in amounts if amount is None])


def _format(name: str, amount: Decimal) -> str:
    if name.endswith("memory"):
        for suffix, factor in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20),
                               ("Ki", 2**10)):
            if amount >= factor and amount % factor == 0:
                return f"{int(amount / factor)}{suffix}"
        return str(int(amount))
    if name.endswith("cpu") and amount != amount.to_integral_value():
        return f"{int(amount * 1000)}m"
    return str(int(amount))


def admit(plural: str, group: str, namespace: str, obj: Mapping[str, Any],
          quotas: list[dict[str, Any]], list_objects: ListObjects) -> None:
    """Raise the API server's 403 when creating ``obj`` (of ``plural`` in ``group``) would break a quota."""
    counted = _count_names(plural, group)
    name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName") or ""
    what = f'{plural} "{name}" is forbidden'
    for quota in quotas:
        hard = (quota.get("spec") or {}).get("hard") or {}
        quota_name = quota["metadata"]["name"]
        requested: dict[str, Decimal] = {}
        used: dict[str, Decimal] = {}
        missing: list[str] = []
        for limit_name in hard:
            if limit_name in counted:
                requested[limit_name] = Decimal(1)
                used[limit_name] = Decimal(len(_live(list_objects(plural), plural)))
            elif limit_name in POD_COMPUTE and plural == "pods" and not group:
                field, resource = POD_COMPUTE[limit_name]
                amount, unset = _pod_amount(obj, field, resource)
                if unset:
                    missing.append(f"{limit_name} for: {','.join(unset)}")
                    continue
                requested[limit_name] = amount
                used[limit_name] = sum((_pod_amount(pod, field, resource)[0]
                                        for pod in _live(list_objects("pods"), "pods")), Decimal(0))
        if missing:
            raise ApiError(403, "Forbidden", f"{what}: failed quota: {quota_name}: must specify {'; '.join(missing)}")
        exceeded = sorted(n for n in requested if used[n] + requested[n] > parse_quantity(hard[n]))
        if exceeded:
            raise ApiError(403, "Forbidden", f"{what}: exceeded quota: {quota_name}, "
                           f"requested: {_listing(exceeded, {n: _format(n, requested[n]) for n in exceeded})}, "
                           f"used: {_listing(exceeded, {n: _format(n, used[n]) for n in exceeded})}, "
                           f"limited: {_listing(exceeded, hard)}")


def _listing(names: list[str], values: Mapping[str, Any]) -> str:
    return ",".join(f"{n}={values[n]}" for n in names)
