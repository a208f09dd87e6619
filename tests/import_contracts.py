"""An import-linter contract type of our own: no import cycle between the given packages' modules.

Lazy (function-level) and ``TYPE_CHECKING`` imports count, like every import grimp finds. The
built-in ``acyclic_siblings`` contract compares whole sibling packages (``bot.tickets`` and
``bot.dispatch`` use each other's modules without any module cycle), so it does not fit; this one
looks for cycles of modules (Tarjan's strongly connected components over the import graph).
Registered in ``pyproject.toml`` ``[tool.importlinter] contract_types``.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def module_cycles(graph: ImportGraph, packages: set[str]) -> list[list[str]]:
    """The import cycles among the modules of ``packages``: each a sorted list of its modules."""
    mods = sorted(m for m in graph.modules if m.split(".")[0] in packages)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in mods:  # iterative Tarjan: the graph is deep enough to matter for recursion
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt.split(".")[0] not in packages:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


class NoCyclesContract(Contract):
    """No module of ``packages`` takes part in an import cycle."""

    type_name = "no_cycles"
    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        cycles = module_cycles(graph, set(self.packages))  # type: ignore[arg-type]
        edges = [
            [(a, b) for a in cycle for b in sorted(graph.find_modules_directly_imported_by(a)) if b in cycle]
            for cycle in cycles
        ]
        return ContractCheck(kept=not cycles, warnings=None, metadata={"edges": edges})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for edges in check.metadata["edges"]:
            output.print("Import cycle:")
            for importer, imported in edges:
                output.print(f"    {importer} -> {imported}")
            output.new_line()
