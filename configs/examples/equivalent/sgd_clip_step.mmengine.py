# SGD with Nesterov momentum, biases at twice the lr and without weight decay, gradients
# clipped to norm 1, a constant warmup at a quarter of the lr for the first 3
# iterations, and the lr halved after the 2nd and the 3rd epoch -- for MMEngine.
#
# sgd_clip_step.mmcv.py and sgd_clip_step.yaml say the same for MMCV 1.x and in YAML:
# all three build the same wrapper and param groups and step identically, bit for bit
# (Tests/StepwiseTests/ConfigEquivalenceTests.swift). The factors are powers of two, for
# which MMEngine's step-by-step products and MMCV's closed forms round alike.
#
# MMEngine's ConstantLR takes end - begin - 1 steps and restores the lr at the last, so
# the factor holds for iterations begin .. end - 2: end=4 covers iterations 0, 1 and 2,
# as MMCV's warmup_iters=3 does.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.08, momentum=0.9, weight_decay=1e-4, nesterov=True),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.0))

param_scheduler = [
    dict(type='ConstantLR', factor=0.25, by_epoch=False, begin=0, end=4),
    dict(type='MultiStepLR', milestones=[2, 3], gamma=0.5, by_epoch=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=1)
