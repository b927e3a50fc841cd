# CPU demo enhancer, CT-native family: per-image HU window level / width and Gaussian denoising.
# Results: configs/demo/README.md
_base_ = './enhancer_r18-w16_6e_synth.py'
model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='WindowDenoisePreprocessor',
        regressor=dict(type='WindowDenoiseRegressor', input_size=128, base_channels=16),
    )
)
