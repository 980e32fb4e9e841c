"""The pipeline: the stage manifest (`stages`), from which come `dvc.yaml` and `params.yaml`
(`graph`), the command line of `./run_all.sh` (`run`), one stage's execution (`stage_runner`)
and the choice of data source (`sources`).

May import every other part; nothing imports it but the command line (`cli`).
"""
