val_evaluator = dict(type='CocoMetric', metric='bbox', format_only=False)
test_evaluator = dict(type='CocoMetric', metric='bbox', format_only=False)
