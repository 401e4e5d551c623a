"""Griffe extension: kerasx's docstrings (Google style with reST touches) rendered as Markdown.

kerasx's docstrings are written for ``help()`` and ``pytest --doctest-modules``: Google-style
sections, plus three reST habits that Markdown would garble. This extension rewrites each
docstring's text before mkdocstrings parses it (the source files are untouched):

- roles (``:func:`name```, ``:class:`~a.b```, ...) become links into the site when they name
  a kerasx object (found as Python would from where the docstring is: the object's own
  members, its class's, its module's, then the packages' above), else inline code (Keras,
  NumPy, ...); ``~`` shows the last part of the name only, as Sphinx does. A role that names
  no kerasx object and no importable module is logged as a warning, which fails the strict
  build; a link to an object the site does not render fails it too (autorefs);
- a bare doctest (``>>>`` lines and their output, outside an ``Examples:`` section, which griffe
  already renders) becomes a ``pycon`` code block, without its ``# doctest:`` flags;
- a reST literal block (a paragraph ending in ``::`` and the indented lines after it) becomes a
  ``text`` code block.

A module attribute documented with Sphinx's ``#:`` comments (``#: Class names ...`` above
``CLASS_NAMES = ...``) gets those lines as its docstring, which griffe alone does not read.

Modules that load their names on first use (``kerasx.recipes``, ``kerasx.tuning``: a module
``__getattr__`` over a ``{name: submodule}`` table, and ``__all__ = sorted(table)``) get one
alias per name, so each is documented, and listed in the inventory, under the name users import.
A name of ``__all__`` that such a module builds on first use (a class defined inside a function,
so that importing the module stays light) is documented from the imported object.

Two Google-style shorthands griffe does not read are expanded too: ``a, b, c: as for f``
under ``Args:`` (one entry per name) and a ``Raises:`` section that names no exception (it
becomes a sentence).
"""

import importlib
import importlib.util
import logging
import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|ref):`(~?)([^`]+)`")
log = logging.getLogger("mkdocs.plugins.kerasx_docstrings")  # a warning fails --strict
_DOCTEST_FLAGS = re.compile(r"\s*# doctest:.*$")
_SECTION = re.compile(r"^(\w[\w ]*):\s*$")
_SHARED_ARGS = re.compile(r"^(\s+)(\w+(?:, \w+)+): (.*)$")
_RAISES_ITEM = re.compile(r"^\s+[\w.]+:")


def _indent(line):
    return len(line) - len(line.lstrip())


def _fence(lines, start, indent, language):
    """The block of ``lines`` from ``start`` that belongs to one example: up to a blank line."""
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    pad = " " * indent
    body = [pad + _DOCTEST_FLAGS.sub("", line[indent:]).rstrip() for line in lines[start:end]]
    return [pad + "```" + language, *body, pad + "```"], end


def _literal_block(lines, start, indent):
    """The indented lines after a ``::`` paragraph (blank lines inside kept), and where it ends."""
    end = start
    while end < len(lines) and not lines[end].strip():
        end += 1
    block_start = end
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    while end > block_start and not lines[end - 1].strip():
        end -= 1
    if end == block_start:
        return None, start
    inner = min(_indent(line) for line in lines[block_start:end] if line.strip())
    pad = " " * indent
    body = [pad + line[inner:].rstrip() if line.strip() else "" for line in lines[block_start:end]]
    return [pad + "```text", *body, pad + "```"], end


def _role(match, resolve):
    tilde, target = match.groups()
    shown = target.rsplit(".", 1)[-1] if tilde else target
    path = resolve(target) if resolve is not None else None
    return f"[`{shown}`][{path}]" if path else f"`{shown}`"


def to_markdown(text, resolve=None):
    """Returns ``text`` (a docstring, already dedented) with its reST touches made Markdown.

    ``resolve(target)`` gives the dotted path that a role's target names, or ``None``: a role
    with a path becomes an autorefs link ``[`shown`][path]``, one without inline code.

    >>> print(to_markdown("See :func:`~kerasx.losses.soft_fbeta`."))
    See `soft_fbeta`.
    >>> print(to_markdown("See :func:`soft_fbeta`.", lambda t: "kerasx.functional." + t))
    See [`soft_fbeta`][kerasx.functional.soft_fbeta].
    """
    lines = _ROLE.sub(lambda match: _role(match, resolve), text).splitlines()
    out = []
    section = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _indent(line) == 0 and _SECTION.match(line):
            section = _SECTION.match(line).group(1).lower()
        elif _indent(line) == 0 and stripped:
            section = None
        if stripped.startswith(">>>") and section not in ("examples", "example"):
            if out and out[-1].strip():
                out.append("")
            block, i = _fence(lines, i, _indent(line), "pycon")
            out += block
            continue
        if stripped.endswith("::") and not stripped.startswith(">>>"):
            block, end = _literal_block(lines, i + 1, _indent(line))
            if block is not None:
                head = line.rstrip()[:-2].rstrip()
                if head.strip():
                    out += [head + ":", ""]
                elif out and out[-1].strip():
                    out.append("")
                out += block
                i = end
                continue
        shared = _SHARED_ARGS.match(line) if section in ("args", "arguments") else None
        if shared:
            pad, names, first = shared.groups()
            end = i + 1
            while end < len(lines) and lines[end].strip() and _indent(lines[end]) > len(pad):
                end += 1
            for name in names.split(", "):
                out += [f"{pad}{name}: {first}", *lines[i + 1 : end]]
            i = end
            continue
        if section == "raises" and line.strip() == "Raises:":
            end = i + 1
            while end < len(lines) and lines[end].strip() and _indent(lines[end]) > 0:
                end += 1
            if end > i + 1 and not _RAISES_ITEM.match(lines[i + 1]):
                out.append(" ".join(item.strip() for item in lines[i:end]))
                i = end
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def lazy_exports(module):
    """``{name: submodule}`` of a module that imports its ``__all__`` on first use, else ``{}``.

    The table is the module-level dict whose keys are the names of ``__all__`` and whose values
    name submodules of ``module``.
    """
    all_names = set(getattr(module, "__all__", ()))
    for value in vars(module).values():
        if (
            isinstance(value, dict)
            and all_names
            and set(value) == all_names
            and all(isinstance(sub, str) for sub in value.values())
        ):
            return dict(value)
    return {}


class RestToMarkdown(griffe.Extension):
    """Rewrites every docstring of a loaded package with :func:`to_markdown`, roles resolved
    in the package (:func:`resolve_role`); aliases lazy exports first."""

    def on_package(self, *, pkg, loader=None, **kwargs):
        for module in [pkg, *_submodules(pkg)]:
            if "__getattr__" not in module.members:
                continue  # imports only the lazy modules, which are cheap (no TensorFlow)
            try:
                runtime = importlib.import_module(module.path)
            except ImportError:
                continue
            table = lazy_exports(runtime)
            for name, sub in table.items():
                if name not in module.members:
                    target = f"{module.path}.{sub}.{name}"
                    module.set_member(name, griffe.Alias(name, target, parent=module))
            if table:
                module.exports = sorted(table)
            built = [n for n in getattr(runtime, "__all__", ()) if n not in module.members]
            if built:  # made by __getattr__ on first use: only an import shows them
                for name in built:
                    getattr(runtime, name)  # builds it (and the module keeps it)
                inspected = griffe.inspect(
                    module.path,
                    docstring_parser=getattr(loader, "docstring_parser", None),
                    docstring_options=getattr(loader, "docstring_options", None),
                )
                for name in built:
                    if name in inspected.members:
                        member = inspected.members[name]
                        for dunder in ("__doc__", "__module__", "__dict__", "__weakref__"):
                            member.members.pop(dunder, None)  # what inspection adds, no API
                        module.set_member(name, member)
        self._rewrite_all(pkg, set())

    def _rewrite_all(self, obj, done):
        if id(obj) in done:
            return
        done.add(id(obj))
        if obj.docstring is not None:
            resolve = lambda target: resolve_role(target, obj)  # noqa: E731
            obj.docstring.value = to_markdown(obj.docstring.value, resolve)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite_all(member, done)

    def on_attribute_instance(self, *, attr, agent, **kwargs):
        if attr.docstring is not None or not attr.lineno:
            return
        lines = attr.module.lines
        start = attr.lineno - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#:"):
            start -= 1
        comment = [line.lstrip()[2:].strip() for line in lines[start : attr.lineno - 1]]
        if comment:  # rewritten with the others in on_package
            attr.docstring = griffe.Docstring(
                "\n".join(comment),
                lineno=start + 1,
                endlineno=attr.lineno - 1,
                parent=attr,
                parser=getattr(agent, "docstring_parser", None),
                parser_options=getattr(agent, "docstring_options", None),
            )


def _find(collection, path):
    """The object at ``path`` in ``collection``, or ``None``; an alias out of the package
    (``kerasx.losses.keras``, the module ``keras``) counts as not found."""
    try:
        found = collection[path]
        if found.is_alias and found.target_path.split(".")[0] != path.split(".")[0]:
            return None
    except Exception:  # KeyError, or an alias to a module griffe did not load
        return None
    return found


def resolve_role(target, obj):
    """The path of the package's object that a role's ``target`` names in ``obj``'s docstring.

    Looked up as Python would from ``obj``: among its own members, then its parent's (a method's
    class, a class's module), up to the top package, then as a full path. ``None`` for a name
    outside the package (``keras.Model``); a warning for one that names nothing at all.
    """
    scope, package = obj, obj.package.path
    while scope is not None:
        if _find(obj.modules_collection, f"{scope.path}.{target}") is not None:
            return f"{scope.path}.{target}"
        scope = scope.parent
    if target.split(".")[0] == package and _find(obj.modules_collection, target) is not None:
        return target
    first = target.split(".")[0]
    if first == package or importlib.util.find_spec(first) is None:
        log.warning("%s: the docstring refers to `%s`, which names nothing", obj.path, target)
    return None


def _submodules(module):
    for member in module.members.values():
        if not member.is_alias and member.is_module:
            yield member
            yield from _submodules(member)
