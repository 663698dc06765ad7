# mmengine's reading and changing of base variables in code: `_base_.x` (attribute access),
# changes and deletions made in place; and two keys bound to one dict, which the merge
# parts (test_evaluator keeps the base's keys, val_evaluator is replaced).
_base_ = ['base/schedule.py', 'base/runtime.py', 'base/evaluators.py']
_base_.optimizer.type = 'AdamW'
del _base_.optimizer_config
lr = _base_.optimizer.lr * 2
val_evaluator = dict(_delete_=True, type='CocoMetric', metric='segm')
test_evaluator = val_evaluator
import math
warmup = math.floor(2.5)
