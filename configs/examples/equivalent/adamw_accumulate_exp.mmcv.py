# The optimization of adamw_accumulate_exp.mmengine.py, written for MMCV 1.x.
optimizer = dict(
    type='AdamW',
    lr=4e-3,
    betas=(0.9, 0.999),
    weight_decay=0.05,
    paramwise_cfg=dict(norm_decay_mult=0.))
optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2)

lr_config = dict(policy='exp', gamma=0.5)
momentum_config = dict(policy='step', step=[2], gamma=0.5)

runner = dict(type='EpochBasedRunner', max_epochs=3)
