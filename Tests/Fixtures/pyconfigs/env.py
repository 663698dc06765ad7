_base_ = 'base/schedule.py'
runner = dict(max_epochs={{'$HOOKTRACE_TEST_EPOCHS:7'}})
