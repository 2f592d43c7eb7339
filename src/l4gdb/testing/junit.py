"""JUnit XML for a boot-and-assert run (``--junit FILE``).

One test suite per run with: one case per expectation (classname
``l4gdb.<program>.expect``), one case per ``PASS``/``FAIL``/``SKIP`` line
(classname ``l4gdb.<program>.<group>``), and a closing case ``run`` that
carries the verdict (a failure for exit codes 1, 3 and 4, an error for 2 and
5), so that a run that failed for another reason (the root task's exit status,
a fail-on pattern, QEMU dying) never shows up green.
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from l4gdb.testing.results import RunResult

# characters XML 1.0 cannot carry, even escaped
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _BAD_XML.sub("?", text)


def _program_id(program: str) -> str:
    name = Path(program).name if program else "program"
    name = re.sub(r"\.(c|elf)$", "", name)
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "program"


def to_xml(result: RunResult, suite_name: str | None = None) -> ET.Element:
    prog = _program_id(result.program)
    suite = ET.Element("testsuite", name=suite_name or f"l4gdb.{result.arch}.{prog}",
                       timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
                       hostname=socket.gethostname(), time=f"{result.duration_s:.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in (("arch", result.arch), ("program", result.program),
                       ("exit_code", str(int(result.code))), ("outcome", result.outcome),
                       ("reason", result.reason),
                       ("logs", result.logs or "")):
        ET.SubElement(props, "property", name=key, value=_clean(value))
    for key, value in sorted(result.metrics.items()):
        ET.SubElement(props, "property", name=f"metric.{key}", value=_clean(str(value)))

    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(classname: str, name: str, seconds: float | None = None) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(suite, "testcase", classname=classname, name=_clean(name),
                             time=f"{seconds or 0.0:.3f}")

    def fail(el: ET.Element, kind: str, message: str, text: str = "") -> None:
        counts["failures" if kind == "failure" else "errors"] += 1
        sub = ET.SubElement(el, kind, message=_clean(message), type=result.outcome)
        if text:
            sub.text = _clean(text)

    for e in result.expectations:
        el = case(f"l4gdb.{prog}.expect", f"{e.index:02d} {e.name}", e.seconds)
        if e.status == "not-reached":
            counts["skipped"] += 1
            ET.SubElement(el, "skipped", message=e.message)
        elif e.status != "passed":
            fail(el, "failure", e.message or f"expectation {e.pattern!r} not met",
                 f"pattern: {e.pattern}\n\nconsole (last lines):\n{result.console_tail}")
        elif e.groups:
            out = ET.SubElement(el, "system-out")
            out.text = _clean("\n".join(f"{k}={v}" for k, v in e.groups.items()))

    seen: dict[str, int] = {}
    for c in result.checks:
        name = f"{c.group}/{c.name}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} #{seen[name]}"
        el = case(f"l4gdb.{prog}.{c.group}", name)
        if c.status == "FAIL":
            fail(el, "failure", c.detail or "FAIL", f"FAIL {c.group}/{c.name}: {c.detail}")
        elif c.status == "SKIP":
            counts["skipped"] += 1
            ET.SubElement(el, "skipped", message=_clean(c.detail))

    el = case(f"l4gdb.{prog}", "run", result.duration_s)
    if not result.passed:
        kind = "error" if int(result.code) in (2, 5) else "failure"
        text = result.detail
        if result.logs:
            text += f"\nlogs: {result.logs}"
        text += f"\n\nconsole (last lines):\n{result.console_tail}"
        fail(el, kind, result.message, text.strip("\n"))
    if result.console_tail:
        out = ET.SubElement(el, "system-out")
        out.text = _clean(result.console_tail)

    for key, value in counts.items():
        suite.set(key, str(value))
    return suite


def write_junit(result: RunResult, path: str | Path, suite_name: str | None = None) -> None:
    suites = ET.Element("testsuites")
    suite = to_xml(result, suite_name)
    suites.append(suite)
    for key in ("tests", "failures", "errors", "skipped", "time"):
        suites.set(key, suite.get(key, "0"))
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    tree.write(str(path), encoding="utf-8", xml_declaration=True)
