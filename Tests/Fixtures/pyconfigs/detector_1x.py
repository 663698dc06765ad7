# An mmdetection 2.x detector config: COCO datasets, a 1x schedule, no `evaluation` key
# (tools/train.py then registers EvalHook with its defaults).
_base_ = ['datasets/coco_detection.py', 'base/schedule.py']
checkpoint_config = dict(interval=1)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
workflow = [('train', 1)]
