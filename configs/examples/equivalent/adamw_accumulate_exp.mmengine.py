# AdamW over windows of 2 accumulated iterations (15 iterations: the last window is one
# iteration, divided by 1), no weight decay on norm layers, the lr halved every epoch
# and the momentum (beta1) halved after the 2nd epoch -- for MMEngine.
#
# adamw_accumulate_exp.mmcv.py and adamw_accumulate_exp.yaml say the same for MMCV 1.x
# and in YAML; all three step identically (ConfigEquivalenceTests).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=4e-3, betas=(0.9, 0.999), weight_decay=0.05),
    accumulative_counts=2,
    paramwise_cfg=dict(norm_decay_mult=0.0))

param_scheduler = [
    dict(type='ExponentialLR', gamma=0.5, by_epoch=True),
    dict(type='MultiStepMomentum', milestones=[2], gamma=0.5, by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=3)
