_base_ = '../base/schedule.py'
lr_config = dict(_delete_=True, policy='cyclic', target_ratio=[10, 1e-4], cyclic_times=1, step_ratio_up=0.4)
