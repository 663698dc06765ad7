"""hooktrace's recorder shim, loaded by Python at start-up.

`hooktrace record -- COMMAND` puts this directory first on PYTHONPATH and sets
HOOKTRACE_SOCKET. This file then installs the shim (which patches mmcv's and
mmengine's runners when the program imports them) and hands over to any other
sitecustomize module that the environment had.
"""
import os
import sys

if os.environ.get("HOOKTRACE_SOCKET"):
    try:
        import hooktrace_shim
        hooktrace_shim.install()
    except Exception as exc:  # never break the user's program
        sys.stderr.write("hooktrace: the recorder shim failed to load: %r\n" % (exc,))


def _chain():
    here = os.path.dirname(os.path.abspath(__file__))
    saved_path = list(sys.path)
    saved_module = sys.modules.pop("sitecustomize", None)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        import importlib
        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:
        sys.path[:] = saved_path
        if saved_module is not None:
            sys.modules["sitecustomize"] = saved_module


_chain()
