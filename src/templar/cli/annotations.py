"""Validation issues for CI: GitHub Actions annotations and SARIF 2.1.0 logs.

``github``: one workflow command per issue, ``::error file=F,line=L,col=C,title=CODE::text``,
which GitHub shows on the pull request's diff. ``sarif``: a SARIF 2.1.0 log (the OASIS
standard code-scanning tools read, e.g. ``github/codeql-action/upload-sarif``), one
rule per issue code, one result per issue.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.cli.render import display_path

if TYPE_CHECKING:
    from templar.models import ValidationIssueDTO

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/templar-engine/"


def _issue_text(issue: ValidationIssueDTO) -> str:
    subject = f"[{issue.template_id}] " if issue.template_id else ""
    field = f"{issue.field}: " if issue.field else ""
    return f"{subject}{field}{issue.message}"


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping: a newline would end the command.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(issue: ValidationIssueDTO) -> str:
    """One issue as a GitHub Actions workflow command (``::error ...::`` / ``::warning``)."""
    properties = []
    if issue.file:
        properties.append(f"file={_escape_property(display_path(issue.file))}")
        properties.append(f"line={issue.line or 1}")
        properties.append(f"col={issue.column or 1}")
    properties.append(f"title={_escape_property(issue.code)}")
    return f"::{issue.severity.value} {','.join(properties)}::{_escape_data(_issue_text(issue))}"


def _artifact_uri(file: str) -> str:
    """Relative to the current directory (the repository root in CI), else a file URI."""
    relative = display_path(file)
    if os.path.isabs(relative) or relative.startswith(".."):
        return Path(file).resolve().as_uri()
    return Path(relative).as_posix()


def sarif_log(issues: Iterable[ValidationIssueDTO], tool_version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run of Templar holding ``issues`` as results."""
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for issue in issues:
        if issue.code not in rule_index:
            rule_index[issue.code] = len(rules)
            rules.append({"id": issue.code})
        result: dict[str, Any] = {
            "ruleId": issue.code,
            "ruleIndex": rule_index[issue.code],
            "level": "error" if issue.severity.value == "error" else "warning",
            "message": {"text": _issue_text(issue)},
        }
        if issue.file:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _artifact_uri(issue.file)},
                        "region": {
                            "startLine": issue.line or 1,
                            "startColumn": issue.column or 1,
                        },
                    }
                }
            ]
        properties = {
            key: value
            for key, value in (
                ("templateId", issue.template_id),
                ("providerInstance", issue.provider_instance),
                ("field", issue.field),
            )
            if value
        }
        if properties:
            result["properties"] = properties
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "templar",
                        "version": tool_version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
