"""The one-template read (:mod:`templar.lookup`): what ``templates show ID [--explain]``,
``get_template`` and ``explain`` read when nothing is loaded is what the full load gives
for that template: values, provenance with its lines and columns, issues with theirs,
and the exit code of ``show``.

Differential: every template of the sample dirs, the ORB and real-world sample dirs of
the plugins (and ``../shared``'s when it is there) and of generated config dirs with
every kind of layer, file shape and trap, answered both ways.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from templar import AmbiguousTemplateError, TemplateEngine, TemplateNotFoundError
from templar.cli import cli
from templar.errors import TemplarError
from templar.lookup import ONE_TEMPLATE_READS
from templar.state import EngineState
from templar.testing import write_layer
from tests.providers_for_tests import SizedPlugin

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "anchor-samples"


def _sample_dirs() -> list[Path]:
    dirs = [
        ROOT / "sample_configs",
        ROOT / "sample_configs" / "orb",
        ROOT / "sample_configs" / "broken",
    ]
    for samples in sorted((ROOT / "plugins").glob("*/tests/samples")):
        dirs += [
            samples / "orb",
            *sorted(p for p in (samples / "realworld").iterdir() if p.is_dir()),
        ]
    if SHARED.is_dir():  # beside the repo in the team's checkout, absent in a clean clone
        dirs += sorted(p for p in (SHARED / "orb").iterdir() if p.is_dir())
        dirs += sorted(p for p in (SHARED / "realworld").iterdir() if p.is_dir())
    return [d for d in dirs if d.is_dir()]


def _issues(state: EngineState, template_id: str, instance: str) -> list[dict[str, Any]]:
    return [
        issue.model_dump(mode="json")
        for tid, owner, issues, _features in state.verdicts
        if tid == template_id and owner.name == instance
        for issue in issues
    ]


def _features(state: EngineState, template_id: str, instance: str) -> list[list[str]]:
    return [
        f for tid, owner, _, f in state.verdicts if tid == template_id and owner.name == instance
    ]


def _fresh(engine: TemplateEngine) -> TemplateEngine:
    """``engine`` as a new one: nothing loaded, no one-template read counted."""
    engine.session.forget()
    engine.session.one_template_reads = 0
    return engine


def assert_same_answers(config_dir: Path, **engine_kwargs: Any) -> int:
    """Every template of ``config_dir``, and an id it does not hold, asked of a full
    load and of the one-template read; returns how many the one-template read answered
    itself (the rest fell back to the full load)."""
    full = TemplateEngine(config_dir, use_cache=False, **engine_kwargs)
    state = full.state
    one = TemplateEngine(config_dir, use_cache=False, **engine_kwargs)
    answered = 0
    holders: dict[str, list[str]] = {}
    for instance, template_id in state.versions:
        holders.setdefault(template_id, []).append(instance)
    for template_id, instances in holders.items():
        for provider in [None, *instances]:
            where = f"{config_dir.name}: {template_id} ({provider})"
            partial = _fresh(one).session.one_template(template_id, provider, versions=True)
            if partial is not None:
                answered += 1
                name = provider or instances[0]
                assert _issues(partial, template_id, name) == _issues(state, template_id, name), (
                    where
                )
                assert _features(partial, template_id, name) == _features(state, template_id, name)
            try:
                expected = full.explain(template_id, provider).model_dump(mode="json")
            except AmbiguousTemplateError as e:
                with pytest.raises(AmbiguousTemplateError) as raised:
                    _fresh(one).explain(template_id, provider)
                assert str(raised.value) == str(e)
                continue
            assert _fresh(one).explain(template_id, provider).model_dump(mode="json") == expected, (
                where
            )
            want = full.get_template(template_id, provider)
            got = _fresh(one).get_template(template_id, provider)
            assert (got and got.model_dump(mode="json")) == (want and want.model_dump(mode="json"))
    for missing in ("no-such-template", *(f"{tid}x" for tid in list(holders)[:1])):
        with pytest.raises(TemplateNotFoundError) as expected_error:
            full.explain(missing)
        with pytest.raises(TemplateNotFoundError) as raised:
            _fresh(one).explain(missing)
        assert str(raised.value) == str(expected_error.value)
        assert _fresh(one).get_template(missing) is None
    return answered


@pytest.fixture
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPLAR_PLUGINS", "aws,k8s")


@pytest.mark.parametrize(
    "config_dir", _sample_dirs(), ids=lambda p: str(p.relative_to(p.parents[1]))
)
def test_sample_dirs_answer_the_same_one_template_at_a_time(
    config_dir: Path, installed_plugins: None
) -> None:
    assert_same_answers(config_dir)


def test_the_sample_configs_are_answered_without_a_full_load(installed_plugins: None) -> None:
    # Not a vacuous differential: most templates there go the one-template way.
    assert assert_same_answers(ROOT / "sample_configs") >= 15
    engine = TemplateEngine(ROOT / "sample_configs", use_cache=False)
    assert engine.explain("hf-ondemand", "aws-dev").provider_instance == "aws-dev"
    assert engine.get_template("hf-ondemand", "aws-dev") is not None
    assert engine.session.current is None  # nothing was loaded whole


# -- generated config dirs: every kind of layer, shape and trap ------------------------

IDS = ["web", "db", "tpl-1", "7", "name"]


def _body(rng: random.Random, template_id: str, *, camel: bool, kind: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if rng.random() < 0.2:
        body["_merge"] = rng.choice(["replace", "deep"])
    body["templateId" if camel else "template_id"] = (
        int(template_id) if template_id.isdigit() and rng.random() < 0.5 else template_id
    )
    if rng.random() < 0.6:
        body["name"] = rng.choice(["Web", "Database", None, ""])
    if rng.random() < 0.3 and kind == "shared":
        body["provider_type"] = rng.choice(["generic", "sized", "sized", "nosuch"])
    if rng.random() < 0.15:
        body["provider_name"] = rng.choice(["g1", "s1", "sized", "other"])
    if rng.random() < 0.2:
        body["is_active"] = rng.random() < 0.5
    configuration = {}
    if rng.random() < 0.7:
        configuration["size"] = rng.choice([1, 5, 20, "big", None])
    if rng.random() < 0.4:
        configuration["max_number"] = rng.choice([1, 8, 50])
    if rng.random() < 0.3:
        configuration["labels"] = {"team": rng.choice(["a", "b"]), "tier": None}
    if rng.random() < 0.2:
        configuration["colr"] = "green"  # an unknown key: an issue with a position
    if configuration:
        if rng.random() < 0.4:
            body.update(
                {
                    ("maxNumber" if k == "max_number" and camel else k): v
                    for k, v in configuration.items()
                }
            )
        else:
            body["configuration"] = configuration
    if rng.random() < 0.15:
        body["descripton"] = "typo of a core field"
    return body


def _document(rng: random.Random, bodies: list[tuple[str, dict[str, Any]]]) -> Any:
    shape = rng.choice(["list", "envelope", "envelope-map", "map", "one"])
    if shape == "one" and len(bodies) == 1:
        return bodies[0][1]
    if shape in ("envelope-map", "map"):
        mapping = {
            tid: {k: v for k, v in b.items() if k not in ("template_id", "templateId")}
            for tid, b in bodies
        }
        if rng.random() < 0.2:
            mapping["_shared"] = {"note": "a directive key, skipped"}
        return {"templates": mapping} if shape == "envelope-map" else mapping
    items = [b for _, b in bodies]
    return {"scheduler_type": "hostfactory", "templates": items} if shape == "envelope" else items


def _write(rng: random.Random, config_dir: Path, name: str, data: Any) -> None:
    path = write_layer(config_dir, name, data)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yaml" and rng.random() < 0.3:
        text = "# generated layer\n" + text.replace("\n- ", "\n# next template\n- ")
    if rng.random() < 0.1:
        text = text.replace("\n", "\r\n")
    raw = text.encode()
    if rng.random() < 0.1:
        raw = b"\xef\xbb\xbf" + raw
    if rng.random() < 0.05 and path.suffix == ".yaml":
        raw = raw.replace(b"\n  ", b"\n\t", 1)  # a tab: the scan refuses, the file is read whole
    path.write_bytes(raw)


def generate_config(seed: int, config_dir: Path) -> None:
    """A config dir with shared, provider, type and instance layers in YAML and JSON,
    declared instances with defaults or none, and the traps: an id twice in a file,
    in the .yaml and .json of one layer, a mismatched provider_type, unknown keys,
    nulls, ``_merge: replace``, CRLF, a byte-order mark, tabs, ids as numbers."""
    rng = random.Random(seed)
    declared = rng.random() < 0.5
    if declared:
        config = {
            "providers": [
                {"name": "g1", "type": "generic", "defaults": {"configuration": {"zone": "a"}}},
                {"name": "s1", "type": "sized"},
                {"name": "s2", "type": "sized", "defaults": {"max_number": 2}},
            ],
            "provider_defaults": {"sized": {"configuration": {"size": 3}}},
        }
        if rng.random() < 0.3:
            config["merge"] = "replace"
        write_layer(config_dir, "templar.yaml", config)
    instances = ["g1", "s1", "s2"] if declared else ["generic", "sized"]
    names = ["templates"]
    names += [f"{t}{k}_templates" for t in ("generic", "sized") for k in ("prov", "type")]
    names += [f"{i}inst_templates" for i in instances]
    for name in names:
        if rng.random() < 0.35:
            continue
        for ext in rng.sample(["yaml", "json"], rng.choice([1, 1, 1, 2])):
            chosen = rng.sample(IDS, rng.randint(1, 4))
            camel = rng.random() < 0.3
            kind = "shared" if name == "templates" else "other"
            bodies = [(tid, _body(rng, tid, camel=camel, kind=kind)) for tid in chosen]
            if name.endswith(("prov_templates", "type_templates")) and rng.random() < 0.1:
                bodies[0][1]["provider_type"] = "generic" if "sized" in name else "sized"
            document = _document(rng, bodies)
            if isinstance(document, list) and rng.random() < 0.15:
                document.append(dict(document[0]))  # one id twice in a file: the first kept
            _write(rng, config_dir, f"{name}.{ext}", document)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_generated_configs_answer_the_same_one_template_at_a_time(
    seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config_dir = tmp_path_factory.mktemp("generated")
    generate_config(seed, config_dir)
    assert_same_answers(config_dir, plugins=[SizedPlugin()])


def test_generated_configs_mostly_go_the_one_template_way(tmp_path: Path) -> None:
    answered = 0
    for seed in range(12):
        config_dir = tmp_path / str(seed)
        config_dir.mkdir()
        generate_config(seed, config_dir)
        answered += assert_same_answers(config_dir, plugins=[SizedPlugin()])
    assert answered >= 40


# -- the CLI ---------------------------------------------------------------------------


def test_show_prints_and_exits_as_the_full_load_would(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write_layer(
        config_dir,
        "templates.yaml",
        "templates:\n"
        "  - template_id: good\n"
        "    configuration: {size: 1}\n"
        "  - template_id: bad\n"
        "    is_active: perhaps\n",
    )
    write_layer(
        config_dir,
        "genericinst_templates.json",
        {"templates": [{"template_id": "bad", "name": "B"}]},
    )
    full = TemplateEngine(config_dir, use_cache=False)
    runner = CliRunner()
    base = ["--config-dir", str(config_dir), "--no-cache", "show"]

    shown = runner.invoke(cli, [*base, "good", "--explain", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == full.explain("good").model_dump(mode="json")

    invalid = runner.invoke(cli, [*base, "bad", "--explain", "--format", "json"])
    assert invalid.exit_code == 0, invalid.output  # explaining an invalid template works
    assert json.loads(invalid.output) == full.explain("bad").model_dump(mode="json")

    refused = runner.invoke(cli, [*base, "bad"])
    assert refused.exit_code == 1
    assert "no template 'bad'" in refused.output and "validation errors" in refused.output

    plain = runner.invoke(cli, [*base, "good", "--format", "json"])
    assert plain.exit_code == 0
    assert json.loads(plain.output) == full.get_template("good").model_dump(mode="json")  # type: ignore[union-attr]


# -- where it falls back ---------------------------------------------------------------


def test_an_id_of_two_instances_is_ambiguous_as_in_the_full_load(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write_layer(config_dir, "genericprov_templates.yaml", {"templates": [{"template_id": "web"}]})
    write_layer(
        config_dir, "sizedprov_templates.yaml", {"templates": [{"template_id": "web", "size": 2}]}
    )
    engine = TemplateEngine(config_dir, use_cache=False, plugins=[SizedPlugin()])
    assert engine.session.one_template("web") is None  # only the full load names them all
    with pytest.raises(AmbiguousTemplateError, match="generic, sized"):
        engine.explain("web")
    engine.session.forget()
    assert engine.explain("web", "sized").provider_type == "sized"


def test_a_provider_that_does_not_hold_the_id_is_the_full_loads_error(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    write_layer(config_dir, "genericprov_templates.yaml", {"templates": [{"template_id": "web"}]})
    engine = TemplateEngine(config_dir, use_cache=False)
    with pytest.raises(TemplarError, match="unknown provider instance 'nope'"):
        engine.explain("web", "nope")


def test_an_engine_asked_about_many_templates_loads_them_all(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    ids = [f"t{n}" for n in range(ONE_TEMPLATE_READS + 2)]
    write_layer(config_dir, "templates.yaml", {"templates": [{"template_id": t} for t in ids]})
    engine = TemplateEngine(config_dir, use_cache=False)
    for template_id in ids[:ONE_TEMPLATE_READS]:
        assert engine.explain(template_id).template_id == template_id
    assert engine.session.current is None
    assert engine.explain(ids[-1]).template_id == ids[-1]
    assert engine.session.current is not None  # loaded whole: the next answers are free


def test_provenance_is_read_from_the_entries_or_the_current_load(
    tmp_path: Path,
) -> None:
    # EngineSession.explained_load: one template's entries with nothing loaded, or with
    # a load from the cache (which keeps no provenance); the current load once there is one
    config_dir, cache_dir = tmp_path / "config", tmp_path / "cache"
    config_dir.mkdir()
    write_layer(config_dir, "templates.yaml", "- template_id: a\n  name: A\n- template_id: b\n")
    write_layer(config_dir, "templar.yaml", f"cache:\n  dir: {cache_dir}\n")
    fresh = TemplateEngine(config_dir)
    alone = fresh.session.explained_load("a", None)
    held = [tid for templates in alone.templates.values() for tid in templates]
    assert fresh.session.current is None and held == ["a"]
    fresh.list_templates()  # a full load, now cached
    assert fresh.session.explained_load("a", None) is fresh.state
    warm = TemplateEngine(config_dir)
    assert warm.state.from_cache
    explained = warm.session.explained_load("a", None)
    assert not explained.from_cache and warm.state.from_cache  # the cached load stays
    assert warm.explain("a")["name"].value == "A"
