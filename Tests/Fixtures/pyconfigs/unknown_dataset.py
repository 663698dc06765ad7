# A dataset hooktrace has no size for: the length must be given (--train-size).
_base_ = ['detector_1x.py']
data = dict(train=dict(ann_file='data/objects365/annotations/zhiyuan_objv2_train.json'))
