"""The main job's stage bookkeeping and report table (the stages themselves run in
test_runner_end_to_end.py and in `make demo`)."""

import json

from mmlesion.experiments.demo import STAGES, DemoPipeline, DemoSettings
from mmlesion.experiments.demo_report import comparison_table, percent


class RecordingPipeline(DemoPipeline):
    """Stages replaced by recorders: which ran, with which inputs."""

    def __init__(self, settings):
        super().__init__(settings, log=lambda message: None)
        self.ran = []

    def generate_data(self):
        self.ran.append('data')
        return {'data_root': 'd'}

    def train_detector(self):
        self.ran.append('detector')
        return {'checkpoint': 'det.pth', 'log_dir': 'l'}

    def train_enhancer(self, detector_checkpoint):
        self.ran.append(('enhancer', detector_checkpoint))
        return {'checkpoint': 'enh.pth', 'log_dir': 'l'}

    def evaluate(self, detector_checkpoint, enhancer_checkpoint):
        self.ran.append(('evaluation', detector_checkpoint, enhancer_checkpoint))
        return {'test': {}}

    def report(self, data, detector, enhancer, evaluation):
        self.ran.append('report')
        return {'ok': True}


def test_stages_run_in_order_and_pass_their_outputs(tmp_path):
    pipeline = RecordingPipeline(DemoSettings(work_dir=str(tmp_path)))
    pipeline.run()
    assert pipeline.ran == [
        'data',
        'detector',
        ('enhancer', 'det.pth'),
        ('evaluation', 'det.pth', 'enh.pth'),
        'report',
    ]
    for stage in STAGES:
        record = json.loads((tmp_path / stage / 'stage.json').read_text())
        assert 'elapsed_s' in record


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
    assert again.ran == [('enhancer', 'det.pth'), ('evaluation', 'det.pth', 'enh.pth'), 'report']


def test_force_reruns_everything(tmp_path):
    RecordingPipeline(DemoSettings(work_dir=str(tmp_path))).run()
    again = RecordingPipeline(DemoSettings(work_dir=str(tmp_path), force=True))
    again.run()
    assert len(again.ran) == len(STAGES)


def test_comparison_table_in_percent():
    table = comparison_table(
        {'identity': {'deeplesion/mAP': 0.1234, 'deeplesion/sens@16': float('nan')}},
        {'identity': 'detector alone'},
    )
    header, _, row = table.splitlines()
    assert header.startswith('| method | mAP | AP50 |')
    assert row.startswith('| detector alone | 12.34 | n/a |')
    assert percent(float('nan')) == 'n/a' and percent(0.5) == '50.00'
