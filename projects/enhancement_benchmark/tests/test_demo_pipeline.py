"""The main job's stage bookkeeping and report table (the stages themselves run in
test_runner_end_to_end.py and in `make demo`)."""

import json

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


def test_the_benchmarks_optional_stages_run_against_the_right_detector(tmp_path):
    settings = DemoSettings(work_dir=str(tmp_path), noaug=True, noaug_enhancer=True, baselines=True)
    pipeline = RecordingPipeline(settings)
    pipeline.run()
    assert settings.enabled_stages() == STAGES
    assert pipeline.ran[4:10] == [
        'detector_noaug',
        ('enhancer_noaug', 'detector_noaug.pth'),
        ('evaluation_noaug', 'detector_noaug.pth', 'enh_noaug.pth'),
        ('baselines', 'detector.pth'),
        ('baselines_noaug', 'detector_noaug.pth'),
        ('statistics', STAGES[:-2]),
    ]


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
