"""The workspace's theme classifier: for each theme with enough human-confirmed examples, a logistic
regression over TF-IDF of the comment's lemmas (and lemma pairs), trained with scikit-learn and stored as
plain numbers (apps.surveys.models.ThemeClassifier), so predicting needs neither sklearn nor a pickle.

Examples are what people decided (apps.surveys.themes.services): a theme a person put on a comment is a
positive; a theme a person took off, or left off a comment whose themes they reviewed, is a negative. A theme
is learned once it has MIN_POSITIVES and MIN_NEGATIVES; its precision and recall are measured on held-out
examples (stratified k-fold: every example is predicted by a model that never saw it) and shown beside it.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

from apps.core.nlp.lemmas import lemmas

MIN_POSITIVES = 10
MIN_NEGATIVES = 10
MAX_FOLDS = 5
MIN_WEIGHT = 1e-4  # coefficients smaller than this are dropped from the stored model


def terms(comment: str, language: str) -> list[str]:
    """The features of a comment: its lemmas and each pair of neighbouring lemmas."""
    words = lemmas(comment, language)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@dataclasses.dataclass(frozen=True)
class Quality:
    positives: int
    negatives: int
    precision: float | None
    recall: float | None
    active: bool


@dataclasses.dataclass
class Model:
    vocabulary: dict[str, int]
    idf: list[float]
    weights: dict[int, tuple[dict[int, float], float]]  # theme id → (coef by term index, intercept)

    def vector(self, features: list[str]) -> dict[int, float]:
        """TF-IDF as scikit-learn computes it (sublinear tf, smoothed idf, l2 norm) for the known terms."""
        counts = Counter(self.vocabulary[t] for t in features if t in self.vocabulary)
        values = {i: (1 + math.log(c)) * self.idf[i] for i, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values()))
        return {i: v / norm for i, v in values.items()} if norm else {}

    def predict(self, features: list[str]) -> set[int]:
        """The themes whose probability is at least one half (decision value ≥ 0)."""
        vector = self.vector(features)
        found = set()
        for theme_id, (coef, intercept) in self.weights.items():
            if intercept + sum(coef.get(i, 0.0) * v for i, v in vector.items()) >= 0:
                found.add(theme_id)
        return found

    def as_json(self) -> dict:
        return {"vocabulary": self.vocabulary, "idf": self.idf,
                "weights": {str(t): {"coef": {str(i): w for i, w in coef.items()}, "intercept": b} for t, (coef, b) in self.weights.items()}}

    @classmethod
    def from_json(cls, vocabulary: dict, idf: list, weights: dict) -> Model:
        return cls(vocabulary=vocabulary, idf=idf,
                   weights={int(t): ({int(i): w for i, w in spec["coef"].items()}, spec["intercept"]) for t, spec in weights.items()})


def train(examples: list[tuple[list[str], dict[int, bool]]], theme_ids: list[int]) -> tuple[Model | None, dict[int, Quality]]:
    """Train on `examples` — (features, {theme id: has it}) per reviewed comment — a model for each theme with
    enough of both kinds; returns the model (None when no theme qualifies) and every theme's quality."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import precision_score, recall_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    quality: dict[int, Quality] = {}
    counts = {t: (sum(1 for _, labels in examples if labels.get(t) is True), sum(1 for _, labels in examples if labels.get(t) is False))
              for t in theme_ids}
    learnable = [t for t in theme_ids if counts[t][0] >= MIN_POSITIVES and counts[t][1] >= MIN_NEGATIVES]
    for t in theme_ids:
        quality[t] = Quality(counts[t][0], counts[t][1], None, None, False)
    if not learnable:
        return None, quality
    vectorizer = TfidfVectorizer(analyzer=lambda features: features, sublinear_tf=True)
    matrix = vectorizer.fit_transform([features for features, _ in examples])
    weights = {}
    for t in learnable:
        rows = [i for i, (_, labels) in enumerate(examples) if t in labels]
        y = np.array([examples[i][1][t] for i in rows], dtype=int)
        x = matrix[rows]
        folds = StratifiedKFold(n_splits=min(MAX_FOLDS, counts[t][0], counts[t][1]), shuffle=True, random_state=0)
        model = LogisticRegression(class_weight="balanced", max_iter=1000)
        held_out = cross_val_predict(model, x, y, cv=folds)
        model.fit(x, y)
        coef = {int(i): float(w) for i, w in enumerate(model.coef_[0]) if abs(w) >= MIN_WEIGHT}
        weights[t] = (coef, float(model.intercept_[0]))
        quality[t] = Quality(counts[t][0], counts[t][1], float(precision_score(y, held_out, zero_division=0)),
                             float(recall_score(y, held_out, zero_division=0)), True)
    vocabulary = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
    return Model(vocabulary=vocabulary, idf=[float(v) for v in vectorizer.idf_], weights=weights), quality
