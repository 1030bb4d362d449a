"""Load policy packs from YAML, resolve ``extends``, and build the effective policy.

Entry convention: ``load_policy(path)`` takes a pack file or a folder. For a folder,
the entry is ``policy.yaml`` in it when that file exists (the sample workspace's
``guardrails/policy.yaml`` extends the brand pack ``ridgeline.yaml``, which extends
the base packs in ``guardrails/base/``); otherwise every ``*.yaml`` file under the
folder is loaded, in sorted path order.

Composition: ``extends`` lists pack files relative to the pack that names them;
parents load first, each file once. A rule whose id an earlier pack already defined
replaces it (``policy show`` names what it overrides); ``disable`` drops inherited
rules by id. Brand registries merge by id (products by name); ``personalization``
and ``grounding`` settings a pack spells out replace inherited ones, except the
grounding word lists, which accumulate.

Errors name the file, the line and the rule: a malformed pack raises
:class:`PackError`, which is both a :class:`PolicyError` and an :class:`InputError`.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from copydesk.errors import InputError, PolicyError
from copydesk.guardrails.engine import Policy, PolicyParts, RuleEntry
from copydesk.guardrails.pack import Brand, Grounding, Pack
from copydesk.guardrails.rules import RULE_TYPES, compile_rule
from copydesk.yamlio import line_of, parse_yaml

ENTRY = "policy.yaml"


class PackError(InputError, PolicyError):
    """A policy pack is malformed; names file, line, field and rule."""


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _rule_id(data: Any, index: int) -> str | None:
    try:
        rid = data["rules"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return str(rid) if rid is not None else None


def _pack_error(reason: str, text: str, source: str, loc: tuple[int | str, ...], data: Any) -> PackError:
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else ("." if field else "") + str(part)
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rid = _rule_id(data, loc[1])
        if rid:
            reason = f"rule '{rid}': {reason}"
    return PackError(reason, source=source, line=line_of(text, loc), field=field or None)


def read_pack(path: Path) -> tuple[Pack, str]:
    """Parse and validate one pack file."""
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PackError("pack file not found", source=source) from None
    except UnicodeDecodeError:
        raise PackError("not UTF-8 text", source=source) from None
    except OSError as exc:
        raise PackError(f"cannot read: {exc.strerror or exc}", source=source) from None
    data = parse_yaml(text, source)
    if not isinstance(data, dict):
        raise PackError("expected a mapping with 'pack' and 'rules'", source=source, line=1)
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        # drop the discriminator tag pydantic inserts: rules.3.existence.terms
        if len(loc) >= 3 and loc[0] == "rules" and loc[2] in RULE_TYPES:
            loc = loc[:2] + loc[3:]
        reason = "unknown field (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
        more = len(exc.errors()) - 1
        if more:
            reason += f" (and {more} more error{'s' if more > 1 else ''})"
        raise _pack_error(reason, text, source, loc, data) from None
    seen: set[str] = set()
    for i, rule in enumerate(pack.rules):
        if rule.id in seen:
            raise _pack_error("duplicate rule id in this pack", text, source, ("rules", i, "id"), data)
        seen.add(rule.id)
        try:
            compile_rule(rule, source, i)
        except PolicyError as exc:
            raise _pack_error(str(exc).split(": ", 2)[-1], text, source, ("rules", i), data) from None
    return pack, text


def _collect(path: Path, stack: tuple[Path, ...], done: dict[Path, tuple[Pack, str]], order: list[Path]) -> None:
    path = path.resolve()
    if path in stack:
        chain = " -> ".join(_display(p) for p in (*stack, path))
        raise PackError(f"'extends' cycle: {chain}", source=_display(path))
    if path in done:
        return
    pack, text = read_pack(path)
    for i, parent in enumerate(pack.extends):
        target = (path.parent / parent).resolve()
        if not target.is_file():
            raise PackError(
                f"extends '{parent}', which does not exist",
                source=_display(path),
                line=line_of(text, ("extends", i)),
                field=f"extends[{i}]",
            )
        _collect(target, (*stack, path), done, order)
    done[path] = (pack, text)
    order.append(path)


def _merge_brand(base: Brand, pack: Brand) -> Brand:
    products = list(dict.fromkeys([*base.products, *pack.products]))
    offers = {o.id: o for o in base.offers} | {o.id: o for o in pack.offers}
    claims = {c.id: c for c in base.claims} | {c.id: c for c in pack.claims}
    return Brand(
        name=pack.name or base.name,
        locale=pack.locale or base.locale,
        products=products,
        offers=list(offers.values()),
        claims=list(claims.values()),
    )


def _merge_grounding(base: Grounding, pack: Grounding) -> Grounding:
    update: dict[str, Any] = {k: getattr(pack, k) for k in pack.model_fields_set}
    update["product_nouns"] = list(dict.fromkeys([*base.product_nouns, *pack.product_nouns]))
    update["offer_terms"] = list(dict.fromkeys([*base.offer_terms, *pack.offer_terms]))
    return base.model_copy(update=update)


def build_parts(files: list[Path]) -> PolicyParts:
    """Load ``files`` (each with its parents) and merge them in order."""
    done: dict[Path, tuple[Pack, str]] = {}
    order: list[Path] = []
    for f in files:
        _collect(f, (), done, order)
    parts = PolicyParts(files=[_display(p) for p in order])
    rules: dict[str, RuleEntry] = {}
    for path in order:
        pack, text = done[path]
        source = _display(path)
        for i, rid in enumerate(pack.disable):
            if rid not in rules:
                raise PackError(
                    f"disables rule '{rid}', which no extended pack defines",
                    source=source,
                    line=line_of(text, ("disable", i)),
                    field=f"disable[{i}]",
                )
            del rules[rid]
        for rule in pack.rules:
            previous = rules.get(rule.id)
            rules[rule.id] = RuleEntry(rule, source, previous.source if previous else None)
        if pack.brand is not None:
            parts.brand = _merge_brand(parts.brand, pack.brand)
            parts.brand_source = source
        if pack.personalization is not None:
            update = {k: getattr(pack.personalization, k) for k in pack.personalization.model_fields_set}
            parts.personalization = parts.personalization.model_copy(update=update)
        if pack.grounding is not None:
            parts.grounding = _merge_grounding(parts.grounding, pack.grounding)
        if pack.evaluation is not None:
            parts.evaluation = pack.evaluation
    parts.rules = list(rules.values())
    return parts


def entry_files(path: Path) -> list[Path]:
    """The pack files ``path`` stands for (see the module docstring)."""
    if path.is_dir():
        entry = path / ENTRY
        if entry.is_file():
            return [entry]
        return sorted(p for p in path.rglob("*.yaml") if p.is_file())
    if path.is_file():
        return [path]
    raise PackError("policy path does not exist (check `policy:` in copydesk.yaml); nothing can be "
                    "checked without a policy", source=_display(path))


def files_digest(files: list[Path]) -> str:
    """sha256 over the pack files' names and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for f in sorted(files):
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


_CACHE: dict[Path, tuple[tuple[Any, ...], Policy]] = {}
_CACHE_LOCK = threading.Lock()


def _stamp(path: Path, files: list[Path]) -> tuple[Any, ...]:
    listing = sorted(path.rglob("*.yaml")) if path.is_dir() else []
    out: list[Any] = []
    for f in {*files, *listing}:
        try:
            out.append((str(f), f.stat().st_mtime_ns))
        except FileNotFoundError:
            out.append((str(f), None))
    return tuple(sorted(out, key=lambda x: x[0]))


def load_policy(path: str | Path) -> Policy:
    """The effective policy for a pack file or folder; cached until a file changes.

    Fails closed: a missing path, a folder without packs and a policy with no rules
    are errors, never a policy that passes everything. ``policy.sha256`` identifies
    the exact pack files loaded (recorded with every check)."""
    root = Path(path).resolve()
    with _CACHE_LOCK:
        cached = _CACHE.get(root)
    if cached is not None:
        stamp, policy = cached
        if _stamp(root, [Path(f).resolve() for f in policy.files]) == stamp:
            return policy
    files = entry_files(root)
    if not files:
        raise PolicyError(f"{_display(root)}: no policy packs (*.yaml) in this folder; every check needs a "
                          "policy, so nothing is checked until one is there")
    parts = build_parts(files)
    policy = Policy(parts)
    if not policy.rules:
        raise PolicyError(f"{_display(root)}: the policy has no rules (all disabled or none defined); "
                          "every check needs at least one rule")
    # the stamp covers the files actually loaded (parents included)
    loaded = [Path(f).resolve() for f in parts.files]
    policy.files = [str(p) for p in loaded]
    policy.sha256 = files_digest(loaded)
    with _CACHE_LOCK:
        _CACHE[root] = (_stamp(root, loaded), policy)
    return policy
