"""Resolves an mmcv 1.x or mmengine `.py` config for hooktrace, as their Config.fromfile does.

Standard library only (Python 3.8+); run by hooktrace (`hooktrace config FILE`, and every
command that takes a config) from the same directory as the recorder shim. Prints
{"config": {...}, "files": [...], "notes": [...]} as JSON on stdout and exits 0; on a
problem prints one line "FILE:LINE: what is wrong; what to do" on stderr and exits 2.

What it does, in Config.fromfile's order (docs/DESIGN.md says why a helper in Python):
  - predefined variables in the text: {{ fileDirname }}, {{ fileBasename }},
    {{ fileBasenameNoExtension }}, {{ fileExtname }}; mmengine's {{ $ENV:default }};
  - {{ _base_.a.b }} placeholders, replaced after the bases are read by their values;
  - `_base_` (a string or a list of strings, relative to the file) read first, recursively;
    keys defined by two bases are an error, as in both frameworks;
  - the file's code run with `_base_` bound to the merged bases (mmengine's way of reading
    base variables: `_base_.model.backbone`; mmcv configs never read it);
  - its top-level names (not modules, functions or names starting with "__") merged into the
    bases: dicts recursively, `_delete_=True` replaces instead;
  - tuples become lists in the output; the one place where mmcv tells them apart in hook
    settings (a Cyclic schedule's target_ratio must be a tuple) is checked here.
Nothing is imported from mmcv, mmengine or torch; `custom_imports` is kept, not imported.
"""
import ast
import json
import math
import os
import re
import sys
import traceback
import types

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"


class ConfigError(Exception):
    def __init__(self, message, path=None, line=None):
        Exception.__init__(self, message)
        self.message = message
        self.path = path
        self.line = line


class BaseDict(dict):
    """A dict of the merged bases whose keys read as attributes (`_base_.model.backbone`),
    as mmengine's ConfigDict does for the `_base_` its configs see."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError("the bases define no key '%s'" % name)

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError("the bases define no key '%s'" % name)


def _attr(value):
    if isinstance(value, dict):
        return BaseDict((k, _attr(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_attr(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_attr(v) for v in value)
    return value


def _predefined(text, path):
    dirname, basename = os.path.split(path)
    values = {
        "fileDirname": dirname,
        "fileBasename": basename,
        "fileBasenameNoExtension": os.path.splitext(basename)[0],
        "fileExtname": os.path.splitext(path)[1],
    }
    for key, value in values.items():
        value = value.replace("\\", "/")
        text = re.sub(r"\{\{\s*" + key + r"\s*\}\}", lambda m, v=value: v, text)
    return text


def _environment(text, path):
    """mmengine's {{ $NAME:default }}: the variable's value, else the default."""
    def value(m):
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default:
            return default
        raise ConfigError("{{ $%s: }} needs the environment variable %s, which is not set, or a default after the colon"
                          % (name, name), path, text.count("\n", 0, m.start()) + 1)
    return re.sub(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['\"]?\}\}", value, text)


# Packages whose import a config may not make (checked by name where Python cannot say
# what the standard library is: before 3.10).
_FOREIGN = ("mmcv", "mmengine", "mmdet", "mmpretrain", "mmcls", "mmseg", "mmyolo", "torch", "numpy")


def _base_placeholders(text):
    """{{ _base_.a.b }} → a string placeholder, as Config does before the code runs."""
    found = {}
    for n, dotted in enumerate(sorted(set(re.findall(r"\{\{\s*" + BASE_KEY + r"\.([\w\.]+)\s*\}\}", text)))):
        key = "_hooktrace_base_%d_%s_" % (n, dotted.replace(".", "_"))
        found[key] = dotted
        text = re.sub(r"\{\{\s*" + BASE_KEY + r"\." + re.escape(dotted) + r"\s*\}\}", '"%s"' % key, text)
    return text, found


def _substitute(value, found, bases, path):
    if isinstance(value, str) and value in found:
        out = bases
        walked = []
        for part in found[value].split("."):
            walked.append(part)
            try:
                out = out[int(part)] if isinstance(out, list) and part.isdigit() else out[part]
            except (KeyError, IndexError, TypeError):
                raise ConfigError("{{ _base_.%s }}: the bases have no %s" % (found[value], ".".join(walked)), path)
        return out
    if isinstance(value, dict):
        return type(value)((k, _substitute(v, found, bases, path)) for k, v in value.items())
    if isinstance(value, list):
        return [_substitute(v, found, bases, path) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, found, bases, path) for v in value)
    return value


def merge(a, b, allow_list_keys=False, at=""):
    """Config._merge_a_into_b of both frameworks: `a` over a copy of `b`, dicts merged key by
    key unless `_delete_=True`, which is popped only where `b` has the key (as theirs)."""
    b = b.copy()
    for k, v in a.items():
        key = "%s.%s" % (at, k) if at else str(k)
        if allow_list_keys and isinstance(k, str) and k.isdigit() and isinstance(b, list):
            k = int(k)
            if len(b) <= k:
                raise ConfigError("%s: index %d is beyond the list of %d items" % (key, k, len(b)))
            b[k] = merge(v, b[k], allow_list_keys, key)
        elif isinstance(v, dict):
            if k in b and not v.pop(DELETE_KEY, False):
                allowed = (dict, list) if allow_list_keys else dict
                if not isinstance(b[k], allowed):
                    raise ConfigError("%s is a dict in the child config but %s in its base: set %s=True in it to "
                                      "replace the base's value (mmcv and mmengine raise TypeError)"
                                      % (key, "None" if b[k] is None else "a " + type(b[k]).__name__, DELETE_KEY))
                b[k] = merge(v, b[k], allow_list_keys, key)
            else:
                b[k] = dict(v)
        else:
            b[k] = v
    return b


def _base_files(tree, path):
    files = None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == BASE_KEY for t in targets):
            try:
                files = ast.literal_eval(node.value)
            except ValueError:
                raise ConfigError("_base_ must be written out as a string or a list of strings", path, node.lineno)
            line = node.lineno
    if files is None:
        return []
    files = files if isinstance(files, list) else [files]
    for f in files:
        if not isinstance(f, str):
            raise ConfigError("_base_ must be a string or a list of strings, not %r" % (f,), path, line)
        if "::" in f:
            raise ConfigError("_base_ names %s, a config of an installed package (mmengine's 'package::path'); give "
                              "the path of that file instead" % f, path, line)
    return files


def _refuse_imports(tree, path):
    """mmengine's pure-Python configs (`with read_base(): from .x import *`) and imports of
    project code need those packages; hooktrace reads data only."""
    nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", "")) == "read_base":
                    raise ConfigError("a pure-Python style config (with read_base(): …) imports its bases as modules, "
                                      "which hooktrace does not run; use the _base_ = [...] style of the same "
                                      "config (mmdetection ships both)", path, node.lineno)
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if node.__class__ is ast.ImportFrom and node.level:
                    raise ConfigError("the config imports from its own package (from .%s import …), which hooktrace "
                                      "does not run; write the values out, or use _base_" % (name or ""), path, node.lineno)
                stdlib = getattr(sys, "stdlib_module_names", None)
                if (top not in stdlib) if stdlib is not None else (top in _FOREIGN):
                    raise ConfigError("the config imports %s, which hooktrace does not load (it reads configs with the "
                                      "standard library only); write the values out" % name, path, node.lineno)


class _DropBaseAssign(ast.NodeTransformer):
    def visit_Assign(self, node):
        if any(isinstance(t, ast.Name) and t.id == BASE_KEY for t in node.targets):
            return None
        return node


def _line_in(path, tb):
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if os.path.abspath(frame.f_code.co_filename) == path:
            line = lineno
    return line


def file2dict(path, chain=()):
    path = os.path.abspath(os.path.expanduser(path))
    if path in chain:
        raise ConfigError("the config includes itself through _base_: %s" % " → ".join(os.path.basename(p) for p in chain + (path,)),
                          chain[-1])
    if not os.path.isfile(path):
        if chain:
            raise ConfigError("no such config file (a _base_ of %s); check the path, relative to that file" % chain[-1], path)
        raise ConfigError("no such config file; check the path", path)
    ext = os.path.splitext(path)[1]
    if ext not in (".py", ".json"):
        raise ConfigError("hooktrace reads .py and .json configs (mmcv's YAML configs: convert them to JSON)", path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = _environment(_predefined(text, path), path)
    text, found = _base_placeholders(text)
    files = [path]
    if ext == ".json":
        try:
            ns = json.loads(text)
        except ValueError as e:
            raise ConfigError("not JSON: %s" % e, path, getattr(e, "lineno", None))
        if not isinstance(ns, dict):
            raise ConfigError("a JSON config is an object", path)
        bases = ns.pop(BASE_KEY, [])
        bases = bases if isinstance(bases, list) else [bases]
        tree = None
    else:
        try:
            tree = ast.parse(text, filename=path)
        except SyntaxError as e:
            raise ConfigError("syntax error: %s" % e.msg, path, e.lineno)
        _refuse_imports(tree, path)
        bases = _base_files(tree, path)
    # The bases' merged keys; the code below sees this very object as `_base_` (mmengine's
    # configs may change it in place: `_base_.optim_wrapper.type = 'AmpOptimWrapper'`) and
    # the file's own keys are merged into it as changed.
    base_cfg = BaseDict()
    for b in bases:
        sub, sub_files = file2dict(os.path.join(os.path.dirname(path), b), chain + (path,))
        files.extend(f for f in sub_files if f not in files)
        twice = sorted(set(base_cfg) & set(sub))
        if twice:
            raise ConfigError("the bases both define %s (Duplicate key is not allowed among bases, say mmcv and "
                              "mmengine); keep it in one of them" % ", ".join(twice), path)
        base_cfg.update(_attr(sub))
    if tree is not None:
        tree = ast.fix_missing_locations(_DropBaseAssign().visit(tree))
        ns = {BASE_KEY: base_cfg, "__file__": path, "__name__": "config"}
        try:
            exec(compile(tree, path, "exec"), ns)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError("running the config raised %s: %s" % (type(e).__name__, e), path, _line_in(path, e.__traceback__))
        ns = {k: v for k, v in ns.items()
              if k != BASE_KEY and not k.startswith("__")
              and not isinstance(v, (types.ModuleType, types.FunctionType))}
    if bases:
        # As both frameworks do whenever there are bases (a deep copy per key, which also
        # parts two keys bound to one dict: `test_evaluator = val_evaluator`).
        ns = _substitute(ns, found, base_cfg, path)
    try:
        cfg = merge(ns, base_cfg) if bases else ns
    except ConfigError as e:
        raise ConfigError(e.message, path)
    return cfg, files


def _data(value, path, notes, key=""):
    """The config as JSON data: tuples as lists, dicts with string keys; anything else
    (a class, an object) as a string naming it, with a note (hooktrace never reads those keys
    for hooks; if it did, the string would make it an error there)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError("%s has a key %r that is not a string" % (key or "the config", k), path)
            out[k] = _data(v, path, notes, key + "." + k if key else k)
        return out
    if isinstance(value, (list, tuple)):
        return [_data(v, path, notes, "%s.%d" % (key, i)) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise ConfigError("%s is %r, which JSON cannot hold; hooktrace cannot read it" % (key, value), path)
    notes.append("%s holds a Python %s (%r); kept as its text" % (key, type(value).__name__, value))
    return repr(value)


def _check_tuples(cfg, path):
    for key in ("lr_config", "momentum_config"):
        hook = cfg.get(key)
        if isinstance(hook, dict) and str(hook.get("policy", "")).lower() == "cyclic" and isinstance(hook.get("target_ratio"), list):
            raise ConfigError("%s.target_ratio is a list; mmcv's Cyclic%sUpdaterHook takes a float or a tuple (a list "
                              "raises ValueError): write (%s)" % (key, "Lr" if key == "lr_config" else "Momentum",
                                                                 ", ".join(repr(v) for v in hook["target_ratio"])), path)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: hooktrace_config.py CONFIG.py\n")
        return 2
    path = os.path.abspath(argv[1])
    try:
        cfg, files = file2dict(path)
        _check_tuples(cfg, path)
        notes = []
        data = _data(cfg, path, notes)
    except ConfigError as e:
        where = e.path or path
        if e.line:
            where += ":%d" % e.line
        sys.stderr.write("%s: %s\n" % (where, e.message))
        return 2
    except RecursionError:
        sys.stderr.write("%s: the config nests too deeply to read\n" % path)
        return 2
    json.dump({"config": data, "files": files, "notes": notes}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
