# Faster R-CNN R-50-FPN on COCO, MMDetection 3.x style (an MMEngine config): SGD with
# momentum, linear warmup, a multi-step decay, and gradient clipping by norm.
#
# The schedule this produces (8 GPUs x 2 images, N iterations per epoch, N > 500):
#   - iterations 0..499: linear warmup of the lr from 0.02 * 0.001 to 0.02,
#       lr(i) = 0.02 * (0.001 + 0.999 * i / 499)    (2e-5 at 0, ~0.01003 at 250)
#     MMEngine's LinearLR takes end - begin - 1 steps, so it reaches 0.02 at iteration 499;
#   - then 0.02 through the 8th epoch, 0.002 in the 9th to 11th (from iteration 8 N),
#     and 0.0002 in the 12th (from iteration 11 N);
#   - momentum 0.9 throughout; weight decay 1e-4 on every parameter;
#   - gradients clipped to a total L2 norm of 35 before every step;
#   - an EMA of the weights (momentum 2e-4) kept beside them for validation.
#
# Check it: stepwise config check configs/examples/faster-rcnn_r50_fpn_sgd-multistep-clip_1x_coco.py \
#             --params configs/examples/params/faster_rcnn_tiny.yaml --iters-per-epoch 1000
_base_ = [
    './_base_/schedules/schedule_1x.py',
    './_base_/default_runtime.py',
]

# model settings (kept and ignored: Stepwise builds the optimization, not the model)
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_head=dict(type='Shared2FCBBoxHead', num_classes=80)))

dataset_type = 'CocoDataset'
data_root = 'data/coco/'
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/')))

# Merged into the base's optim_wrapper: same SGD, plus clipping.
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))

custom_hooks = [dict(type='EMAHook', momentum=0.0002, priority=49)]
