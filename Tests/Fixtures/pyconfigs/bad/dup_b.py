optimizer = dict(type='Adam', lr=0.001)
