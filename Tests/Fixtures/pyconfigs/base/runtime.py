checkpoint_config = dict(interval=1)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
custom_hooks = [dict(type='NumClassCheckHook')]
custom_imports = dict(imports=['projects.my_hooks'], allow_failed_imports=False)
workflow = [('train', 1)]
evaluation = dict(interval=1, metric='bbox')
