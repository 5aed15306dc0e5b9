# The optimization of sgd_clip_step.mmengine.py, written for MMCV 1.x.
optimizer = dict(
    type='SGD', lr=0.08, momentum=0.9, weight_decay=1e-4, nesterov=True,
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
optimizer_config = dict(grad_clip=dict(max_norm=1.0, norm_type=2))

lr_config = dict(
    policy='step',
    step=[2, 3],
    gamma=0.5,
    warmup='constant',
    warmup_iters=3,
    warmup_ratio=0.25)

runner = dict(type='EpochBasedRunner', max_epochs=4)
