"""Notebooks are GPU-safe: every tensor a notebook hands a model directly is on the model's device.

``fit`` moves a model to ``DEVICE`` (CUDA on Colab or a lab machine) and leaves it there, so a
later cell that calls ``model(picture)`` with a CPU tensor fails on a GPU and nowhere else. This
machine has no GPU, so the check is static: it reads every code cell in order and, for each
model that is on ``DEVICE`` (passed to ``fit`` or moved with ``.to(DEVICE)``), checks that each
argument of a direct call (``model(x)``, ``model.rpn(...)``, ``heads.box_head(...)``) is on the
device too: an expression that mentions ``DEVICE``, the output of another direct call, a value
derived from one of those, or a literal. Before a model is on ``DEVICE``, nothing handed to it
may be moved there. Package functions that take a model move inputs themselves; their own tests
check that.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

NOT_FORWARD = {
    "eval",
    "train",
    "to",
    "cpu",
    "cuda",
    "parameters",
    "named_parameters",
    "state_dict",
    "load_state_dict",
    "modules",
    "children",
    "named_modules",
    "named_children",
    "apply",
    "requires_grad_",
    "zero_grad",
    "register_forward_hook",
    "register_full_backward_hook",
    "buffers",
    "named_buffers",
    "float",
    "half",
    "double",
    "extra_repr",
    "get_submodule",
}


def _source(cell: dict) -> str:
    """A code cell's Python, with IPython magics blanked out so that ``ast`` can read it."""
    lines = "".join(cell["source"]).splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _root(node: ast.AST) -> str | None:
    """``model`` for ``model``, ``model.rpn.head`` or ``model.eval()``; None otherwise."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            node = node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("eval", "train", "to")
        ):
            node = node.func.value
        else:
            return None


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _targets(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]


class DeviceChecker:
    """Walks a notebook's cells in order; ``problems`` lists each unsafe call."""

    def __init__(self) -> None:
        self.models: set[str] = set()  # names bound to a model or one of its submodules
        self.on_device: set[str] = set()  # models that are on DEVICE from here on
        self.safe: set[str] = {"DEVICE"}  # names holding values known to be on DEVICE
        self.literals: set[str] = set()  # names bound to plain numbers, strings and tuples of them
        self.problems: list[str] = []

    def _model_root(self, node: ast.AST) -> str | None:
        name = _root(node)
        return name if name in self.models else None

    def _is_direct_call(self, call: ast.Call) -> str | None:
        """The model a call runs forward, or None (``fit(model)`` and ``model.eval()`` are not)."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in NOT_FORWARD:
            return None
        return self._model_root(func)

    def _literal(self, node: ast.AST) -> bool:
        """Numbers, strings, tuples of them, and names bound to them: nothing a device holds."""
        leaves = (ast.Constant, ast.Tuple, ast.List, ast.Load, ast.UnaryOp, ast.USub, ast.BinOp, ast.operator)
        return all(isinstance(n, leaves) or (isinstance(n, ast.Name) and n.id in self.literals) for n in ast.walk(node))

    def _safe_argument(self, node: ast.AST) -> bool:
        if self._literal(node) or (isinstance(node, ast.Name) and node.id in self.models):
            return True
        return _mentions(node, self.safe) or (isinstance(node, ast.Call) and self._is_direct_call(node) is not None)

    def _note_statement(self, stmt: ast.stmt) -> None:
        """Track models, their moves to DEVICE, and the names that hold on-device values."""
        compound = isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.Try))
        for node in [] if compound else ast.walk(stmt):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "fit" and node.args:
                if isinstance(node.args[0], ast.Name):
                    self.models.add(node.args[0].id)
                    self.on_device.add(node.args[0].id)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "to":
                name = self._model_root(node.func.value)
                if name and _mentions(node, {"DEVICE"}):
                    self.on_device.add(name)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and stmt.value is not None:
            value, names = stmt.value, _targets(stmt)
            model = self._model_root(value)
            is_model_call = isinstance(value, ast.Call) and self._is_direct_call(value)
            if model and not is_model_call and not isinstance(value, ast.Subscript):
                self.models.update(names)  # an alias: heads = model.roi_heads
                if model in self.on_device:
                    self.on_device.update(names)
            elif self._literal(value):
                self.literals.update(names)
            elif self._safe_argument(value):
                self.safe.update(names)
        if isinstance(stmt, (ast.For, ast.AsyncFor)) and self._safe_argument(stmt.iter):
            self.safe.update(_targets(stmt.target))
        if isinstance(stmt, ast.With):
            for item in stmt.items:
                if item.optional_vars is not None and self._safe_argument(item.context_expr):
                    self.safe.update(_targets(item.optional_vars))

    def _check_calls(self, stmt: ast.stmt, where: str) -> None:
        for node in ast.walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            model = self._is_direct_call(node)
            if model is None:
                continue
            arguments = [*node.args, *(k.value for k in node.keywords)]
            if model in self.on_device:
                bad = [a for a in arguments if not self._safe_argument(a)]
                what = "is not moved to DEVICE"
            else:
                bad = [a for a in arguments if _mentions(a, {"DEVICE"})]
                what = "is moved to DEVICE before the model is (move the model first)"
            for arg in bad:
                self.problems.append(f"{where}: `{ast.unparse(node)[:90]}`: argument `{ast.unparse(arg)[:60]}` {what}")

    def statements(self, stmts: list[ast.stmt], where: str) -> None:
        """Check and note statements in execution order, entering blocks (with, for, if, try)."""
        for stmt in stmts:
            blocks = [getattr(stmt, f) for f in ("body", "handlers", "orelse", "finalbody") if hasattr(stmt, f)]
            if not isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.Try)):
                self._check_calls(stmt, where)
                self._note_statement(stmt)
                continue
            headers = [getattr(stmt, f) for f in ("test", "iter") if hasattr(stmt, f)]
            headers += [item.context_expr for item in getattr(stmt, "items", [])]
            for header in headers:
                self._check_calls(ast.Expr(header), where)
            self._note_statement(stmt)
            for block in blocks:
                for inner in block:
                    self.statements(inner.body if isinstance(inner, ast.ExceptHandler) else [inner], where)

    def prescan(self, trees: list[ast.Module]) -> None:
        """Models are known from the start: whatever the notebook trains with ``fit``."""
        for tree in trees:
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and node.args
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "fit"
                ):
                    if isinstance(node.args[0], ast.Name):
                        self.models.add(node.args[0].id)

    def run(self, cells: list[tuple[str, str]]) -> list[str]:
        """Check ``(where, source)`` cells in order; returns the problems found."""
        trees = [(where, ast.parse(source)) for where, source in cells]
        self.prescan([tree for _, tree in trees])
        for where, tree in trees:
            self.statements(tree.body, where)
        return self.problems

    def notebook(self, path: Path) -> list[str]:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return self.run(
            [(f"{path.name} cell {i}", _source(c)) for i, c in enumerate(cells) if c["cell_type"] == "code"]
        )


def _problems(source: str) -> list[str]:
    return DeviceChecker().run([("cell", source)])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_hands_its_models_tensors_on_their_device(path):
    problems = DeviceChecker().notebook(path)
    assert not problems, "on a GPU these calls fail with a device mismatch:\n" + "\n".join(problems)


def test_every_training_notebook_picks_one_device_and_gives_it_to_fit():
    for path in NOTEBOOKS:
        if path.stem.startswith("00"):
            continue
        code = "\n".join(
            _source(c) for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"
        )
        tree = ast.parse(code)
        assigned = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and "DEVICE" in _targets(n)]
        assert assigned and "pick_device" in ast.unparse(assigned[0].value), f"{path.name} picks no DEVICE"
        fits = [
            n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "fit"
        ]
        for call in fits:
            options = {k.arg for k in call.keywords}
            assert "device" in options or None in options, (
                f"{path.name}: `{ast.unparse(call)[:80]}` has no device=DEVICE"
            )


# The checker itself: it must catch what a GPU would.
def test_checker_flags_a_cpu_tensor_handed_to_a_trained_model():
    assert _problems("fit(model, loader, device=DEVICE)\nout = model(images[:4])")


def test_checker_accepts_moved_tensors_outputs_and_aliases():
    source = (
        "fit(model, loader, device=DEVICE)\n"
        "batch, _ = model.transform([picture.to(DEVICE)])\n"
        "features = model.backbone(batch.tensors)\n"
        "heads = model.roi_heads\n"
        "box = features['0'][0]\n"
        "pooled = heads.mask_roi_pool(features, [box[None]], batch.image_sizes)\n"
        "model.eval()\n"
    )
    assert _problems(source) == []


def test_checker_flags_a_submodule_alias_and_a_call_through_eval():
    assert _problems("fit(model, loader)\nheads = model.roi_heads\nheads.box_head(x)")
    assert _problems("fit(model, loader)\nmodel.eval()(x)")


def test_checker_flags_moving_inputs_before_the_model():
    assert _problems("model = build()\nout = model(x.to(DEVICE))\nfit(model, loader)")
    assert _problems("model = build()\nmodel.to(DEVICE)\nout = model(x.to(DEVICE))") == []
