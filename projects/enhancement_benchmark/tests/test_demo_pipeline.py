"""The main job's stage bookkeeping and report table (the stages themselves run in
test_runner_end_to_end.py and in `make demo`)."""

import json

import pytest

from projects.enhancement_benchmark.benchmark.demo import STAGES, DemoPipeline, DemoSettings
from projects.enhancement_benchmark.benchmark.demo_report import comparison_table, percent


class RecordingPipeline(DemoPipeline):
    """Stages replaced by recorders: which ran, with which inputs."""

    def __init__(self, settings):
        super().__init__(settings, log=lambda message: None)
        self.ran = []

    def generate_data(self):
        self.ran.append('data')
        return {'data_root': 'd'}

    def train_detector(self, config=None, stage='detector'):
        self.ran.append(stage)
        return {'checkpoint': f'{stage}.pth', 'log_dir': 'l'}

    def train_enhancer(self, detector_checkpoint, suffix=''):
        self.ran.append(('enhancer' + suffix, detector_checkpoint))
        return {'checkpoint': f'enh{suffix}.pth', 'log_dir': 'l'}

    def evaluate(self, detector_checkpoint, enhancer_checkpoint):
        self.ran.append(('evaluation', detector_checkpoint, enhancer_checkpoint))
        return {'test': {}}

    def evaluate_noaug(self, detector_checkpoint, enhancer_checkpoint):
        self.ran.append(('evaluation_noaug', detector_checkpoint, enhancer_checkpoint))
        return {'test': {}}

    def baselines(self, detector_checkpoint, suffix=''):
        self.ran.append(('baselines' + suffix, detector_checkpoint))
        return {'test': {}}

    def train_gated(self, detector_checkpoint, suffix=''):
        self.ran.append(('enhancer_gated' + suffix, detector_checkpoint))
        return {'checkpoint': f'gated{suffix}.pth', 'test': {}}

    def check_gate(self, detector_checkpoint, gated_checkpoint, suffix=''):
        self.ran.append(('gate_check' + suffix, detector_checkpoint, gated_checkpoint))
        return {'checkpoint': f'checked{suffix}.pth', 'test': {}}

    def train_policy(self, detector_checkpoint, suffix=''):
        self.ran.append(('policy' + suffix, detector_checkpoint))
        return {'checkpoint': f'policy{suffix}.pth', 'test': {}}

    def train_policy_ap(self, detector_checkpoint, suffix=''):
        self.ran.append(('policy_ap' + suffix, detector_checkpoint))
        return {'checkpoint': f'policy_ap{suffix}.pth', 'test': {}}

    def evaluate_tta(self, detector_checkpoint, suffix=''):
        self.ran.append(('tta' + suffix, detector_checkpoint))
        return {'test': {}}

    def statistics(self, stages):
        self.ran.append(('statistics', tuple(stages)))
        return {}

    def report(self, stages):
        self.ran.append('report')
        return {'ok': True}


CORE = ('data', 'detector', 'enhancer', 'evaluation', 'statistics', 'report')


def test_stages_run_in_order_and_pass_their_outputs(tmp_path):
    pipeline = RecordingPipeline(DemoSettings(work_dir=str(tmp_path)))
    pipeline.run()
    assert pipeline.ran == [
        'data',
        'detector',
        ('enhancer', 'detector.pth'),
        ('evaluation', 'detector.pth', 'enh.pth'),
        ('statistics', ('data', 'detector', 'enhancer', 'evaluation')),
        'report',
    ]
    assert DemoSettings().enabled_stages() == CORE
    for stage in STAGES:
        marker = tmp_path / stage / 'stage.json'
        assert marker.is_file() == (stage in CORE), stage
        if stage in CORE:
            assert 'elapsed_s' in json.loads(marker.read_text())


def test_the_benchmarks_optional_stages_run_against_the_right_detector(tmp_path, monkeypatch):
    from projects.enhancement_benchmark.benchmark import demo

    monkeypatch.setattr(demo, 'tta_module', lambda: None)  # benchmark/tta.py is written apart
    settings = DemoSettings(
        work_dir=str(tmp_path),
        noaug=True,
        noaug_enhancer=True,
        baselines=True,
        gated=True,
        policy=True,
        tta=True,
    )
    pipeline = RecordingPipeline(settings)
    pipeline.run()
    assert settings.enabled_stages() == STAGES
    assert pipeline.ran[4:20] == [
        'detector_noaug',
        ('enhancer_noaug', 'detector_noaug.pth'),
        ('evaluation_noaug', 'detector_noaug.pth', 'enh_noaug.pth'),
        ('baselines', 'detector.pth'),
        ('baselines_noaug', 'detector_noaug.pth'),
        ('enhancer_gated', 'detector.pth'),
        ('enhancer_gated_noaug', 'detector_noaug.pth'),
        ('gate_check', 'detector.pth', 'gated.pth'),
        ('gate_check_noaug', 'detector_noaug.pth', 'gated_noaug.pth'),
        ('policy', 'detector.pth'),
        ('policy_noaug', 'detector_noaug.pth'),
        ('policy_ap', 'detector.pth'),
        ('policy_ap_noaug', 'detector_noaug.pth'),
        ('tta', 'detector.pth'),
        ('tta_noaug', 'detector_noaug.pth'),
        ('statistics', STAGES[:-2]),
    ]


def test_issue_29_stages_are_off_by_default_and_follow_the_noaug_switch():
    assert not {'enhancer_gated', 'policy', 'tta'} & set(DemoSettings().enabled_stages())
    main_only = DemoSettings(gated=True, policy=True, tta=True).enabled_stages()
    assert {'enhancer_gated', 'gate_check', 'policy', 'policy_ap', 'tta'} <= set(main_only)
    assert not any(stage.endswith('_noaug') for stage in main_only)
    # A preset without the configs (the GPU one) skips the gated enhancer and the policy.
    gpu = DemoSettings.from_preset('paper_gpu', gated=True, policy=True, noaug=True)
    assert not {'enhancer_gated', 'policy', 'policy_ap'} & set(gpu.enabled_stages())


def test_a_new_detector_reruns_the_issue_29_stages_in_front_of_it(tmp_path):
    settings = DemoSettings(work_dir=str(tmp_path), gated=True, policy=True)
    RecordingPipeline(settings).run()
    (tmp_path / 'detector' / 'stage.json').unlink()
    again = RecordingPipeline(settings)
    again.run()
    assert [r if isinstance(r, str) else r[0] for r in again.ran] == [
        'detector',
        'enhancer',
        'evaluation',
        'enhancer_gated',
        'gate_check',
        'policy',
        'policy_ap',
        'statistics',
        'report',
    ]


def test_the_tta_stage_names_its_missing_module(tmp_path, monkeypatch):
    import sys

    from projects.enhancement_benchmark.benchmark import demo

    monkeypatch.setitem(sys.modules, demo.TTA_MODULE, None)  # as if the file were absent
    with pytest.raises(ModuleNotFoundError, match=r'benchmark/tta\.py.*--no-tta'):
        demo.tta_module()
    pipeline = RecordingPipeline(DemoSettings(work_dir=str(tmp_path), tta=True))
    with pytest.raises(ModuleNotFoundError, match='evaluate_tta'):
        pipeline.run()
    assert pipeline.ran == []  # before any stage


def test_finished_stages_are_skipped_on_a_rerun(tmp_path):
    RecordingPipeline(DemoSettings(work_dir=str(tmp_path))).run()
    again = RecordingPipeline(DemoSettings(work_dir=str(tmp_path)))
    again.run()
    assert again.ran == []


def test_a_missing_stage_reruns_it_and_everything_after(tmp_path):
    RecordingPipeline(DemoSettings(work_dir=str(tmp_path))).run()
    (tmp_path / 'enhancer' / 'stage.json').unlink()
    again = RecordingPipeline(DemoSettings(work_dir=str(tmp_path)))
    again.run()
    assert again.ran[0] == ('enhancer', 'detector.pth')
    assert [r if isinstance(r, str) else r[0] for r in again.ran] == [
        'enhancer',
        'evaluation',
        'statistics',
        'report',
    ]


def test_enabling_the_baselines_later_reruns_only_what_reads_them(tmp_path):
    RecordingPipeline(DemoSettings(work_dir=str(tmp_path))).run()  # make demo
    later = RecordingPipeline(DemoSettings(work_dir=str(tmp_path), baselines=True))
    later.run()
    assert [r if isinstance(r, str) else r[0] for r in later.ran] == [
        'baselines',
        'statistics',
        'report',
    ]


def test_force_reruns_everything(tmp_path):
    RecordingPipeline(DemoSettings(work_dir=str(tmp_path))).run()
    again = RecordingPipeline(DemoSettings(work_dir=str(tmp_path), force=True))
    again.run()
    assert len(again.ran) == len(CORE)


def test_comparison_table_in_percent():
    table = comparison_table(
        {'identity': {'deeplesion/mAP': 0.1234, 'deeplesion/sens@16': float('nan')}},
        {'identity': 'detector alone'},
    )
    header, _, row = table.splitlines()
    assert header.startswith('| method | mAP | AP50 |')
    assert row.startswith('| detector alone | 12.34 | n/a |')
    assert percent(float('nan')) == 'n/a' and percent(0.5) == '50.00'


class TrainingPipeline(RecordingPipeline):
    """The real detector stage, ``train_and_test.train`` replaced by a recorder of its resume."""

    train_detector = DemoPipeline.train_detector


def _record_resume(monkeypatch):
    from projects.enhancement_benchmark.benchmark import train_and_test

    calls = []

    def fake_train(config, work_dir, cfg_options=None, desc='', seed=None, resume=None):
        calls.append((desc, resume))
        return train_and_test.TrainResult(work_dir, f'{work_dir}/best.pth', 'log', 0.0)

    monkeypatch.setattr(train_and_test, 'train', fake_train)
    return calls


def test_an_interrupted_training_stage_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    calls = _record_resume(monkeypatch)
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'stage.json').write_text('{"data_root": "d"}')
    (tmp_path / 'detector').mkdir()
    (tmp_path / 'detector' / 'last_checkpoint').write_text('epoch_12.pth')  # killed at 12
    record = TrainingPipeline(DemoSettings(work_dir=str(tmp_path))).run()
    assert record['ok']
    assert calls == [('detector', 'auto')]
    stage = json.loads((tmp_path / 'detector' / 'stage.json').read_text())
    assert stage['resumed'] is True


def test_a_training_stage_starts_over_with_force_or_new_data(tmp_path, monkeypatch):
    calls = _record_resume(monkeypatch)
    (tmp_path / 'detector').mkdir()
    (tmp_path / 'detector' / 'last_checkpoint').write_text('epoch_12.pth')
    TrainingPipeline(DemoSettings(work_dir=str(tmp_path))).run()  # the data stage ran first
    (tmp_path / 'detector' / 'stage.json').unlink()
    TrainingPipeline(DemoSettings(work_dir=str(tmp_path), force=True)).run()
    (tmp_path / 'detector' / 'stage.json').unlink()
    TrainingPipeline(DemoSettings(work_dir=str(tmp_path))).run()  # same data, no force
    assert calls == [('detector', None), ('detector', None), ('detector', 'auto')]


def test_baselines_rerun_when_their_selection_options_change(tmp_path):
    def settings(**selection):
        return DemoSettings(work_dir=str(tmp_path), baselines=True, selection=selection)

    RecordingPipeline(settings()).run()
    same = RecordingPipeline(settings())
    same.run()
    assert same.ran == []
    wider = RecordingPipeline(settings(include_identity=True, alphas=(0.0, 1.0)))
    wider.run()
    assert ('baselines', 'detector.pth') in wider.ran
    marker = json.loads((tmp_path / 'baselines' / 'stage.json').read_text())
    assert marker['stage_options'] == {'include_identity': True, 'alphas': [0.0, 1.0]}
    again = RecordingPipeline(settings(include_identity=True, alphas=(0.0, 1.0)))
    again.run()
    assert again.ran == []


def test_issue_29_stages_on_the_tiny_data_feed_the_statistics_and_the_record(
    data_root, trained_detector, tmp_path, monkeypatch
):
    """The real stage functions on the tiny data set (test-time augmentation stood in for by
    the detector alone): each tests its method, dumps its predictions, and the statistics stage
    bootstraps the issue-29 pairs from them."""
    from types import SimpleNamespace

    from mmlesion.utils.safe_pickle import load_predictions
    from projects.enhancement_benchmark.benchmark import demo, train_and_test
    from projects.enhancement_benchmark.benchmark.synthetic_benchmark import seed_record

    from .conftest import REPO_ROOT, enhancer_options

    options = enhancer_options(data_root, trained_detector)
    del options['model.detector_checkpoint']  # the stage passes its detector
    settings = DemoSettings(
        work_dir=str(tmp_path),
        data_root=str(data_root),
        identity_config=str(REPO_ROOT / 'configs/demo/baselines/identity_synth.py'),
        gated_config=str(REPO_ROOT / DemoSettings.gated_config),
        policy_config=str(REPO_ROOT / DemoSettings.policy_config),
        enhancer_options=options,
        policy_options={
            **options,
            'model.data_preprocessor.regressor.settings': [None, (2.0, 8.0), (4.0, 4.0)],
            'policy_training.epochs': 1,
            'policy_training.batch_size': 4,
        },
        bootstrap_resamples=50,
    )
    pipeline = DemoPipeline(settings, log=lambda message: None)
    identity = pipeline._test_method(
        'identity',
        settings.identity_config,
        trained_detector,
        {**options, 'model.data_preprocessor.regressor': None},
        'evaluation',
    )
    gated = pipeline.train_gated(trained_detector)
    checked = pipeline.check_gate(trained_detector, gated['checkpoint'])
    assert set(checked['test']) == {'learned_gated_checked'}
    assert checked['gate']['split'] == 'val' and checked['gate']['num_slices'] > 0
    assert (tmp_path / 'gate_check' / 'gate_checked.pth').is_file()
    policy = pipeline.train_policy(trained_detector)
    tables = sorted(p.name for p in (tmp_path / 'policy').glob('loss_table_*.npz'))
    policy_ap = pipeline.train_policy_ap(trained_detector)
    # The second policy trains from the first one's tables, on 1 - slice AP.
    assert not list((tmp_path / 'policy_ap').glob('loss_table_*.npz'))
    assert tables == ['loss_table_train.npz', 'loss_table_val.npz']
    assert set(policy_ap['test']) == {'policy_ap'}
    assert policy_ap['training']['training']['loss'] == 'slice_ap'
    assert policy['training']['training']['loss'] == 'detector_loss'
    calls = []

    def evaluate_tta(config, checkpoint, data_root, work_dir, cfg_options, out, desc):
        calls.append((config, checkpoint, desc))
        test_options = {**options, 'model.data_preprocessor.regressor': None}
        metrics = train_and_test.test(
            settings.identity_config, checkpoint, work_dir, test_options, out=out
        )
        return {'metrics': metrics, 'seconds_per_image': 0.5, 'num_views': 4}

    monkeypatch.setattr(demo, 'tta_module', lambda: SimpleNamespace(evaluate_tta=evaluate_tta))
    tta = pipeline.evaluate_tta(trained_detector)
    assert calls == [(settings.detector_config, trained_detector, 'tta')]
    assert tta['timing'] == {'seconds_per_image': 0.5, 'num_views': 4}
    assert set(gated['test']) == {'learned_gated'} and set(policy['test']) == {'policy'}
    assert 'deeplesion/mAP' in gated['test']['learned_gated']
    with open(gated['predictions']['learned_gated'], 'rb') as f:
        assert all('clahe_alpha' in p for p in load_predictions(f))
    choices = policy['choices']
    assert choices['num_slices'] > 0 and 0.0 <= choices['share_off_most_common'] < 1.0
    assert policy['training']['best_epoch'] == 1
    stages = {
        'evaluation': identity,
        'enhancer_gated': gated,
        'gate_check': checked,
        'policy': policy,
        'policy_ap': policy_ap,
        'tta': tta,
    }
    statistics = pipeline.statistics(stages)
    pairs = {
        'learned_gated-identity',
        'learned_gated_checked-identity',
        'policy-identity',
        'policy_ap-identity',
        'tta-identity',
    }
    assert set(statistics['bootstrap']) == pairs
    report = {
        'machine': 'cpu',
        'test': {
            **identity['test'],
            **gated['test'],
            **checked['test'],
            **policy['test'],
            **policy_ap['test'],
            **tta['test'],
        },
        'predictions': {**gated['predictions'], **policy['predictions']},
        'policy_choices': {'policy': choices},
        'tta_timing': {'tta': tta['timing']},
        'bootstrap': statistics['bootstrap'],
        'enhancer_curve': {},
        'timing': {},
        'stage_seconds': {},
    }
    record = seed_record(settings, report)
    assert set(record['map']) == {
        'identity',
        'learned_gated',
        'learned_gated_checked',
        'policy',
        'policy_ap',
        'tta',
    }
    assert set(record['liver_map']) == set(record['map'])
    alpha = record['gated_parameters']['learned_gated']['alpha']
    assert 0.0 <= alpha['min'] <= alpha['mean'] <= alpha['max'] <= 1.0
    assert record['policy_choices']['policy'] == choices
    assert set(record['bootstrap']) == pairs
    assert record['tta_timing'] == {'tta': tta['timing']}


def test_a_policy_stage_that_starts_over_recomputes_its_loss_tables(tmp_path, monkeypatch):
    from projects.enhancement_benchmark.benchmark import policy_training

    tables = tmp_path / 'policy'
    tables.mkdir()
    (tables / 'loss_table_train.npz').write_bytes(b'of an earlier detector')
    seen = []

    def fake_train(
        config,
        detector_checkpoint,
        work_dir,
        cfg_options=None,
        seed=None,
        loss=None,
        tables_dir=None,
    ):
        seen.append(sorted(p.name for p in tables_dir.glob('loss_table_*.npz')))
        raise RuntimeError('stop after the tables')

    monkeypatch.setattr(policy_training, 'train_policy_from_config', fake_train)
    resumed = DemoPipeline(DemoSettings(work_dir=str(tmp_path)), log=lambda message: None)
    with pytest.raises(RuntimeError, match='stop'):
        resumed.train_policy('detector.pth')
    forced = DemoPipeline(DemoSettings(work_dir=str(tmp_path), force=True), log=print)
    with pytest.raises(RuntimeError, match='stop'):
        forced.train_policy('detector.pth')
    assert seen == [['loss_table_train.npz'], []]
    # The second policy reads the first one's tables and never deletes them.
    (tables / 'loss_table_train.npz').write_bytes(b'of this detector')
    with pytest.raises(RuntimeError, match='stop'):
        forced.train_policy_ap('detector.pth')
    assert seen[-1] == ['loss_table_train.npz']


def test_the_report_merges_the_issue_29_stages_methods_choices_and_timing():
    from projects.enhancement_benchmark.benchmark.demo_report import (
        _by_method,
        _merged,
        _policy_and_tta_lines,
    )

    choices = {
        'num_slices': 8,
        'most_common': 'identity',
        'share_off_most_common': 0.25,
        'by_profile': {'noisy': {'most_common': 'clip2_grid8', 'share_of_most_common': 0.5}},
        'profile_information': 0.3,
    }
    stages = {
        'evaluation': {'test': {'identity': {}}, 'predictions': {'identity': 'i.pkl'}},
        'policy_noaug': {
            'test': {'policy_noaug': {}},
            'predictions': {'policy_noaug': 'p.pkl'},
            'choices': choices,
        },
        'tta': {'test': {'tta': {}}, 'timing': {'seconds_per_image': 0.02}},
        'enhancer_gated': {'test': {'learned_gated': {}}},
    }
    assert list(_merged(stages, 'test')) == ['identity', 'learned_gated', 'tta', 'policy_noaug']
    assert _merged(stages, 'predictions') == {'identity': 'i.pkl', 'policy_noaug': 'p.pkl'}
    results = {
        'policy_choices': _by_method(stages, 'policy', 'choices'),
        'tta_timing': _by_method(stages, 'tta', 'timing'),
    }
    assert results['policy_choices'] == {'policy_noaug': choices}
    lines = _policy_and_tta_lines(results)
    assert lines[0].endswith(
        ': 25.0 % of 8 test slices off the most common setting (identity); most common by '
        'profile: noisy clip2_grid8 (50 %); profile information 0.30.'
    )
    assert lines[2] == 'detector alone + test-time augmentation: 20.0 ms/img.'
    assert _policy_and_tta_lines({'policy_choices': {}, 'tta_timing': {}}) == []
