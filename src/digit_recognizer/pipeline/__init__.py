"""The pipeline: the stage manifest (`stages`), from which come `dvc.yaml` and `params.yaml`
(`graph`); `./run_all.sh` (`run`) with its options (`options`), DVC as a child process
(`supervise`, its output filtered by `output`), the git checkout it runs in (`checkout`) and
what a finished run leaves (`summary`); one stage's execution (`stage_runner`) and the choice
of data source (`sources`).

May import every other part; nothing imports it but the command line (`cli`).
"""
