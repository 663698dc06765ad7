"""The recorder shim's work per training iteration in Python bytecodes: a count that does
not depend on the machine's noise (the clock on a small shared VM moves by a third from
one phase to the next). On this VM each of the shim's operations costs 10-20 ns in a real
training, where its code and objects are out of the caches each time torch has run, so
fewer operations is what makes it cheaper (README, Benchmarks, session 13).

Runs tools/real_shim_bench.py (mmengine, ITERATIONS, default 1000) with a trace function
that counts the bytecodes executed in the shim's functions, in mmengine's own
Runner.call_hook and in the methods of mmengine's Hook base class its loop calls (most of
them do nothing; the shim's loop leaves those out), and prints them per iteration (two
call_hooks and an optimizer step).
Run it plainly for mmengine's own count, and under `hooktrace record` for the shim's:

  python3 tools/shim_opcodes.py 1000
  hooktrace record -o /tmp/o.htrace -q -- python3 tools/shim_opcodes.py 1000

Counting slows the training ~20x; the figures include the run's start (divide the
difference of two lengths to leave it out).
"""
import collections
import os
import runpy
import sys

iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
counts = collections.Counter()
calls = collections.Counter()


# mmengine's Hook base class: the methods every hook inherits (most of them empty or passing
# the call on to an empty one), which mmengine's loop calls and the shim's leaves out.
_HOOK_BASE = os.path.join("mmengine", "hooks", "hook.py")


def _name(code):
    return "Hook." + code.co_name if code.co_filename.endswith(_HOOK_BASE) else code.co_name


def _local(frame, event, arg):
    if event == "opcode":
        counts[_name(frame.f_code)] += 1
    return _local


def _global(frame, event, arg):
    code = frame.f_code
    if code.co_filename.endswith("hooktrace_shim.py") or (code.co_name == "call_hook" and "mmengine" in code.co_filename) \
            or code.co_filename.endswith(_HOOK_BASE):
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        calls[_name(code)] += 1
        return _local
    return None


bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_shim_bench.py")
sys.argv = [bench, "mmengine", str(iterations)]
sys.settrace(_global)
try:
    runpy.run_path(bench, run_name="__main__")
finally:
    sys.settrace(None)
total = sum(counts.values())
print("%s: %.1f bytecodes per iteration (%d iterations)" % ("recorded" if os.environ.get("HOOKTRACE_SOCKET") else "plain",
                                                           total / iterations, iterations))
for name, n in counts.most_common(8):
    print("  %-24s %8.1f per iteration  (%d calls)" % (name, n / iterations, calls[name]))
