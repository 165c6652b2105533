"""Topics from the shipped models, applied without scikit-learn."""

from __future__ import annotations

import sys

from services.enrich.topics import IPTC, classify


def test_english_and_chinese_topics() -> None:
    sport = classify("Manchester United beat Chelsea 2-1 in the Premier League on Saturday, "
                     "with a late goal from the striker.", "en")
    assert sport[0].code == "medtop:15000000" and sport[0].label == "sport" and sport[0].label_zh == "体育"
    assert 0 < sport[0].score <= 1
    business = classify("Shares fell on Wall Street as the central bank raised interest rates and oil prices rose.", "en")
    assert business[0].code == "medtop:04000000"
    assert classify("国足2比1击败对手 晋级世界杯预选赛下一轮", "zh")[0].code == "medtop:15000000"
    assert classify("央行宣布降息 股市大涨 银行股领涨", "zh")[0].code == "medtop:04000000"


def test_topics_are_ranked_and_labelled() -> None:
    topics = classify("The government and parliament debated the election law as ministers met.", "en")
    assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
    assert all(t.code in IPTC for t in topics)


def test_no_model_no_topic_and_no_sklearn_at_run_time() -> None:
    assert classify("東京都は新しい交通計画を発表しました", "ja") == []
    assert classify("", "en") == []
    assert "sklearn" not in sys.modules or "services.enrich.train.train_topics" in sys.modules
