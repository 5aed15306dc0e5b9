# The optimization of lars_fp16_iter.mmengine.py, written for MMSelfSup 0.x (MMCV 1.x).
optimizer = dict(
    type='LARS',
    lr=0.3,
    momentum=0.9,
    weight_decay=1e-6,
    paramwise_options={
        'bias': dict(weight_decay=0., lars_exclude=True),
        'bn': dict(weight_decay=0., lars_exclude=True),
    })
optimizer_config = dict(update_interval=2)  # MMSelfSup's DistOptimizerHook
fp16 = dict(loss_scale=512.)

lr_config = dict(policy='step', by_epoch=False, step=[6, 9], gamma=0.5)

runner = dict(type='IterBasedRunner', max_iters=12)
