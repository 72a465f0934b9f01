"""`pipeclean`: every resource of the target's specification, created, read, updated, deleted.

As in Ed-Fi's performance kit: in dependency order (the target's `GET /metadata/dependencies`
when it lists every resource, else the order the specification's references give), POST one
document of each resource (its references are the documents posted before it), GET it by id
and PUT it with one field changed; then DELETE them all, children first. Each request is
named after its resource (`POST /ed-fi/schools`). A resource failed when one of its four
requests did; the workload counts it in `pipeclean_failed_resources` (the profile's threshold
then exits 99) and lists each failed resource with its status and the first line of the answer
when the run ends. Resources whose references cannot be met are named before anything is sent,
with the missing chain.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import orjson
from pydantic import BaseModel, Field

from dmsload.dms.calls import DMS_METRICS, Operation, created_id
from dmsload.dms.documents import DocumentFactory, Fill, MissingReference
from dmsload.dms.errors import DmsError
from dmsload.dms.workloads.any_resource import build, endpoint_of, fresh_parents, missing_chain
from dmsload.dms.workloads.common import CREATED, NO_CONTENT, OK, DmsOptions, DmsWorkload
from dmsload.http import HttpClient, HttpResponse
from dmsload.metrics import MetricKind, ValueType
from dmsload.workloads.base import Workload, WorkloadContext, WorkloadSpec

if TYPE_CHECKING:
    from dmsload.dms.data import DataGenerator, Document
    from dmsload.engine.vu import VU
    from dmsload.openapi.model import ApiModel, Resource

PIPECLEAN_FAILED = "pipeclean_failed_resources"
PIPECLEAN_PASSED = "pipeclean_passed_resources"
UPSERTED = frozenset({200, 201})
_SEED_CONCURRENCY = 8


class PipecleanOptions(DmsOptions):
    """Options of `pipeclean`."""

    resources: list[str] = Field(default_factory=list)
    """Only these resources (endpoint names, e.g. `schools`), with what they reference; all by
    default."""
    skip: list[str] = Field(default_factory=list)
    """Resources left out (endpoint names); those that reference them are left out too."""
    fill: Fill = "required"
    """`required`: required fields only; `all`: every field."""


@dataclass
class _Outcome:
    resource: Resource
    failure: str | None = None


def _first_line(response: HttpResponse) -> str:
    """The first line of the answer; of a problem-details answer, its detail and errors."""
    text = response.content.decode("utf-8", "replace").strip()
    line = text.splitlines()[0] if text else (response.error or "")
    try:
        problem = orjson.loads(text) if text.startswith("{") else None
    except orjson.JSONDecodeError:
        problem = None
    if isinstance(problem, dict) and isinstance(problem.get("detail"), str):
        parts = [problem["detail"]]
        errors = problem.get("validationErrors")
        if isinstance(errors, dict):
            parts += [f"{path}: {' '.join(map(str, m))}" for path, m in errors.items()]
        if isinstance(problem.get("errors"), list):
            parts += [str(e) for e in problem["errors"]]
        line = " ".join(parts)
    return line[:300] + ("…" if len(line) > 300 else "")


class PipecleanWorkload(DmsWorkload):
    """One pass over every resource per iteration (run it once: `per-vu-iterations`, 1 VU)."""

    def __init__(self, options: PipecleanOptions, ctx: WorkloadContext) -> None:
        super().__init__(options, ctx)
        self.options = options
        self._plan: list[Resource] = []
        self._factory: DocumentFactory | None = None
        self._failures: dict[str, str] = {}
        self._passed = 0

    # ---- setup ---------------------------------------------------------------------------
    def _select(self, model: ApiModel) -> list[Resource]:
        """The resources to pass over, in dependency order: `resources` with their parents,
        without `skip` and what references it."""
        found: dict[str, Resource] = {}
        for name in [*self.options.resources, *self.options.skip]:
            resource = model.find(name)
            if resource is None:
                raise DmsError(f"pipeclean: {model.source} has no resource {name!r}")
            found[name] = resource
        wanted = [found[name] for name in self.options.resources]
        skipped_names = {found[name].name for name in self.options.skip}
        order = model.load_order()
        if wanted:
            keep: set[str] = set()

            def need(resource: Resource) -> None:
                if resource.name not in keep:
                    keep.add(resource.name)
                    for dep in model.dependencies(resource):
                        need(model.resources[dep])

            for resource in wanted:
                need(resource)
            order = [r for r in order if r.name in keep]
        plan: list[Resource] = []
        for resource in order:
            if resource.name in skipped_names or any(
                dep in skipped_names for dep in model.dependencies(resource)
            ):
                skipped_names.add(resource.name)
                continue
            plan.append(resource)
        return plan

    async def seed(self, vu: VU) -> None:
        """Read the specification, name what cannot be built, seed the descriptors."""
        model = await self._connector.model()
        plan = self._select(model)
        served = await self._connector.dependency_order()
        if served and all(r.path.lower() in served for r in plan):
            # the target's own load order; ties keep the order the specification gives
            position = {r.name: i for i, r in enumerate(plan)}
            plan.sort(key=lambda r: (served[r.path.lower()], position[r.name]))
        unmet = {r.name: missing_chain(model, r) for r in plan}
        broken = {name: chain for name, chain in unmet.items() if chain is not None}
        if broken:
            lines = "; ".join(f"{name}: {' → '.join(chain)}" for name, chain in broken.items())
            raise DmsError(
                f"pipeclean: {len(broken)} resource(s) cannot be built, before anything is sent: "
                f"{lines} (leave them out with options.skip)"
            )
        factory = DocumentFactory(
            model, fill=self.options.fill, namespace=self._connector.descriptor_namespace
        )
        types: set[str] = set()
        for resource in plan:
            types |= factory.descriptor_types(resource)
        documents = [factory.descriptor_document(t) for t in sorted(types)]
        failures: list[str] = []

        async def lane(http: HttpClient, work: list[tuple[str, Document]]) -> None:
            for path, body in work:  # one request at a time on each connection
                response = await self.calls.send(
                    vu, "POST", path, Operation.UPSERT, expect=UPSERTED, body=body, http=http
                )
                if not response.expected:
                    failures.append(f"POST /{path} {response.status}: {_first_line(response)}")

        pool = vu.http_pool(_SEED_CONCURRENCY)
        async with anyio.create_task_group() as group:
            for index, http in enumerate(pool):
                group.start_soon(lane, http, documents[index :: len(pool)])
        if failures:
            raise DmsError(
                f"pipeclean: {len(failures)} of {len(documents)} descriptors could not be "
                f"seeded; the first: {failures[0]}"
            )
        self._plan, self._factory = plan, factory

    # ---- the pass ------------------------------------------------------------------------
    async def run(self, vu: VU) -> None:
        """POST, GET and PUT each resource in order, then DELETE them in reverse."""
        factory = self._factory
        assert factory is not None
        data = self.data(vu)
        pool: dict[str, tuple[Resource, Document]] = {}
        outcomes: list[_Outcome] = []
        created: list[tuple[Resource, str, _Outcome]] = []  # deleted in reverse
        for resource in self._plan:
            outcome = _Outcome(resource)
            outcomes.append(outcome)
            local: dict[str, tuple[Resource, Document]] = {}
            if resource.superclass:  # subclasses share their superclass's identities
                for parent in fresh_parents(factory.model, resource):
                    made = await self._post(vu, factory, parent, data, pool, outcome)
                    if made is None:
                        break
                    local[parent.name] = (parent, made[1])
                    created.append((parent, made[0], outcome))
                if outcome.failure is not None:
                    continue
            made = await self._post(vu, factory, resource, data, pool, outcome, local)
            if made is None:
                continue
            doc_id, document = made
            created.append((resource, doc_id, outcome))
            pool[resource.name] = (resource, document)
            endpoint = endpoint_of(resource)
            response = await self.calls.send(
                vu, "GET", endpoint, Operation.READ, expect=OK, doc_id=doc_id
            )
            if not response.expected:
                outcome.failure = self._failed("GET", response)
                continue
            changed = factory.changed(resource, document)
            response = await self.calls.send(
                vu,
                "PUT",
                endpoint,
                Operation.UPDATE,
                expect=NO_CONTENT,
                doc_id=doc_id,
                body={"id": doc_id, **changed},
            )
            if not response.expected:
                outcome.failure = self._failed("PUT", response)
        for resource, doc_id, outcome in reversed(created):
            response = await self.calls.send(
                vu,
                "DELETE",
                endpoint_of(resource),
                Operation.DELETE,
                expect=NO_CONTENT,
                doc_id=doc_id,
            )
            if not response.expected and outcome.failure is None:
                outcome.failure = self._failed("DELETE", response)
        for outcome in outcomes:
            tags = {"resource": endpoint_of(outcome.resource)}
            if outcome.failure is None:
                vu.add(PIPECLEAN_PASSED, 1.0, tags)
                vu.add(PIPECLEAN_FAILED, 0.0, tags)
                self._passed += 1
            else:
                vu.add(PIPECLEAN_FAILED, 1.0, tags)
                self._failures[outcome.resource.path] = outcome.failure

    async def _post(
        self,
        vu: VU,
        factory: DocumentFactory,
        resource: Resource,
        data: DataGenerator,
        pool: dict[str, tuple[Resource, Document]],
        outcome: _Outcome,
        local: dict[str, tuple[Resource, Document]] | None = None,
    ) -> tuple[str, Document] | None:
        """POST a new document of `resource`: its id and body, or None (`outcome` says why)."""
        try:
            document = build(factory, resource, data, pool, local)
        except MissingReference as exc:
            outcome.failure = f"not sent: its {exc.args[0]} reference was not created"
            return None
        document = self._connector.overrides.apply(endpoint_of(resource), document)
        response = await self.calls.send(
            vu, "POST", endpoint_of(resource), Operation.CREATE, expect=CREATED, body=document
        )
        doc_id = created_id(response) if response.expected else None
        if doc_id is None:
            outcome.failure = self._failed("POST", response)
            return None
        return doc_id, document

    @staticmethod
    def _failed(method: str, response: HttpResponse) -> str:
        status = response.status or "no answer"
        return f"{method} {status}: {_first_line(response)}"

    async def close(self) -> None:
        """List the resources that failed (stderr), one line each."""
        if not self._failures:
            return
        total = self._passed + len(self._failures)
        lines = [f"pipeclean: {len(self._failures)} of {total} resources failed:"]
        lines += [f"  {path}: {reason}" for path, reason in self._failures.items()]
        print("\n".join(lines), file=sys.stderr)


def _factory(options: BaseModel, ctx: WorkloadContext) -> Workload:
    assert isinstance(options, PipecleanOptions)
    return PipecleanWorkload(options, ctx)


PIPECLEAN_WORKLOAD = WorkloadSpec(
    name="pipeclean",
    summary="every resource in dependency order: POST, GET, PUT, then DELETE (from OpenAPI)",
    options_model=PipecleanOptions,
    factory=_factory,
    metrics={
        **DMS_METRICS,
        PIPECLEAN_FAILED: (MetricKind.COUNTER, ValueType.DEFAULT),
        PIPECLEAN_PASSED: (MetricKind.COUNTER, ValueType.DEFAULT),
    },
    uses_dms=True,
)
