"""Checks the shim's log tailing on its own (no recorder): each look sends what was
appended to the log file since the last one, once and whole (a look that finds more than
one read's worth reads it all), as one `(8, HOOK, BYTES)` item. The looks' items are
written to OUT (a marshal list, a list of items per look) for the recorder's decoder to
split into records (CLITests.tailLog). Prints "ok"; fails loudly.

Usage: python3 shim_tail_log.py SHIM_DIR OUT"""
import json
import marshal
import os
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
import hooktrace_shim as shim  # noqa: E402

shim._channel = shim._Channel("@unused")  # nothing is sent: the buffer is looked at
shim._state.clear()
shim._state["log_hook"] = "LoggerHook"


class Runner(object):
    visualizer = None

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.work_dir = log_dir


log_dir = tempfile.mkdtemp(prefix="hooktrace-tail-")
os.makedirs(os.path.join(log_dir, "vis_data"))
path = os.path.join(log_dir, "vis_data", "scalars.json")
runner = Runner(log_dir)
looks = []


def write(text):
    with open(path, "a") as f:
        f.write(text)
    return text.encode("utf-8")


def look():
    buf = shim._channel.buffer
    del buf[:]
    shim._log_due[0] = True
    shim._tail_log(runner)
    assert not shim._log_due[0], "a look answers the log record's call"
    items = list(buf)
    looks.append(items)
    assert all(i[:2] == (8, "LoggerHook") for i in items) and len(items) <= 1, items
    return b"".join(i[2] for i in items)


assert look() == b"", "no log file yet"
sent = write('{"lr": 0.1, "step": 1}\n{"lr": 0.2, "st')
assert look() == sent, "what was appended, a line being written too"
assert look() == b"", "nothing new: nothing sent"
sent = write('ep": 2}\nnot a record\n')
assert look() == sent
sent = write('{"lr": 0.3, "step": 3}')
assert look() == sent
big = [{"step": 100 + i, "note": "x" * 200} for i in range(1000)]  # ~230 KB: several reads
sent = write("\n" + "\n".join(json.dumps(r) for r in big) + "\n")
assert look() == sent, "everything appended since the last look"
sent = write('{"caf\xe9": 1}\n{"broken": }\n')
assert look() == sent, "UTF-8 text"
with open(sys.argv[2], "wb") as f:
    f.write(marshal.dumps(looks, 4))
print("ok")
