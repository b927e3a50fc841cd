"""The new-scanner study (benchmark/new_scanner.py, new_scanner_report.py): a tiny run end to
end (the JSON's shape, resumption, the frozen and the fine-tuned detector's checksums), its
patient subsets and its command line."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from projects.enhancement_benchmark.benchmark.new_scanner import (
    LEARNED,
    NewScannerSeed,
    NewScannerSettings,
    detector_checksum,
    nested_patient_subsets,
    run_study,
    split_patients,
    synthetic_config,
)
from projects.enhancement_benchmark.benchmark.new_scanner_report import PAIRS, plot_path

from .conftest import library_conftest

#: The issue's methods and bootstrap pairs.
ISSUE_METHODS = {'alone', 'tuned_fixed', 'enhancer', 'finetuned', 'oracle'}
ISSUE_PAIRS = {'enhancer-alone', 'enhancer-tuned_fixed', 'finetuned-alone', 'enhancer-finetuned'}


def tiny_settings(work_dir: Path, detector: str, site_a: Path) -> NewScannerSettings:
    """The study on an 8-patient, 96-pixel site B with the tests' tiny models, one epoch of
    four items each, a one-setting grid per family; of the learned variants the paper's and the
    CT-native one (the gated one is the paper's with a flag)."""
    tiny = library_conftest.tiny_detector_config().to_dict()
    data = {f'{s}_dataloader.batch_size': 2 for s in ('train', 'val', 'test')}
    short = {
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'train_dataloader.sampler.num_samples': 4,
    }
    return NewScannerSettings(
        work_dir=str(work_dir / 'study'),
        seeds=(5,),
        detector_checkpoint=detector,
        site_a_data=str(site_a),
        site_b_data=str(work_dir / 'site_b'),
        num_patients=8,
        image_size=96,
        data_workers=1,
        learned={name: LEARNED[name] for name in ('learned_paper', 'learned_window')},
        search_clips=(2.0,),
        search_grids=(8.0,),
        window_levels_hu=(40.0,),
        window_width_scales=(1.0,),
        window_denoise=(0.5,),
        label_sizes=(1, 2),
        null_copies=2,
        bootstrap_resamples=20,
        enhancer_options={
            **data,
            **short,
            'model.detector': tiny,
            'model.data_preprocessor.regressor.input_size': 64,
            'model.data_preprocessor.regressor.base_channels': 4,
            'model.map_delta_interval': 1,
        },
        detector_options={**data, **short, 'model': tiny},
    )


def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope='module')
def tiny_study(data_root, trained_detector, tmp_path_factory):
    """The tiny study run once, then run again (every stage finished): result, second run's
    log, settings, the site-A checkpoint's file hash before the run."""
    work_dir = tmp_path_factory.mktemp('new_scanner')
    settings = tiny_settings(work_dir, trained_detector, data_root)
    before = file_sha256(trained_detector)
    out = work_dir / 'new_scanner.json'
    first_log: list[str] = []
    run_study(settings, out, command='tiny', log=first_log.append)
    again: list[str] = []
    result = run_study(settings, out, command='tiny', log=again.append)
    return {
        'result': result,
        'written': json.loads(out.read_text()),
        'out': out,
        'first_log': first_log,
        'log': again,
        'settings': settings,
        'hash_before': before,
    }


def test_the_json_has_the_issue_shape(tiny_study):
    result = tiny_study['written']
    assert result['command'] == 'tiny' and result['machine']
    (run,) = result['runs']
    assert run['seed'] == 5
    for metric in ('froc_avg', 'map'):
        assert ISSUE_METHODS <= set(run[metric])
        assert {'learned_paper', 'learned_window', 'tta', 'oracle_null'} <= set(run[metric])
        assert {'glcae_tuned', 'clahe_tuned', 'window_tuned'} <= set(run[metric])
        assert all(0 <= v <= 100 for v in run[metric].values())
    # The enhancer is the variant with the best validation metric, and carries its numbers.
    variant = run['enhancer_variant']
    assert variant in ('learned_paper', 'learned_window')
    assert run['froc_avg']['enhancer'] == run['froc_avg'][variant]
    assert run['val_map']['enhancer'] == max(
        run['val_map'][v] for v in ('learned_paper', 'learned_window')
    )
    families = ('identity', 'glcae', 'clahe', 'window')
    assert run['tuned_fixed_choice']['tuned_fixed']['family'] in families
    assert run['tuned_fixed_choice']['window_tuned']['setting'] in ([0, 0], [40, 1, 0.5])
    for pairs in (result['bootstrap'], run['bootstrap']):
        assert ISSUE_PAIRS <= set(pairs)
        for pair in ISSUE_PAIRS:
            for metric in ('map', 'froc_avg'):
                low, high = pairs[pair][metric]
                assert low <= high
    # One run: the pooled interval is the run's own.
    assert result['bootstrap']['enhancer-alone'] == run['bootstrap']['enhancer-alone']
    assert {f'{a}-{b}' for a, b in PAIRS} == set(run['bootstrap'])
    for key in ('site_a_alone_froc_avg', 'site_a_enhancer_froc_avg'):
        assert 0 <= run[key] <= 100
    assert run['shift']['site_a_alone_froc_avg'] == run['site_a_alone_froc_avg']
    assert run['shift']['site_b_alone_froc_avg'] == run['froc_avg']['alone']
    train = str(run['patients']['train'])
    for method in ('enhancer', 'finetuned'):
        assert set(run['label_efficiency'][method]) == {'1', '2', train}
        assert run['label_efficiency'][method][train] == run['froc_avg'][method]
        assert set(result['label_efficiency'][method]) == {'1', '2', train}
    assert result['label_efficiency_alone_froc_avg'] == run['froc_avg']['alone']
    assert {'learned_paper', 'learned_window', 'finetuned', 'enhancer'} <= set(run['train_seconds'])
    assert all(seconds > 0 for seconds in run['train_seconds'].values())
    assert run['tta_seconds_per_image'] > 0
    assert 'records' not in run  # paths of the work folder stay out of the results
    assert plot_path(tiny_study['out']).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_a_finished_stage_is_skipped(tiny_study):
    log = tiny_study['log']
    assert not any(line.endswith('running') for line in log)
    skipped = [line for line in log if 'done before, skipped' in line]
    assert any('[label_efficiency/finetuned_2]' in line for line in skipped)
    assert len(skipped) == 1 + len(NewScannerSeed(tiny_study['settings'], 5).depends) - 1
    assert tiny_study['written'] == tiny_study['result']


def test_finetuning_moves_the_detector_while_the_enhancers_keep_it_frozen(tiny_study):
    (run,) = tiny_study['written']['runs']
    checksums = run['detector_checksums']
    site_a = detector_checksum(tiny_study['settings'].detector_checkpoint)
    assert checksums['site_a'] == site_a
    assert checksums['learned_paper'] == checksums['learned_window'] == site_a
    assert checksums['finetuned'] != site_a
    # The site-A checkpoint file itself is untouched by the study.
    assert file_sha256(tiny_study['settings'].detector_checkpoint) == tiny_study['hash_before']


def test_nested_patient_subsets_are_nested_seeded_and_sized():
    patients = [3, 1, 7, 9, 12, 15, 18, 20, 1]  # a repeat counts once
    subsets = nested_patient_subsets(patients, (2, 4, 8), seed=0)
    assert {n: len(s) for n, s in subsets.items()} == {2: 2, 4: 4, 8: 8}
    assert set(subsets[2]) <= set(subsets[4]) <= set(subsets[8]) <= set(patients)
    assert subsets == nested_patient_subsets(patients, (2, 4, 8), seed=0)
    assert subsets[4] == nested_patient_subsets(patients, (4,), seed=0)[4]
    assert any(nested_patient_subsets(patients, (4,), seed=s)[4] != subsets[4] for s in range(1, 5))
    with pytest.raises(ValueError, match=r'subset of 9 patients .* holds 8'):
        nested_patient_subsets(patients, (9,), seed=0)


def test_the_subsets_come_from_the_train_patients_and_restrict_the_dataset(tiny_study):
    settings = tiny_study['settings']
    root = settings.site_b_root(5)
    patients = split_patients(root)
    assert sum(len(p) for p in patients.values()) == settings.num_patients
    assert not set(patients['train']) & (set(patients['val']) | set(patients['test']))
    stage = Path(settings.work_dir) / 'seed5' / 'label_efficiency' / 'enhancer_2' / 'stage.json'
    record = json.loads(stage.read_text())
    assert set(record['stage_options']['patients']) <= set(patients['train'])
    assert record['num_patients'] == 2 and record['num_train_items'] >= 2


def test_site_b_needs_the_generator_site():
    from mmlesion.datasets.synthetic import SyntheticConfig

    has_sites = any(f.name == 'site' for f in dataclasses.fields(SyntheticConfig))
    if has_sites:
        assert synthetic_config('b', 3, 0, 0.5, 64).site == 'b'
    else:
        with pytest.raises(ValueError, match='no "site" field'):
            synthetic_config('b', 3, 0, 0.5, 64)
    assert synthetic_config('a', 3, 0, 0.5, 64).num_patients == 3


def test_the_settings_check_names_what_is_missing(tmp_path):
    settings = NewScannerSettings(detector_checkpoint=str(tmp_path / 'none.pth'))
    with pytest.raises(FileNotFoundError, match=r'detector checkpoint .*none\.pth'):
        settings.check()


def test_the_command_line_maps_onto_the_settings():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / 'tools' / 'new_scanner.py'
    spec = importlib.util.spec_from_file_location('new_scanner_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    default = tool.settings_from_args(tool.parse_args([]))
    assert default == NewScannerSettings()  # the command line's defaults are the study's
    args = ['--no-window', '--learned', 'learned_paper', 'learned_window', '--label-sizes', '5']
    args += ['--search-clips', '4', '--enhancer-options', '{"train_cfg.max_epochs": 2}']
    settings = tool.settings_from_args(tool.parse_args(args))
    assert settings.window_config is None
    assert list(settings.learned_variants()) == ['learned_paper']  # no CT-native family
    assert settings.label_sizes == (5,) and settings.search_clips == (4.0,)
    assert settings.search_grids == NewScannerSettings().search_grids
    assert settings.enhancer_options == {'train_cfg.max_epochs': 2}
