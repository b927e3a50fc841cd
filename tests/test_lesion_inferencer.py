"""LesionInferencer and tools/infer.py on a real CT slice (pydicom's CT_small.dcm)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import cv2
import nibabel
import numpy as np
import pydicom
import pytest
import torch
from conftest import DEMO_CONFIGS, DEMO_DETECTOR, REPO_ROOT, tiny_detector_config
from mmdet.registry import MODELS
from mmengine.config import Config
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from mmlesion.apis import LesionInferencer
from mmlesion.utils import register_all_modules

register_all_modules()
CT_SMALL = get_testdata_file('CT_small.dcm')
#: What the test enhancer's regressor outputs for every slice.
ENHANCER_PARAMS = (3.0, 5.0)


@pytest.fixture(scope='module')
def detector(tmp_path_factory):
    """A tiny (untrained) demo detector: its config file and checkpoint."""
    root = tmp_path_factory.mktemp('detector')
    cfg = Config.fromfile(str(DEMO_CONFIGS / 'faster_rcnn_r18-w32_fpn_48e_synth.py'))
    cfg.model = tiny_detector_config()
    cfg.dump(str(root / 'detector.py'))
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, root / 'detector.pth')
    return str(root / 'detector.py'), str(root / 'detector.pth')


@pytest.fixture(scope='module')
def enhancer(tmp_path_factory, detector):
    """An enhancer checkpoint whose regressor always picks ENHANCER_PARAMS, with its config
    stored in meta.cfg as the Runner stores it; and its config file."""
    root = tmp_path_factory.mktemp('enhancer')
    cfg = Config.fromfile(str(DEMO_CONFIGS / 'enhancer_r18-w16_6e_synth.py'))
    cfg.model.detector = tiny_detector_config()
    cfg.model.detector_checkpoint = detector[1]
    cfg.model.data_preprocessor.regressor.update(
        input_size=32, base_channels=4, init_params=ENHANCER_PARAMS
    )
    model = MODELS.build(cfg.model)
    torch.save(
        {'state_dict': model.state_dict(), 'meta': {'cfg': cfg.pretty_text}},
        root / 'enhancer.pth',
    )
    cfg.dump(str(root / 'enhancer.py'))
    return str(root / 'enhancer.py'), str(root / 'enhancer.pth')


def test_detector_alone_on_a_dicom_slice(detector):
    inferencer = LesionInferencer(*detector, device='cpu', score_thr=0.0)
    (result,) = inferencer(CT_SMALL)
    assert result.slice_name == 'CT_small.dcm' and result.slice_index == 0
    assert result.clahe_clip_limit is None and result.clahe_grid_size is None
    assert result.display.shape == (128, 128)
    assert result.detections, 'an untrained detector still returns scored boxes at threshold 0'
    spacing = 0.661468
    for detection in result.detections:
        x1, y1, x2, y2 = detection.bbox_px
        assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 128
        assert detection.label == 'lesion' and 0.0 <= detection.score <= 1.0
        assert detection.long_side_mm == pytest.approx(max(x2 - x1, y2 - y1) * spacing)
        assert detection.short_side_mm == pytest.approx(min(x2 - x1, y2 - y1) * spacing)


def test_enhancer_chooses_the_parameters_and_changes_the_slice(detector, enhancer):
    plain = LesionInferencer(*detector, device='cpu')(CT_SMALL)[0]
    inferencer = LesionInferencer(*detector, enhancer_checkpoint=enhancer[1], device='cpu')
    (result,) = inferencer(CT_SMALL)
    assert result.clahe_clip_limit == pytest.approx(ENHANCER_PARAMS[0], abs=1e-4)
    assert result.clahe_grid_size == pytest.approx(ENHANCER_PARAMS[1], abs=1e-4)
    assert abs(result.display - plain.display).mean() > 0.01

    # The same from the enhancer's config and checkpoint alone.
    (again,) = LesionInferencer(*enhancer, device='cpu')(CT_SMALL)
    assert again.clahe_clip_limit == pytest.approx(ENHANCER_PARAMS[0], abs=1e-4)
    assert [d.bbox_px for d in again.detections] == [d.bbox_px for d in result.detections]


def test_a_series_is_batched_and_written_out(detector, enhancer, tmp_path):
    folder = tmp_path / 'series'
    folder.mkdir()
    uid = generate_uid()
    for k, z in enumerate([5.0, 0.0, 10.0]):
        ds = pydicom.dcmread(CT_SMALL)
        ds.SeriesInstanceUID, ds.SOPInstanceUID = uid, generate_uid()
        ds.ImagePositionPatient = [0.0, 0.0, z]
        ds.save_as(folder / f'slice{k}.dcm')
    inferencer = LesionInferencer(*detector, enhancer_checkpoint=enhancer[1], device='cpu')
    results = inferencer(folder, batch_size=2, out_dir=tmp_path / 'out')
    assert [r.slice_name for r in results] == ['slice1.dcm', 'slice0.dcm', 'slice2.dcm']
    records = json.loads((tmp_path / 'out' / 'predictions.json').read_text())['slices']
    assert len(records) == 3 and 'display' not in records[0]
    assert records[0]['clahe_clip_limit'] == pytest.approx(ENHANCER_PARAMS[0], abs=1e-4)
    # Named by position (input 0, slices in position order), not by the files' names.
    assert [r['image'] for r in records] == ['i0_s000.png', 'i0_s001.png', 'i0_s002.png']
    assert sorted(p.name for p in (tmp_path / 'out').glob('*.png')) == [r['image'] for r in records]


def resampling_inferencer(detector, tmp_path, target_spacing_mm: float) -> LesionInferencer:
    """The test detector with a ``RescaleToSpacing`` step in its test pipeline."""
    cfg = Config.fromfile(detector[0])
    pipeline = cfg.test_dataloader.dataset.pipeline
    pipeline.insert(2, {'type': 'RescaleToSpacing', 'target_spacing_mm': target_spacing_mm})
    cfg.test_dataloader.dataset.pipeline = pipeline
    cfg.dump(str(tmp_path / 'resampling.py'))
    return LesionInferencer(str(tmp_path / 'resampling.py'), detector[1], device='cpu')


def test_resampling_config_needs_a_spacing(detector, tmp_path):
    inferencer = resampling_inferencer(detector, tmp_path, 1.0)
    (result,) = inferencer(CT_SMALL)
    # 0.66 mm pixels resampled to 1 mm and the boxes mapped back to the original pixels.
    assert result.display.shape == (128, 128)
    assert all(math.isfinite(v) for v in result.spacing_mm)
    ds = pydicom.dcmread(CT_SMALL)
    del ds.PixelSpacing
    ds.save_as(tmp_path / 'no_spacing.dcm')
    with pytest.raises(ValueError, match='pixel spacing is unknown'):
        inferencer(tmp_path / 'no_spacing.dcm')


def test_infer_tool_writes_json_and_png(detector, enhancer, tmp_path):
    command = [
        sys.executable,
        str(REPO_ROOT / 'tools' / 'infer.py'),
        CT_SMALL,
        '--config',
        detector[0],
        '--checkpoint',
        detector[1],
        '--enhancer-checkpoint',
        enhancer[1],
        '--out',
        str(tmp_path),
        '--device',
        'cpu',
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert '1 slice(s)' in done.stdout
    assert (tmp_path / 'predictions.json').is_file()
    assert (tmp_path / 'i0_s000.png').is_file()


# -- inputs that once gave silently wrong or lost output ----------------------------------------
def ct_small_volume(num_slices: int) -> np.ndarray:
    """CT_small's HU repeated as ``(S, 128, 128)`` slices, each a little brighter."""
    ds = pydicom.dcmread(CT_SMALL)
    hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return np.stack([hu + 5.0 * k for k in range(num_slices)])


def save_volume(path, slices: np.ndarray, spacing=(0.66, 0.66, 5.0)) -> None:
    """``(S, rows, columns)`` display-oriented slices as a float32 RAS+ NIfTI."""
    data = slices.transpose(2, 1, 0)[::-1, ::-1, :]  # the inverse of read_nifti_volume
    nibabel.save(nibabel.Nifti1Image(data.astype(np.float32), np.diag([*spacing, 1.0])), path)


def assert_same_detections(a, b) -> None:
    """The same boxes and scores (sorted: near-tied scores of an untrained detector may swap)."""
    rows = [np.array(sorted((*d.bbox_px, d.score) for d in r.detections)) for r in (a, b)]
    np.testing.assert_allclose(rows[0], rows[1], atol=1e-3)


def test_nan_voxels_stay_on_their_slice_whatever_the_batch(detector, tmp_path):
    clean = ct_small_volume(5)
    patched = clean.copy()
    patched[2, 40:50, 40:50] = np.nan
    save_volume(tmp_path / 'clean.nii.gz', clean)
    save_volume(tmp_path / 'nan.nii.gz', patched)
    inferencer = LesionInferencer(*detector, device='cpu', score_thr=0.0)
    named = r'100 NaN/Inf voxel\(s\) on 1 slice.*nan\.nii\.gz\[2\] \(100\)'
    with pytest.warns(RuntimeWarning, match=named):
        batched = inferencer(tmp_path / 'nan.nii.gz', batch_size=5)
    with pytest.warns(RuntimeWarning, match='NaN/Inf'):
        one_by_one = inferencer(tmp_path / 'nan.nii.gz', batch_size=1)
    reference = inferencer(tmp_path / 'clean.nii.gz', batch_size=5)
    assert [r.non_finite_voxels for r in batched] == [0, 0, 100, 0, 0]
    for a, b in zip(batched, one_by_one, strict=True):
        assert_same_detections(a, b)
        assert a.detections, 'every slice still gets scored boxes at threshold 0'
    # Slices 0 and 4 do not reach slice 2 through their 2.5D neighbours (5 mm apart, 2 mm
    # interval): they are detected exactly as without the NaN patch.
    for k in (0, 4):
        assert_same_detections(batched[k], reference[k])


def test_every_slice_of_a_volume_gets_its_own_png_and_inputs_never_collide(detector, tmp_path):
    save_volume(tmp_path / 'ct.nii.gz', ct_small_volume(3))
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        pydicom.dcmread(CT_SMALL).save_as(tmp_path / name / 'slice.dcm')
    inputs = [tmp_path / 'ct.nii.gz', tmp_path / 'a' / 'slice.dcm', tmp_path / 'b' / 'slice.dcm']
    inferencer = LesionInferencer(*detector, device='cpu')
    inferencer(inputs, out_dir=tmp_path / 'out')
    assert sorted(p.name for p in (tmp_path / 'out').glob('*.png')) == [
        'i0_s000.png',
        'i0_s001.png',
        'i0_s002.png',
        'i1_s000.png',
        'i2_s000.png',
    ]
    inferencer(inputs, out_dir=tmp_path / 'named', record_paths=True)
    assert sorted(p.name for p in (tmp_path / 'named').glob('*.png')) == [
        'ct_000.png',
        'ct_001.png',
        'ct_002.png',
        'slice_slice.png',
        'slice_slice_2.png',
    ]


def test_unknown_spacing_is_null_in_strict_json(detector, tmp_path):
    series = tmp_path / 'Images_png' / '000001_01_01'
    series.mkdir(parents=True)
    for index, hu in enumerate(ct_small_volume(3)):
        cv2.imwrite(str(series / f'{index:03d}.png'), (hu + 32768).astype(np.uint16))
    inferencer = LesionInferencer(*detector, device='cpu', score_thr=0.0)
    # The demo detector reads the key slice alone, so the unknown slice distance costs nothing.
    inferencer(series / '001.png', out_dir=tmp_path / 'out')

    def refuse(constant):
        raise AssertionError(f'{constant} is not JSON')

    text = (tmp_path / 'out' / 'predictions.json').read_text()
    (record,) = json.loads(text, parse_constant=refuse)['slices']
    assert record['spacing_mm'] == [None, None, None]
    assert record['detections'] and record['detections'][0]['long_side_mm'] is None


def test_enhancer_checkpoint_given_as_the_detector_checkpoint_is_refused(detector, enhancer):
    with pytest.raises(ValueError, match=r'enhancer\.pth is a trained enhancer.*--config'):
        LesionInferencer(detector[0], enhancer[1], device='cpu')


def test_each_checkpoint_file_is_read_once(detector, enhancer, monkeypatch):
    reads = []
    load = torch.load

    def counting_load(f, *args, **kwargs):
        reads.append(str(f))
        return load(f, *args, **kwargs)

    monkeypatch.setattr(torch, 'load', counting_load)
    LesionInferencer(*detector, enhancer_checkpoint=enhancer[1], device='cpu')
    assert sorted(reads) == sorted([detector[1], enhancer[1]])
    reads.clear()
    # The whole enhancer checkpoint holds the detector and the regressor: read once for both.
    LesionInferencer(*enhancer, device='cpu')
    assert reads == [enhancer[1]]


def test_a_spacing_that_would_resample_past_the_limit_is_refused(detector, tmp_path):
    inferencer = resampling_inferencer(detector, tmp_path, 0.8)
    with pytest.raises(ValueError, match=r'16000 pixels wide \(limit 4096\)'):
        inferencer(CT_SMALL, spacing_mm=(100.0, 100.0, 5.0))


def test_infer_tool_selects_a_series_and_shows_progress(detector, tmp_path):
    folder = tmp_path / 'mixed'
    folder.mkdir()
    uids = [generate_uid(), generate_uid()]
    for k, uid in enumerate([uids[0], uids[0], uids[1]]):
        ds = pydicom.dcmread(CT_SMALL)
        ds.SeriesInstanceUID, ds.SOPInstanceUID = uid, generate_uid()
        ds.ImagePositionPatient = [0.0, 0.0, 5.0 * k]
        ds.save_as(folder / f'slice{k}.dcm')
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'infer.py'), str(folder)]
    command += ['--config', detector[0], '--checkpoint', detector[1], '--device', 'cpu']
    command += ['--out', str(tmp_path / 'out'), '--series-uid', uids[0]]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert '2 slice(s)' in done.stdout
    assert '2/2' in done.stderr and 'slice' in done.stderr  # the progress bar


def test_a_full_disk_keeps_the_previous_runs_predictions(tmp_path, full_disk):
    from mmlesion.apis.lesion_inferencer import SliceResult, write_results

    def result(index: int) -> SliceResult:
        display = np.zeros((8, 8), np.float32)
        return SliceResult('ct.nii.gz', f'ct.nii.gz[{index}]', index, (1.0, 1.0, 2.0), None, None,
                           display=display)  # fmt: skip

    write_results([result(0)], tmp_path)
    first = (tmp_path / 'predictions.json').read_text()
    full_disk('predictions.json')
    with pytest.raises(OSError, match='No space left'):
        write_results([result(0), result(1)], tmp_path)
    assert (tmp_path / 'predictions.json').read_text() == first
    assert [r['slice_index'] for r in json.loads(first)['slices']] == [0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['i0_s000.png', 'predictions.json']


# -- the predictions.json contract: schema, no names, provenance, operating point --------------
SCHEMA = json.loads((REPO_ROOT / 'docs' / 'en' / 'predictions.schema.json').read_text())


@pytest.mark.parametrize('record_paths', [False, True])
def test_predictions_json_follows_its_schema(detector, enhancer, tmp_path, record_paths):
    from json_schema_subset import schema_errors

    inferencer = LesionInferencer(*detector, enhancer_checkpoint=enhancer[1], device='cpu')
    inferencer(CT_SMALL, out_dir=tmp_path, record_paths=record_paths)
    document = json.loads((tmp_path / 'predictions.json').read_text())
    assert schema_errors(document, SCHEMA) == []
    assert document['notice'].startswith('Research use only')
    assert document['operating_point'] == {'chosen_by': 'default', 'score_thr': 0.3}
    (record,) = document['slices']
    assert record['id'] == 'i0_s000' and (tmp_path / record['image']).is_file()
    assert ('source' in record) == record_paths == document['paths_recorded']
    # The validator is not a rubber stamp.
    record['detections'] = [{'bbox_px': [1, 2, 3], 'score': 2.0, 'label': 'lesion'}]
    errors = schema_errors(document, SCHEMA)
    assert any('minItems' in e for e in errors) and any('maximum' in e for e in errors)
    assert any("missing 'long_side_mm'" in e for e in errors)


def test_no_patient_name_in_any_output_unless_asked(detector, tmp_path):
    name = 'DOE^JANE_19500101'
    folder = tmp_path / f'{name}_CT'
    folder.mkdir()
    pydicom.dcmread(CT_SMALL).save_as(folder / f'{name}.dcm')
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'infer.py'), str(folder)]
    command += ['--config', detector[0], '--checkpoint', detector[1], '--device', 'cpu']
    for out, extra in ((tmp_path / 'plain', []), (tmp_path / 'named', ['--record-paths'])):
        done = subprocess.run(
            [*command, '--out', str(out), *extra],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
        )
        assert done.returncode == 0, done.stderr
    plain = list((tmp_path / 'plain').iterdir())
    assert len(plain) == 2  # predictions.json and one PNG
    for path in plain:
        assert b'DOE' not in path.read_bytes() and 'DOE' not in path.name, path
    assert name in (tmp_path / 'named' / 'predictions.json').read_text()
    assert any(name in p.name for p in (tmp_path / 'named').iterdir())


def test_outputs_do_not_depend_on_the_input_name(detector, tmp_path):
    """The PNG's title is drawn into its pixels, where no grep finds it: two inputs that
    differ only in their names give byte-identical outputs."""
    inferencer = LesionInferencer(*detector, device='cpu')
    for name in ('SMITH_JOHN', 'ROE_RICHARD'):
        (tmp_path / name).mkdir()
        pydicom.dcmread(CT_SMALL).save_as(tmp_path / name / f'{name}.dcm')
        inferencer(tmp_path / name / f'{name}.dcm', out_dir=tmp_path / f'out_{name}')
    for file in ('predictions.json', 'i0_s000.png'):
        first, second = (tmp_path / f'out_{n}' / file for n in ('SMITH_JOHN', 'ROE_RICHARD'))
        assert first.read_bytes() == second.read_bytes(), file


def test_weights_from_synthetic_data_are_flagged(detector, tmp_path, mmengine_log):
    from mmlesion.datasets.provenance import describe_training_data
    from mmlesion.datasets.synthetic import SIDECAR_NAME

    synthetic_root, real_root = tmp_path / 'synthetic', tmp_path / 'real'
    for root in (synthetic_root, real_root):
        root.mkdir()
        (root / 'DL_info.csv').write_text('')
    (synthetic_root / SIDECAR_NAME).write_text('')
    state = torch.load(detector[1])['state_dict']
    for root in (synthetic_root, real_root):
        training_data = describe_training_data({'type': 'DeepLesionDataset', 'data_root': root})
        torch.save({'state_dict': state, 'meta': {'training_data': training_data}},
                   tmp_path / f'{root.name}.pth')  # fmt: skip

    inferencer = LesionInferencer(detector[0], str(tmp_path / 'synthetic.pth'), device='cpu')
    inferencer(CT_SMALL, out_dir=tmp_path / 'out')
    document = json.loads((tmp_path / 'out' / 'predictions.json').read_text())
    (warning,) = document['warnings']
    assert 'SYNTHETIC' in warning
    assert any(m.startswith('WARNING') and 'SYNTHETIC' in m for m in mmengine_log)
    training_data = document['model']['training_data']['checkpoint']
    assert training_data == {'dataset': 'DeepLesionDataset', 'synthetic': True}  # no data root

    assert LesionInferencer(detector[0], str(tmp_path / 'real.pth'), device='cpu').warnings == []
    # An old checkpoint (the fixture's: no meta) says nothing of its data.
    (note,) = LesionInferencer(*detector, device='cpu').warnings
    assert note.startswith('training data unknown')


def test_fp_per_image_needs_a_sidecar_for_these_weights(detector, tmp_path):
    from mmlesion.apis.operating_points import write_operating_points

    checkpoint = tmp_path / 'detector.pth'
    checkpoint.write_bytes(open(detector[1], 'rb').read())
    with pytest.raises(FileNotFoundError, match=r'detector\.pth\.operating_points\.json not found.*'
                       r'tools/analysis_tools/operating_point\.py'):  # fmt: skip
        LesionInferencer(detector[0], str(checkpoint), device='cpu', fp_per_image=4)
    point = {'fp_per_image': 4.0, 'score_thr': 0.6, 'measured_fp_per_image': 3.5,
             'sensitivity': 0.5}  # fmt: skip
    sidecar = tmp_path / 'detector.pth.operating_points.json'
    checkpoints = {'checkpoint': str(checkpoint), 'enhancer_checkpoint': None}
    write_operating_points({'split': 'val', 'operating_points': [point]}, checkpoints, sidecar)
    inferencer = LesionInferencer(detector[0], str(checkpoint), device='cpu', fp_per_image=4)
    assert inferencer.score_thr == 0.6
    assert inferencer.operating_point['measured_fp_per_image'] == 3.5
    with pytest.raises(ValueError, match=r'no operating point at 2 .*it holds \[4\.0\]'):
        LesionInferencer(detector[0], str(checkpoint), device='cpu', fp_per_image=2)
    # An explicit threshold is used as given.
    explicit = LesionInferencer(detector[0], str(checkpoint), device='cpu', score_thr=0.1)
    assert explicit.operating_point == {'chosen_by': 'score_thr', 'score_thr': 0.1}
    # Other weights under the same name: the thresholds are not theirs.
    checkpoint.write_bytes(checkpoint.read_bytes() + b'retrained')
    with pytest.raises(ValueError, match='measured with other weights'):
        LesionInferencer(detector[0], str(checkpoint), device='cpu', fp_per_image=4)


@pytest.mark.parametrize('score_thr', [math.nan, -0.1, 1.5])
def test_a_score_threshold_outside_zero_one_is_refused(score_thr):
    # NaN dropped every detection without a word (no score compares >= NaN). Refused before the
    # checkpoint is read: none is needed here.
    config = str(DEMO_CONFIGS / DEMO_DETECTOR)
    with pytest.raises(ValueError, match=r'score_thr \(--score-thr\) must lie in \[0, 1\]'):
        LesionInferencer(config, 'no_such_checkpoint.pth', device='cpu', score_thr=score_thr)


def test_a_gated_enhancers_alpha_is_recorded_and_valid():
    from json_schema_subset import schema_errors

    from mmlesion.apis.lesion_inferencer import SliceResult
    from mmlesion.apis.predictions_json import slice_record

    gated = SliceResult('ct.nii.gz', 'ct.nii.gz[0]', 0, (1.0, 1.0, 2.0), 2.0, 8.0, clahe_alpha=0.25)
    plain = SliceResult('ct.nii.gz', 'ct.nii.gz[0]', 0, (1.0, 1.0, 2.0), 2.0, 8.0)
    assert slice_record(gated, 'i0_s000.png', False)['clahe_alpha'] == 0.25
    assert slice_record(plain, 'i0_s000.png', False)['clahe_alpha'] is None
    slice_schema = {**SCHEMA['$defs']['slice'], '$defs': SCHEMA['$defs']}
    assert schema_errors(slice_record(gated, 'i0_s000.png', False), slice_schema) == []
    too_much = SliceResult('ct.nii.gz', 'ct.nii.gz[0]', 0, (1.0, 1.0, 2.0), 2.0, 8.0, clahe_alpha=2)
    assert any(
        'maximum' in e for e in schema_errors(slice_record(too_much, 'x.png', False), slice_schema)
    )


def test_the_ct_native_enhancers_parameters_are_recorded_and_valid():
    from json_schema_subset import schema_errors

    from mmlesion.apis.lesion_inferencer import SliceResult
    from mmlesion.apis.predictions_json import slice_record

    def window_result(**params) -> SliceResult:
        return SliceResult('ct.nii.gz', 'ct.nii.gz[0]', 0, (1.0, 1.0, 2.0), None, None, **params)

    chosen = {'window_level_offset_hu': -20.0, 'window_width_scale': 0.7, 'denoise_strength': 0.3}
    record = slice_record(window_result(**chosen), 'i0_s000.png', False)
    assert {k: record[k] for k in chosen} == chosen
    assert record['clahe_clip_limit'] is None
    plain = slice_record(window_result(), 'i0_s000.png', False)
    assert all(plain[k] is None for k in chosen)
    slice_schema = {**SCHEMA['$defs']['slice'], '$defs': SCHEMA['$defs']}
    assert schema_errors(record, slice_schema) == []
    assert schema_errors(plain, slice_schema) == []
    too_much = slice_record(window_result(**{**chosen, 'denoise_strength': 1.5}), 'x.png', False)
    assert any('maximum' in e for e in schema_errors(too_much, slice_schema))
