# mmdetection 2.x's COCO detection data (the shape of configs/_base_/datasets/coco_detection.py,
# pipelines left out): datasets, not loader lengths; hooktrace computes the lengths.
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
data = dict(
    samples_per_gpu=2,
    workers_per_gpu=2,
    train=dict(type=dataset_type, ann_file=data_root + 'annotations/instances_train2017.json',
               img_prefix=data_root + 'train2017/'),
    val=dict(type=dataset_type, ann_file=data_root + 'annotations/instances_val2017.json',
             img_prefix=data_root + 'val2017/'),
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/instances_val2017.json',
              img_prefix=data_root + 'val2017/'))
