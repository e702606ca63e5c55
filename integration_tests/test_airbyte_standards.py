"""airbyte-cdk's standard tests (the suite that replaces the connector acceptance tests) against the
`source-okta` binary, without Docker.

The suite runs a connector in-process through the CDK's `AirbyteEntrypoint`. `BinarySource` is a CDK
`Source` whose spec, check, discover and read run the binary (`SOURCE_OKTA_BIN`) on the files the suite
wrote and hand back exactly the messages it printed, so every assertion is about the binary's output.
Scenarios come from `acceptance-test-config.yml` beside this file; `sample_config.json` points at
`okta-sim --port 8765`, which `scripts/acceptance.sh` starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    Type,
)
from airbyte_cdk.sources.source import Source
from airbyte_cdk.test import standard_tests
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

BIN = os.environ.get("SOURCE_OKTA_BIN", str(Path(__file__).parent.parent / "target/debug/source-okta"))


def run_binary(*args: str) -> list[AirbyteMessage]:
    """Runs the binary; every stdout line must be an Airbyte message (a bad line fails the test)."""
    done = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=600, check=False)
    return [AirbyteMessageSerializer.load(json.loads(line)) for line in done.stdout.splitlines() if line.strip()]


def raise_trace_error(messages: list[AirbyteMessage], verb: str) -> None:
    for m in messages:
        if m.type == Type.TRACE and m.trace.error is not None:
            raise AirbyteTracedException(
                message=m.trace.error.message,
                internal_message=m.trace.error.internal_message,
                failure_type=m.trace.error.failure_type,
            )
    raise AirbyteTracedException(message=f"`{verb}` printed no answer")


class BinarySource(Source):
    """The `source-okta` binary as a CDK source: each verb runs the binary on the suite's files."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="source-okta-standard-tests-")
        self._catalog_path: str | None = None
        self._state_path: str | None = None

    def _config_file(self, config: Mapping[str, Any]) -> str:
        path = os.path.join(self._dir, "config.json")
        with open(path, "w") as f:
            json.dump(dict(config), f)
        return path

    def spec(self, logger: Any) -> ConnectorSpecification:
        messages = run_binary("spec")
        for m in messages:
            if m.type == Type.SPEC:
                return m.spec
        raise_trace_error(messages, "spec")

    def check(self, logger: Any, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        messages = run_binary("check", "--config", self._config_file(config))
        for m in messages:
            if m.type == Type.CONNECTION_STATUS:
                return m.connectionStatus
        raise_trace_error(messages, "check")

    def discover(self, logger: Any, config: Mapping[str, Any]) -> AirbyteCatalog:
        messages = run_binary("discover", "--config", self._config_file(config))
        for m in messages:
            if m.type == Type.CATALOG:
                return m.catalog
        raise_trace_error(messages, "discover")

    # The binary reads the catalog and state files itself: keep their paths (the suite's bad-catalog test
    # writes a catalog the CDK's own models would reject before the binary could).
    def read_catalog(self, catalog_path: str) -> ConfiguredAirbyteCatalog:
        self._catalog_path = catalog_path
        try:
            return super().read_catalog(catalog_path)
        except Exception:  # noqa: BLE001 - the binary is the one to judge the catalog
            return ConfiguredAirbyteCatalog(streams=[])

    def read_state(self, state_path: str) -> Any:
        self._state_path = state_path
        return super().read_state(state_path)

    def read(
        self,
        logger: Any,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: Any = None,
    ) -> Iterable[AirbyteMessage]:
        args = ["read", "--config", self._config_file(config), "--catalog", str(self._catalog_path)]
        if self._state_path:
            args += ["--state", self._state_path]
        yield from run_binary(*args)


class TestSourceOkta(standard_tests.SourceTestSuiteBase):
    """Every standard source test, on the scenarios of acceptance-test-config.yml."""

    connector = BinarySource
