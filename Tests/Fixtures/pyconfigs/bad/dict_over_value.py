_base_ = '../base/schedule.py'
runner = 'EpochBasedRunner'
optimizer_config = dict(grad_clip=dict(max_norm=35))
lr_config = dict(step=dict(a=1))
