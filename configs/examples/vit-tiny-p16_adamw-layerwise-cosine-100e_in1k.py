# A ViT classifier fine-tuned MMPretrain-style (an MMEngine config): AdamW with layer-wise
# learning rates (each block closer to the input learns slower), 5 epochs of linear
# warmup, then a cosine decay; all counted in iterations.
#
# The schedule this produces (base lr 1e-3 = 5e-4 x 1024 / 512, N iterations per epoch):
#   - each parameter's base lr is 1e-3 times its layer's multiplier 0.65 ** depth:
#       head and final norm: 1e-3;  backbone.layers.3: 6.5e-4;  layers.2: 4.225e-4;
#       layers.1: 2.74625e-4;  layers.0: 1.7850625e-4;  patch_embed, cls_token, pos_embed:
#       0.65 ** 5 * 1e-3 = 1.16029...e-4
#   - iterations 0 .. 5N-1: linear warmup of every group from 1e-3 of its base lr,
#       lr(i) = base * (0.001 + 0.999 * i / (5 N - 1))
#     (MMEngine's LinearLR takes end - begin - 1 steps: the base lr is reached at 5N - 1);
#   - iterations 5N .. 100N-1: cosine from each base lr down to 1e-6 over 95 N iterations,
#       lr(i) = 1e-6 + (base - 1e-6) * (1 + cos(pi * (i - 5N) / (95 N))) / 2
#     (the middle, i = 52.5 N, is (base + 1e-6) / 2);
#   - betas (0.9, 0.999) throughout (the momentum is 0.9); gradients clipped to norm 5;
#   - weight decay 0.05, except 0 on cls_token and pos_embed (their keys say so), the
#     final norm and the head's bias. A custom key decides both multipliers of what it
#     matches (as MMEngine's DefaultOptimWrapperConstructor does), so the norms and biases
#     inside backbone.layers.N keep weight decay 0.05.
#
# Check it: stepwise config check configs/examples/vit-tiny-p16_adamw-layerwise-cosine-100e_in1k.py \
#             --params configs/examples/params/vit_tiny.yaml --iters-per-epoch 100
_base_ = './_base_/default_runtime.py'

default_scope = 'mmpretrain'

# model settings (kept and ignored: Stepwise builds the optimization, not the model)
num_layers = 4
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', arch='deit-tiny', img_size=224, patch_size=16,
                  num_layers=num_layers, drop_path_rate=0.1),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=1000, in_channels=192))

# the linear scaling rule: 5e-4 per 512 images, 1024 images per batch
batch_size = 8 * 128
base_lr = 5e-4 * batch_size / 512
layer_decay = 0.65

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            # the longest matching key wins, as in MMEngine
            '.cls_token': dict(lr_mult=layer_decay ** (num_layers + 1), decay_mult=0.0),
            '.pos_embed': dict(lr_mult=layer_decay ** (num_layers + 1), decay_mult=0.0),
            'backbone.patch_embed': dict(lr_mult=layer_decay ** (num_layers + 1)),
            'backbone.layers.0.': dict(lr_mult=layer_decay ** 4),
            'backbone.layers.1.': dict(lr_mult=layer_decay ** 3),
            'backbone.layers.2.': dict(lr_mult=layer_decay ** 2),
            'backbone.layers.3.': dict(lr_mult=layer_decay ** 1),
        }))

warmup_epochs = 5
max_epochs = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
