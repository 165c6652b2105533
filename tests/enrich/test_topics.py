"""Topics from the shipped models, applied without scikit-learn."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from services.enrich.topics import IPTC, Model, classify, model


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


def _write_model(path: Path, **extra: np.ndarray) -> Model:
    """A two-class model over three terms (economy: bank; sport: goal, match), with optional parts."""
    np.savez(path, vocabulary=np.array(["bank", "goal", "match"]), idf=np.ones(3, dtype=np.float32),
             coef=np.array([[2.0, -1.0, -1.0], [-2.0, 1.0, 1.0]], dtype=np.float32),
             intercept=np.zeros(2, dtype=np.float32), classes=np.array(["Business", "Sports"]),
             iptc=np.array(["medtop:04000000", "medtop:15000000"]), **extra)
    return Model(path)


def test_complement_bayes_is_averaged_in(tmp_path: Path) -> None:
    plain = _write_model(tmp_path / "plain.npz")
    # A complement naive Bayes that reads "goal" the other way: the average of the two moves towards economy
    # and is still a distribution; where it has no opinion ("match": zero weights) it pulls towards even.
    mixed = _write_model(tmp_path / "cnb.npz", coef_cnb=np.array([[0.0, 5.0, 0.0], [0.0, -5.0, 0.0]], dtype=np.float32),
                         intercept_cnb=np.zeros(2, dtype=np.float32))
    assert len(mixed.more) == 1 and not plain.more
    before, after = plain.scores(["goal"]), mixed.scores(["goal"])
    assert before["medtop:15000000"] > 0.5 > after["medtop:15000000"]
    assert abs(sum(after.values()) - 1) < 1e-9
    assert mixed.scores(["match"])["medtop:15000000"] < plain.scores(["match"])["medtop:15000000"]


def test_shipped_english_model_averages_complement_bayes() -> None:
    en = model("en")
    assert en is not None and len(en.more) == 1 and en.more[0][0].shape == en.coef.shape
