# A child of three bases (a list, relative paths): nested merge, _delete_, a base variable,
# predefined variables, a tuple, data with loader lengths.
_base_ = ['base/model.py', 'base/schedule.py', 'base/runtime.py']
model = dict(backbone=dict(depth=101, norm_cfg=dict(_delete_=True, type='SyncBN')))
optimizer = dict(lr=0.01, momentum={{_base_.optimizer.momentum}})
lr_config = dict(step=[16, 22])
runner = dict(max_epochs=24)
work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
source = '{{ fileBasename }} in {{fileDirname}} ({{ fileExtname }})'
data = dict(samples_per_gpu=2, train=10, val=4)
