"""Writes the byte fixtures of the shim protocol's decoder tests
(Tests/HooktraceTests/Live/ShimDecoderTests.swift): batches as the shim sends them,
serialised by CPython's own marshal (version 4, as the shim's flush), and damaged ones.

Update mode: `python3 Tests/Fixtures/protocol/make.py` rewrites every *.marshal here;
review the diff like code (the tests say what each item must decode to).
"""
import marshal
import os

here = os.path.dirname(os.path.abspath(__file__))

# One of each item the shim sends (docs/SHIM.md, "Tuples"), in a plausible order.
well_formed = [
    '["stage",0,"before_train_iter"]',
    '["stage",1,"after_train_iter"]',
    '["lr_source",0,"",0,"ParamSchedulerHook"]',
    (0, 0, 0, 5, 5, 1, 1000),                     # a call
    2,                                            # a plain optimizer step (protocol 3)
    (2, False, None),                             # accumulating
    (2, True, 1.5, "generator"),                  # stepped, clipped, a named wrapper
    (5, 1, 0, 5, 5, 1, 2000, 0, 0.01, "loss", 0.5, "acc", 1),  # after_train_iter, lr changed
    (5, 1, 0, 6, 6, 1, 3000 + (1 << 40), 0, None, "loss", 0.25),  # lr unchanged; a large time
    (3, "", 0, 0.1, "ParamSchedulerHook"),
    (4, "", 0, 0.85, "ParamSchedulerHook"),
    (1, 2, 0.9, "coco/bbox_mAP"),
    (1, 1, 4, "num_samples"),
]

# Items of known shapes the recorder cannot use, each reported and never guessed at.
malformed = [
    (0, "not-a-stage-id", 0, 0, 0, 0, 0),         # call tuple of the wrong types
    (5, 1, 0, 7, 7, 1, 4000, 9, 0.02, "loss", 0.5),  # an lr from an undefined source
    (5, 1, 0, 7, 7, 1, 4000, 0, "fast", "loss", 0.5),  # an lr that is not a number
    (5, 1, 0, 7, 7, 1, 4000, 0, None, 3, 0.5),     # a value's name that is not a string
    7,                                            # a bare int other than 2
    (1, 0, 1.0),                                  # no tuple of that shape
    (2, "yes", None),                             # stepped that is not a bool
    (3, "", "g", 0.1, "ParamSchedulerHook"),      # a group index that is not an int
    "not json",
    '{"kind": "an object, not an array"}',
]

# Protocol 4: mmengine's after_train_iter rows (6, …) whose step values come in the
# batch's column items (7, ROWS, NAME, [VALUE…], …) after them.
columns = [
    '["stage",0,"before_train_iter"]',
    '["stage",1,"after_train_iter"]',
    '["lr_source",0,"",0,"ParamSchedulerHook"]',
    (6, 1, 0, 7, 7, 1, 5000, 0, 0.02),            # a row, lr changed
    (0, 0, 0, 8, 8, 1, 5500),                     # a call between rows
    (6, 1, 0, 8, 8, 1, 6000, 0, None),            # a row, lr unchanged
    (7, 2, "loss", [0.5, 0.25], "acc", [1, None]),  # the two rows' values, a column per name
    (6, 1, 0, 9, 9, 1, 7000, 0, None),            # the next run of rows
    (3, "", 0, 0.1, "ParamSchedulerHook"),        # any item between a row and its columns
    (7, 1, "loss", [0.125]),
    (6, 1, 0, 10, 10, 1, 8000, -1, None),         # several param groups: a row naming no source,
    (3, "", 1, 0.05, "ParamSchedulerHook"),       # their changes after it
    (7, 1, "loss", [0.0625]),
]

# Columns that do not fit their rows, and rows whose columns never come: reported; the
# rows keep their calls.
columns_malformed = [
    '["stage",1,"after_train_iter"]',
    (6, 1, 0, 1, 1, 1, 100, 0, None),
    (7, 2, "loss", [0.5, 0.6]),                   # two rows said, one before it
    (6, 1, 0, 2, 2, 1, 200, 0, None),
    (7, 1, "loss", [0.5, 0.6]),                   # a column of the wrong length
    (6, 1, 0, 3, 3, 1, 300, 0, None),
    (7, 1, 3, [0.5]),                             # a name that is not a string
    (6, 1, 0, 4, 4, 1, 400, 0, None),             # no columns after it
]


# Protocol 5: rows carry the counted wrapper's counter (the steps since the last count go
# before the row), `(9, COUNT)` outside rows, a `counter` message sets the base; log
# bytes `(8, HOOK, BYTES)`, split into records by the recorder.
counted = [
    '["stage",1,"after_train_iter"]',
    '["lr_source",0,"",0,"ParamSchedulerHook"]',
    '["counter",40]',
    (6, 1, 0, 1, 1, 1, 100, 0, None, 41),           # one step
    (6, 1, 0, 2, 2, 1, 200, 0, None, 41),           # none (a step skipped)
    (9, 44),                                        # three outside a row
    (6, 1, 0, 3, 3, 1, 300, 0, 0.5, None),          # no counted wrapper
    (7, 3, "loss", [0.5, 0.25, 0.125]),
    (9, 10),                                        # went back: a new base, no steps
    (9, 11),                                        # one
    (8, "LoggerHook", b'{"lr": 0.1, "step": 1}\n{"lr": 0.2, "st'),
    (8, "LoggerHook", b'ep": 2, "nested": {"a": [1, 2]}}\nnot a record\n{"bad": }\n'),
    (8, "LoggerHook", b'{"step": 3}'),              # a whole record without its newline
]

counted_malformed = [
    (9, 5),                                         # a count before any base
    (9, "five"),                                    # a count that is not an int
    (6, 1, 0, 1, 1, 1, 100, 0, None, "x"),          # a row's count that is not an int
    (8, "LoggerHook", "text, not bytes"),
    (8, 3, b"{}\n"),                                # a hook name that is not a string
]


def write(name, data):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)


write("well_formed.marshal", marshal.dumps(well_formed, 4))
write("malformed.marshal", marshal.dumps(malformed, 4))
write("columns.marshal", marshal.dumps(columns, 4))
write("columns_malformed.marshal", marshal.dumps(columns_malformed, 4))
write("counted.marshal", marshal.dumps(counted, 4))
write("counted_malformed.marshal", marshal.dumps(counted_malformed, 4))
whole = marshal.dumps(well_formed, 4)
write("truncated.marshal", whole[: len(whole) // 2])  # a batch cut off mid-item
write("not_a_list.marshal", marshal.dumps("[\"hello\",{}]", 4))  # a message alone, not in a batch
