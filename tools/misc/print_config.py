"""Print a config after its ``_base_`` files and ``--cfg-options`` are merged (mmdet's tool).

python tools/misc/print_config.py CONFIG [--cfg-options key=value ...] [--save-path FULL.py]
"""

import argparse

from mmengine.config import DictAction

from mmlesion.utils import load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config fields: key=value'
    )
    parser.add_argument(
        '--save-path', help='also write the whole config here (.py, .json or .yaml/.yml)'
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        if not args.save_path.endswith(('.py', '.json', '.yaml', '.yml')):
            raise ValueError(
                f'--save-path must end with .py, .json, .yaml or .yml, got {args.save_path!r}'
            )
        cfg.dump(args.save_path)
        print(f'saved to {args.save_path}')


if __name__ == '__main__':
    main()
