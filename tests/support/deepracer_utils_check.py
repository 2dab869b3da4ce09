"""Loads a chicane run folder with deepracer-utils' log readers, as the
DeepRacer log-analysis notebooks do, and prints what they found as JSON.

usage: python deepracer_utils_check.py RUN_DIR
"""
import json
import sys

from deepracer.logs import AnalysisUtils, DeepRacerLog

run = sys.argv[1]
out = {}

train = DeepRacerLog(model_folder=run)
out["folder_type"] = train.fh.type.name
train.load_training_trace()
df = train.dataframe()
out["columns"] = sorted(df.columns)
out["rows"] = int(len(df))
out["unique_episodes"] = sorted(int(e) for e in df["unique_episode"].unique())
out["iterations"] = sorted(int(i) for i in df["iteration"].unique())
agg = AnalysisUtils.simulation_agg(df, secondgroup="unique_episode")
out["agg_episodes"] = int(len(agg))
out["agg_max_progress"] = float(agg["progress"].max())
out["agg_min_time"] = float(agg["time"].min())
out["action_space"] = train.action_space()
out["hyperparameters"] = train.hyperparameters()
out["network"] = train.agent_and_network()

ev = DeepRacerLog(model_folder=run)
ev.load_evaluation_trace()
edf = ev.dataframe()
out["eval_rows"] = int(len(edf))
eagg = AnalysisUtils.simulation_agg(edf, firstgroup="stream", is_eval=True)
out["eval_episodes"] = int(len(eagg))
out["eval_progress"] = [float(p) for p in eagg["progress"]]

print(json.dumps(out))
