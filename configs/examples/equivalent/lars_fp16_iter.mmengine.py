# LARS, SimCLR-style: biases and BN parameters without weight decay or LARS adaptation;
# mixed precision with a static loss scale of 512; windows of 2 accumulated iterations;
# 12 iterations, the lr halved after iterations 6 and 9 -- for MMEngine.
#
# lars_fp16_iter.mmcv.py (MMSelfSup 0.x: regex paramwise_options, DistOptimizerHook's
# update_interval, a top-level fp16) and lars_fp16_iter.yaml (the MMCV layout in YAML)
# say the same; all three step identically (ConfigEquivalenceTests).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale=512.,
    accumulative_counts=2,
    optimizer=dict(type='LARS', lr=0.3, momentum=0.9, weight_decay=1e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bias': dict(decay_mult=0., lars_exclude=True),
            'bn': dict(decay_mult=0., lars_exclude=True),
        }))

param_scheduler = dict(type='MultiStepLR', by_epoch=False, milestones=[6, 9], gamma=0.5)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=12, val_interval=4)
