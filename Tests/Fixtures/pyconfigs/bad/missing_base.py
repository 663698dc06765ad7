_base_ = ['../base/schedule.py', 'no_such_base.py']
