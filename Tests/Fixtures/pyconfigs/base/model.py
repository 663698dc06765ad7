model = dict(
    type='FasterRCNN',
    backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN', requires_grad=True), out_indices=(0, 1, 2, 3)))
