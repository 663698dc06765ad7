from mmdet.models import ResNet

model = dict(backbone=ResNet)
