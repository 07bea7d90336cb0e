"""How tangled the package graph is: the pairs of layer units that import each other.

    python -m benchmarks.imports           # the working tree
    python -m benchmarks.imports --top     # top-level directories only (ringside/ as one)

A unit is a layer of README "How it fits together": ``ringside.core``, ``ringside.cli``,
the services in ``ringside/`` as one unit, and each other top-level package. Every
import counts, module-level or inside a function (import-linter counts them too).
"""

import argparse
import ast
import itertools
from collections import defaultdict
from pathlib import Path

PACKAGES = ("api", "ingestion", "ml_assets", "orchestration", "ringside", "benchmarks")
REPO = Path(__file__).resolve().parents[1]


def unit(module: str, top: bool) -> str:
    parts = module.split(".")
    if parts[0] != "ringside" or top:
        return parts[0]
    if len(parts) > 1 and parts[1] in ("core", "cli"):
        return f"ringside.{parts[1]}"
    return "ringside (services)"


def imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from ringside import reports` names the subpackage it imports.
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in names if name.split(".")[0] in PACKAGES]


def edges(top: bool) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = defaultdict(int)
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            source = unit(module, top)
            for name in imported(ast.parse(path.read_text())):
                target = unit(name, top)
                if target != source:
                    found[(source, target)] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", action="store_true", help="top-level directories as units")
    found = edges(parser.parse_args().top)
    units = sorted({u for pair in found for u in pair})
    pairs = [p for p in itertools.combinations(units, 2) if p in found or p[::-1] in found]
    both = [p for p in pairs if p in found and p[::-1] in found]
    print(f"{len(units)} units, {len(units) * (len(units) - 1) // 2} possible pairs")
    print(f"{len(pairs)} pairs import each other in some direction, {len(both)} both ways")
    for a, b in both:
        print(f"  both ways: {a} <-> {b} ({found[(a, b)]} and {found[(b, a)]} imports)")


if __name__ == "__main__":
    main()
