# A base given as a string; a key replaced whole; _delete_ on a key the base lacks stays
# (both frameworks pop it only where the base has the key).
_base_ = './child.py'
lr_config = dict(_delete_=True, policy='CosineAnnealing', min_lr=0, by_epoch=False)
extra = dict(_delete_=True, kept=1)
checkpoint_config = dict(max_keep_ckpts=3)
