optimizer = dict(type='SGD', lr=0.02)
lr_config = dict(policy='step', step=undefined_steps)
