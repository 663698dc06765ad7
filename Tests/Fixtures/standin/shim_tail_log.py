"""Checks the shim's log tailing on its own (no recorder): records are sent once each, a
line still being written waits for its newline, a last record without one is sent, and
a look that finds more than one read's worth reads it all. Prints "ok"; fails loudly.

Usage: python3 shim_tail_log.py SHIM_DIR"""
import json
import os
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
import hooktrace_shim as shim  # noqa: E402

shim._channel = shim._Channel("@unused")  # nothing is sent: the buffer is looked at
shim._state.clear()


class Runner(object):
    visualizer = None

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.work_dir = log_dir


log_dir = tempfile.mkdtemp(prefix="hooktrace-tail-")
os.makedirs(os.path.join(log_dir, "vis_data"))
path = os.path.join(log_dir, "vis_data", "scalars.json")
runner = Runner(log_dir)


def write(text):
    with open(path, "a") as f:
        f.write(text)


def look():
    buf = shim._channel.buffer
    del buf[:]
    shim._tail_log(runner)
    return [json.loads(m)[2] for m in buf]


assert look() == [], "no log file yet"
write('{"lr": 0.1, "step": 1}\n{"lr": 0.2, "st')
assert look() == [{"lr": 0.1, "step": 1}], "a whole record, the one being written held back"
assert look() == [], "nothing new"
write('ep": 2}\nnot a record\n')
assert look() == [{"lr": 0.2, "step": 2}], "the held line completed; a line that is not an object skipped"
write('{"lr": 0.3, "step": 3}')
assert look() == [{"lr": 0.3, "step": 3}], "a last record without its newline is whole"
big = [{"step": 100 + i, "note": "x" * 200} for i in range(1000)]  # ~230 KB: several reads
write("\n" + "\n".join(json.dumps(r) for r in big) + "\n")
assert look() == big, "everything appended since the last look"
write('{"caf\xe9": 1}\n')
assert look() == [{"caf\xe9": 1}], "UTF-8 text"
print("ok")
