# MMSelfSup 0.x schedule (MMCV 1.x runner): LARS, 10 epochs of linear warmup, then a
# cosine decay per epoch to 0 over the 200 epochs.

# optimizer
optimizer = dict(type='LARS', lr=4.8, weight_decay=1e-6, momentum=0.9)
optimizer_config = dict()  # no gradient clipping, no accumulation

# learning policy
lr_config = dict(
    policy='CosineAnnealing',
    min_lr=0.,
    warmup='linear',
    warmup_iters=10,
    warmup_ratio=1e-4,  # the first iteration runs at lr * 1e-4
    warmup_by_epoch=True)  # warmup_iters counts epochs

# runtime settings
runner = dict(type='EpochBasedRunner', max_epochs=200)
