"""How many templates of the real-world development set Templar finds valid, against ORB.

Run it from the repository root (the aws plugin installed)::

    python plugins/templar-aws/tests/measure_realworld.py            # a table per file
    python plugins/templar-aws/tests/measure_realworld.py --codes    # and the issue codes left

For each directory of ``samples/realworld/`` holding an AWS template file, the file is
read two ways:

``orb-dir``
    the directory as ORB was run on it: ORB's ``config.json`` beside the file, named
    ``aws_templates.json`` (``templates.json`` kept), read the way ORB reads a config dir
    (core support for ORB config dirs);
``provider-layer``
    the file alone as Templar's provider layer ``awsprov_templates.json``, with ORB's
    packaged ``template_defaults`` for aws (``orb-py`` 1.8.5,
    ``orb/providers/aws/config/aws_defaults.json``) as Templar's type defaults: what the
    plugin accepts, whatever the core does with ORB's config.

"ORB lists" is the number of templates in ``orb-list.json``, what ``orb templates list``
printed for that directory. ``test_aws_realworld.py`` runs :func:`measure` and keeps the
figures from going back.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from templar import TemplateEngine

REALWORLD = Path(__file__).resolve().parent / "samples" / "realworld"
#: ORB's packaged template_defaults for aws (orb-py 1.8.5, aws_defaults.json).
ORB_TEMPLATE_DEFAULTS = {
    "machine_image": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    "machine_type": "t2.micro",
    "machine_ssh_key": "",
    "provider_api": "EC2Fleet",
    "price_type": "ondemand",
    "tags": {"Environment": "development", "Project": "hostfactory"},
}
_NOT_TEMPLATES = {"config.json", "orb-list.json", "SOURCES.md"}


@dataclass
class FileFigures:
    """The figures of one sample directory."""

    name: str
    templates: int = 0
    valid: int = 0
    orb_lists: int | None = None
    codes: collections.Counter[str] = field(default_factory=collections.Counter)


def sample_dirs(root: Path = REALWORLD) -> Iterator[tuple[Path, Path]]:
    """Each sample directory and its template file."""
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [p for p in directory.iterdir() if p.name not in _NOT_TEMPLATES]
        if len(files) == 1:
            yield directory, files[0]


def orb_listed(directory: Path) -> int | None:
    """How many templates ORB listed for the directory (None: no listing)."""
    listing = directory / "orb-list.json"
    if not listing.is_file():
        return None
    return len(json.loads(listing.read_text())["templates"])


def measure_one(directory: Path, template_file: Path, mode: str, work: Path) -> FileFigures:
    """Load one sample in ``mode`` (``orb-dir`` or ``provider-layer``) and count."""
    config_dir = work / directory.name / mode
    if mode == "orb-dir":
        config_dir.mkdir(parents=True)
        shutil.copyfile(directory / "config.json", config_dir / "config.json")
        name = "templates.json" if template_file.name == "templates.json" else "aws_templates.json"
        shutil.copyfile(template_file, config_dir / name)
    else:
        config_dir.mkdir(parents=True)
        shutil.copyfile(template_file, config_dir / "awsprov_templates.json")
        settings = {"provider_defaults": {"aws": ORB_TEMPLATE_DEFAULTS}}
        (config_dir / "templar.json").write_text(json.dumps(settings))
    engine = TemplateEngine(config_dir, use_cache=False)
    report = engine.validate()
    figures = FileFigures(directory.name, orb_lists=orb_listed(directory))
    for result in report:
        if result.provider_type not in (None, "aws"):
            continue
        figures.templates += 1
        figures.valid += result.is_valid
    for issue in report.issues:
        if issue.severity == "error":
            figures.codes[issue.code] += 1
    return figures


def measure(mode: str, root: Path = REALWORLD) -> list[FileFigures]:
    """The figures of every sample directory in ``mode``."""
    with tempfile.TemporaryDirectory() as work:
        return [
            measure_one(directory, file, mode, Path(work)) for directory, file in sample_dirs(root)
        ]


def main(argv: list[str] | None = None) -> int:
    """Print the table of one or both modes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("orb-dir", "provider-layer", "both"), default="both")
    parser.add_argument("--codes", action="store_true", help="print the error codes left")
    args = parser.parse_args(argv)
    modes = ("orb-dir", "provider-layer") if args.mode == "both" else (args.mode,)
    for mode in modes:
        rows = measure(mode)
        print(f"== {mode}")
        print(f"{'dir':<5} {'templates':>9} {'valid':>6} {'orb lists':>9}  errors")
        codes: collections.Counter[str] = collections.Counter()
        for row in rows:
            codes += row.codes
            orb = "-" if row.orb_lists is None else str(row.orb_lists)
            top = ", ".join(f"{c} {n}" for c, n in row.codes.most_common(3))
            print(f"{row.name:<5} {row.templates:>9} {row.valid:>6} {orb:>9}  {top}")
        total = sum(r.templates for r in rows)
        valid = sum(r.valid for r in rows)
        listed = sum(r.orb_lists or 0 for r in rows)
        print(f"total: {valid} of {total} templates valid; ORB lists {listed}")
        if args.codes:
            for code, count in codes.most_common():
                print(f"  {count:>5}  {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
