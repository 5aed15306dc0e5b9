# SimCLR with a ResNet-50, MMSelfSup 0.x style (an MMCV 1.x config): LARS with a cosine
# schedule and linear warmup, over 16 GPUs x 256 images.
#
# The schedule this produces (base lr 4.8 = 0.3 x 4096 / 256, N iterations per epoch):
#   - every epoch e, the regular lr is a cosine from 4.8 down to 0 over 200 epochs:
#       regular(e) = 2.4 * (1 + cos(pi * e / 200))
#     (4.8 at epoch 0, 2.4 at epoch 100, 2.4 * (1 + cos(pi * 199/200)) ~ 0.000296 in the last)
#   - during the first 10 epochs (10 * N iterations) each iteration i is warmed up linearly
#     from 1e-4 of it:  lr(i) = regular(e) * (1 - (1 - i / (10 N)) * (1 - 1e-4))
#     so iteration 0 runs at 4.8e-4, and iteration 10 N at regular(10) ~ 4.77045;
#   - momentum stays 0.9; BN parameters and biases get no weight decay and no LARS
#     adaptation (their lr is the plain lr), everything else weight decay 1e-6.
#
# Check it: stepwise config check configs/examples/simclr_resnet50_16xb256-lars-coslr-200e_in1k.py \
#             --params configs/examples/params/simclr_resnet_tiny.yaml --iters-per-epoch 10
_base_ = [
    './_base_/schedules/lars_coslr-200e_in1k.py',
    './_base_/default_runtime_mmcv.py',
]

# model settings (kept and ignored: Stepwise builds the optimization, not the model)
model = dict(
    type='SimCLR',
    backbone=dict(
        type='ResNet',
        depth=50,
        in_channels=3,
        out_indices=[4],  # 0: conv-1, x: stage-x
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=True),
    neck=dict(
        type='NonLinearNeck',  # SimCLR non-linear neck
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True),
    head=dict(type='ContrastiveHead', temperature=0.1))

samples_per_gpu = 256
data = dict(samples_per_gpu=samples_per_gpu, workers_per_gpu=4)
batch_size = 16 * samples_per_gpu  # 16 GPUs

# optimizer: the linear scaling rule, lr = 0.3 x batch / 256
optimizer = dict(
    type='LARS',
    lr=0.3 * batch_size / 256,
    momentum=0.9,
    weight_decay=1e-6,
    paramwise_options={
        '(bn|gn)(\d+)?.(weight|bias)': dict(weight_decay=0., lars_exclude=True),
        'bias': dict(weight_decay=0., lars_exclude=True),
    })

# runtime settings: keep the 3 newest checkpoints
checkpoint_config = dict(interval=10, max_keep_ckpts=3)
