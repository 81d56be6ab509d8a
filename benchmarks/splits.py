"""The one train/test split used for every fitted number (fusion weights, refusal model).

RGB zh_refine: ids 0-199 train, ids 200-299 test (the held-out third).
RealTime QA 2022: weeks 20220617-20220916 train (131 questions), weeks 20220923-20221111 test (75):
chronological, so the test questions are about later news than anything fitted on.
"""

from __future__ import annotations

RGB_TRAIN_MAX_ID = 199
RTQA_TRAIN_LAST_WEEK = "20220916"

DESCRIPTION = {
    "rgb_zh": "train: RGB zh_refine ids 0-199; test: ids 200-299",
    "realtimeqa": "train: RealTime QA weeks 20220617-20220916; test: weeks 20220923-20221111",
}


def is_train(set_name: str, group: str) -> bool:
    if set_name.startswith("rgb"):
        return int(group) <= RGB_TRAIN_MAX_ID
    return group <= RTQA_TRAIN_LAST_WEEK
