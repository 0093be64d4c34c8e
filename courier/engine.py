"""The offline engine: the real Pulumi program under Pulumi's own mock monitor, recorded.

``run_program`` executes the project's ``__main__.py`` exactly as ``pulumi preview`` would,
except that resource registrations and invokes are answered by :class:`RecordingMocks`
instead of cloud providers. Pulumi's ``MockMonitor`` is extended to keep what its mocks are
not told (parent, provider, dependencies, protect, ignoreChanges), so the result is the full
resource graph the program declared: the Plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import hashlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource_runtime
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from courier import invokes

ACCOUNT_ID = invokes.ACCOUNT_ID
PROVIDER_PREFIX = "pulumi:providers:"


class ProgramError(Exception):
    """The program could not be run to completion offline (not a config problem)."""


@dataclass
class Registration:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider_ref: str
    providers: dict[str, str]
    protect: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    ignore_changes: list[str]
    retain_on_delete: bool
    delete_before_replace: bool
    inputs: dict[str, Any]
    id: str


@dataclass
class Recording:
    registrations: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[dict[str, str]] = field(default_factory=list)


def plain(value: Any) -> Any:
    """``value`` with Pulumi assets and archives as JSON: ``{"path": ..., "sha256": ...}`` for a
    file (its path relative to the project when inside it), ``{"text": ...}``, ``{"uri": ...}``,
    ``{"assets": {name: ...}}`` for an archive; everything else as it is."""
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        path = Path(value.path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(Path(__file__).resolve().parent.parent)
        return {"path": path.as_posix(), "sha256": digest}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        return {"uri": value.uri}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {name: plain(asset) for name, asset in value.assets.items()}}
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class RecordingMocks(pulumi_mocks.Mocks):
    """Answers registrations with plausible outputs and invokes from the catalogue.

    Mocks do no auto-naming and know no provider: physical names, IDs, ARNs and the few
    computed attributes the components read (``arnSuffix``, ``dnsName``, ``latestVersion``,
    ``domainValidationOptions`` ...) are made up here, deterministically, so a plan is
    reproducible byte for byte.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        #: provider id -> provider inputs (for the region of the resources it manages)
        self.provider_inputs: dict[str, dict[str, Any]] = {}
        self.invoke_errors: list[str] = []

    def take_last(self) -> tuple[dict[str, Any], str]:
        last: tuple[dict[str, Any], str] = self._local.last
        del self._local.last
        return last

    def region_of(self, provider_ref: str, inputs: Mapping[str, Any]) -> str | None:
        if isinstance(inputs.get("region"), str):
            return inputs["region"]
        provider_id = provider_ref.rsplit("::", 1)[-1] if provider_ref else ""
        with self._lock:
            found = self.provider_inputs.get(provider_id, {}).get("region")
        return found if isinstance(found, str) else None

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith(PROVIDER_PREFIX):
            resource_id = f"{args.name}-{_digest(args.typ, args.name, length=8)}"
            with self._lock:
                self.provider_inputs[resource_id] = inputs
            self._local.last = (inputs, resource_id)
            return resource_id, inputs
        region = self.region_of(args.provider or "", inputs) or "global"
        resource_id, state = invokes.outputs_for(args.typ, args.name, inputs, region)
        self._local.last = (plain(inputs), resource_id)
        return resource_id, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        region = self.region_of(args.provider or "", args.args)
        try:
            # A bare dict means "no check failures" to the mock monitor.
            return invokes.answer(args.token, dict(args.args), region)  # type: ignore[return-value]
        except invokes.UnknownInvoke as unknown:
            with self._lock:
                self.invoke_errors.append(str(unknown))
            raise


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Pulumi's mock monitor, keeping each registration's full request."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording_mocks = mocks
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            inputs, resource_id = {}, ""
        else:
            inputs, resource_id = self.recording_mocks.take_last()
        registration = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            provider_ref=request.provider,
            providers=dict(request.providers),
            protect=bool(request.protect),
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={
                key: sorted(set(value.urns)) for key, value in request.propertyDependencies.items() if value.urns
            },
            ignore_changes=list(request.ignoreChanges),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            inputs=inputs,
            id=resource_id,
        )
        with self._lock:
            self.registrations.append(registration)
        return response


@contextlib.contextmanager
def lean_runtime() -> Iterator[None]:
    """Run the SDK without two costs that buy nothing under the mock monitor.

    - The cyclic garbage collector is paused: the SDK allocates hundreds of thousands of
      small objects (futures, Outputs) for a plan, and repeated full collections over them
      took up to half of a plan's time. Collection resumes when the run ends.
    - The per-resource stack walk is skipped: the SDK extracts the whole Python stack for
      every resource and turns each frame into a file URI so the engine can point at the
      declaring line. The mock monitor discards it. An empty trace is the SDK's own answer
      when it finds no user frame; should a future SDK rename the function, plans are only
      slower.
    """
    collecting = gc.isenabled()
    gc.disable()
    saved = getattr(pulumi_resource_runtime, "_get_stack_trace", None)
    if saved is not None:
        pulumi_resource_runtime._get_stack_trace = _empty_stack_trace
    try:
        yield
    finally:
        if saved is not None:
            pulumi_resource_runtime._get_stack_trace = saved
        if collecting:
            gc.enable()


def _empty_stack_trace() -> Any:
    return source_pb2.StackTrace()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    asyncio.set_event_loop(None)


class _DiagnosticsHandler(logging.Handler):
    """Collects what the program logs through pulumi.log (warnings, errors)."""

    def __init__(self, sink: list[dict[str, str]]) -> None:
        super().__init__(level=logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append({"severity": record.levelname.lower(), "message": record.getMessage()})


def run_program(
    project_dir: Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str] | None = None,
) -> Recording:
    """Run ``project_dir/__main__.py`` under the recording mock engine and return what it built."""
    main = project_dir / "__main__.py"
    root = str(project_dir)
    code = compile(main.read_text(encoding="utf-8"), str(main), "exec")

    def program() -> None:
        added = root not in sys.path
        if added:
            sys.path.insert(0, root)
        try:
            # Executed as the Pulumi language host does: as module __main__ of the project.
            exec(code, {"__name__": "__main__", "__file__": str(main)})
        finally:
            if added:
                sys.path.remove(root)

    return record(program, project=project, stack=stack, config=config, secret_keys=secret_keys)


def record(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
) -> Recording:
    """Run ``program`` (anything that declares resources) under the recording mock engine.

    Each run happens in a fresh ``contextvars`` context, so runs in one process (tests, the
    benchmark) never see each other's stack, config or root resource.
    """
    return contextvars.Context().run(_record, program, project, stack, dict(config or {}), list(secret_keys or []))


def _record(
    program: Callable[[], None], project: str, stack: str, config: dict[str, str], secret_keys: list[str]
) -> Recording:
    recording = Recording()
    logger = logging.getLogger(f"courier.engine.{id(recording)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = _DiagnosticsHandler(recording.diagnostics)
    logger.addHandler(handler)

    # A loop of its own: a failed run can leave tasks behind (an invoke that raised, the
    # outputs waiting on it), and the SDK awaits every task of the loop at the end of a run.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, logger=logger, monitor=monitor)
    # Outputs are tracked in a process-wide set; start clean, as pulumi.runtime.test does.
    tracked_outputs: set[Any] = getattr(SETTINGS, "outputs")  # noqa: B009 - untyped SDK attribute
    tracked_outputs.clear()
    try:
        with lean_runtime():
            _sync_await(run_pulumi_func(program))
        stack_resource = pulumi.runtime.get_root_resource()
        outputs = getattr(stack_resource, "outputs", {}) or {}
        if outputs:
            recording.outputs = _sync_await(pulumi.Output.from_input(outputs).future()) or {}
    except Exception:
        if mocks.invoke_errors:
            raise ProgramError(mocks.invoke_errors[0]) from None
        raise
    finally:
        logger.removeHandler(handler)
        tracked_outputs.clear()
        _close(loop)
    if mocks.invoke_errors:
        raise ProgramError(mocks.invoke_errors[0])
    recording.registrations = list(monitor.registrations)
    return recording
