"""Loss and metric curves, and the training time, from mmengine's JSON logs (mmdet's tool).

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json [LOG2.json ...] \
        --keys loss deeplesion/mAP --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json [--include-outliers]

A LOG is a run's ``vis_data/scalars.json`` (or ``vis_data/<timestamp>.json``), or the run's
timestamp folder holding it. Training keys are plotted against the global iteration, validation
keys against the epoch.
"""

import argparse

from mmlesion.visualization.json_logs import load_json_log, plot_log_curves, train_time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    tasks = parser.add_subparsers(dest='task', required=True)

    plot = tasks.add_parser('plot_curve', help='plot scalars of one or more logs')
    plot.add_argument('json_logs', nargs='+', help='JSON logs (or run folders)')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='the scalars to plot')
    plot.add_argument('--legend', nargs='+', help='one name per log and key, log-major')
    plot.add_argument('--title', help='title of the figure')
    plot.add_argument('--out', help='write the figure here (.png, .pdf, ...); else show it')

    timing = tasks.add_parser('cal_train_time', help='seconds per training iteration')
    timing.add_argument('json_logs', nargs='+', help='JSON logs (or run folders)')
    timing.add_argument(
        '--include-outliers',
        action='store_true',
        help="keep each epoch's first logged line (start-up) in the averages",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logs = [load_json_log(path) for path in args.json_logs]
    if args.task == 'plot_curve':
        plot_log_curves(logs, args.keys, out_file=args.out, legend=args.legend, title=args.title)
        if args.out:
            print(f'saved {args.out}')
        return
    for log in logs:
        timing = train_time(log, include_outliers=args.include_outliers)
        print(f'{"-" * 5}Analyze train time of {log.path}{"-" * 5}')
        print(
            f'slowest epoch {timing.slowest_epoch}, '
            f'average time is {timing.epoch_means.max():.4f} s/iter'
        )
        print(
            f'fastest epoch {timing.fastest_epoch}, '
            f'average time is {timing.epoch_means.min():.4f} s/iter'
        )
        print(f'time std over epochs is {timing.std_over_epochs:.4f}')
        print(f'average iter time: {timing.average:.4f} s/iter\n')


if __name__ == '__main__':
    main()
