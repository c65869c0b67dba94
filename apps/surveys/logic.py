"""Survey logic (issue 20 item 1): pages, rules that show a question only on earlier answers, and endings per
branch. All of it lives on the version (`Question.new_page`, `Question.show_if`, `SurveyVersion.endings`), so a
published version's flow never changes, like its questions.

A rule (`show_if`, an ending's `when`) is `{"match": "all" | "any", "rules": [rule, …]}`; `{}` (or no rules)
means always. One rule reads one earlier question by key:

    {"question": "nps", "op": "between", "min": 0, "max": 6}     score questions (a band of the scale)
    {"question": "reason", "op": "any_of", "values": ["price"]}  choice questions (one of these chosen)
    {"question": "reason", "op": "none_of", "values": ["price"]} choice questions (answered, none of these)
    {"question": "comment", "op": "answered"}                    any question
    {"question": "comment", "op": "not_answered"}                any question (skipped, or not shown)

Pages: a question with `new_page` starts a page (the first question always does). **A question's rule may only
read questions of earlier pages**: the server knows every answer it reads before it draws the page (the flow works
without JavaScript, on the kiosk and in the embed), no rule can be circular, and a required question can never
appear on a page the respondent was sent to without the answers that decide it. A question not shown is never
required and its answer, if a form still carries one (the respondent went back and changed an earlier answer),
is dropped. A page whose questions are all hidden is skipped.

Endings: `SurveyVersion.endings` is a list of `{"key", "when", "texts": {lang: {"title", "thanks"}}}`; the first
whose rule holds on the submitted answers is shown instead of the version's own thank-you text. Their rules may
read any question.

`logic_problems` lists what stops a version being published: a rule on a question that is not in the version
(deleted, or its key changed), on a question of the same or a later page, an operator that does not suit the
question's type, a choice the question does not offer, a band outside its scale, a rule that can never hold
(unreachable question or ending), an ending that an earlier unconditional ending always pre-empts.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable

from apps.surveys.models import SCALES, Question, QuestionType

OPS = ("between", "any_of", "none_of", "answered", "not_answered")
SCORE_OPS = ("between", "answered", "not_answered")
CHOICE_OPS = ("any_of", "none_of", "answered", "not_answered")
TEXT_OPS = ("answered", "not_answered")
MAX_RULES = 10
CHOICE_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE)
SCORE_TYPES = (*SCALES, QuestionType.RATING)


class LogicError(ValueError):
    """A rule that is not well formed (shape, operator, values); the message says what to fix."""


# --- the shape of a rule -------------------------------------------------------------------------

def question_scale(question: Question) -> tuple[int, int]:
    """The inclusive range of a scored or rating question."""
    if question.type == QuestionType.RATING:
        options = question.options if isinstance(question.options, dict) else {}
        try:
            low, high = int(options.get("min", 1)), int(options.get("max", 5))
        except (TypeError, ValueError):
            return 1, 5
        return (low, high) if low < high else (1, 5)
    return SCALES[question.type]


def question_choice_values(question: Question) -> list[str]:
    options = question.options
    items = options if isinstance(options, list) else (options.get("choices", []) if isinstance(options, dict) else [])
    return [str(item["value"]) for item in items if isinstance(item, dict) and "value" in item]


def ops_for(qtype: str) -> tuple[str, ...]:
    if qtype in SCORE_TYPES:
        return SCORE_OPS
    if qtype in CHOICE_TYPES:
        return CHOICE_OPS
    return TEXT_OPS


def condition_clean(raw) -> dict:
    """The canonical form of a rule as given by a form or the API, or LogicError. Checks the shape only (what the
    rules read is checked against the version by `logic_problems`, on publish): {} for always."""
    if raw in (None, {}, ""):
        return {}
    if not isinstance(raw, dict) or set(raw) - {"match", "rules"}:
        raise LogicError('Give a rule as {"match": "all" or "any", "rules": [...]}.')
    match = raw.get("match", "all")
    if match not in ("all", "any"):
        raise LogicError('"match" is "all" or "any".')
    rules = raw.get("rules") or []
    if not isinstance(rules, list):
        raise LogicError('"rules" is a list.')
    if len(rules) > MAX_RULES:
        raise LogicError(f"At most {MAX_RULES} rules.")
    cleaned = []
    for rule in rules:
        if not isinstance(rule, dict):
            raise LogicError('Each rule is {"question": key, "op": …}.')
        key, op = rule.get("question"), rule.get("op")
        if not isinstance(key, str) or not key.strip():
            raise LogicError("Each rule names the question it reads.")
        if op not in OPS:
            raise LogicError(f"Unknown operator {op!r}; use one of {', '.join(OPS)}.")
        item = {"question": key.strip(), "op": op}
        if op == "between":
            low, high = rule.get("min"), rule.get("max")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
                raise LogicError(f"The rule on “{key}”: a band has a whole-number min and max.")
            if low > high:
                raise LogicError(f"The rule on “{key}”: the band's min ({low}) is above its max ({high}).")
            item |= {"min": low, "max": high}
        elif op in ("any_of", "none_of"):
            values = rule.get("values")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                raise LogicError(f"The rule on “{key}”: name at least one choice.")
            item["values"] = list(dict.fromkeys(values))
        unknown = set(rule) - {"question", "op", "min", "max", "values"}
        if unknown:
            raise LogicError(f"The rule on “{key}”: unknown field {', '.join(sorted(unknown))}.")
        cleaned.append(item)
    return {"match": match, "rules": cleaned} if cleaned else {}


def endings_clean(raw, languages: Iterable[str]) -> list[dict]:
    """The canonical form of a version's endings, or LogicError."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise LogicError("Give the endings as a list.")
    known = set(languages)
    seen, cleaned = set(), []
    for ending in raw:
        if not isinstance(ending, dict) or set(ending) - {"key", "when", "texts"}:
            raise LogicError('Each ending is {"key", "when", "texts": {lang: {"title", "thanks"}}}.')
        key = ending.get("key")
        if not isinstance(key, str) or not key.strip() or len(key.strip()) > 40:
            raise LogicError("Each ending has a key (at most 40 characters).")
        key = key.strip()
        if key in seen:
            raise LogicError(f"Two endings have the key “{key}”.")
        seen.add(key)
        texts = ending.get("texts") or {}
        if not isinstance(texts, dict) or any(lang not in known for lang in texts):
            raise LogicError(f"The ending “{key}”: give its texts per language among {', '.join(sorted(known))}.")
        clean_texts = {}
        for lang, parts in texts.items():
            if not isinstance(parts, dict) or set(parts) - {"title", "thanks"} or not all(isinstance(v, str) for v in parts.values()):
                raise LogicError(f"The ending “{key}” ({lang}): give a title and a thank-you text.")
            if len(parts.get("title", "")) > 200 or len(parts.get("thanks", "")) > 1000:
                raise LogicError(f"The ending “{key}” ({lang}): at most 200 characters of title and 1000 of thanks.")
            clean_texts[lang] = {"title": parts.get("title", "").strip(), "thanks": parts.get("thanks", "").strip()}
        try:
            when = condition_clean(ending.get("when"))
        except LogicError as exc:
            raise LogicError(f"The ending “{key}”: {exc}") from None
        cleaned.append({"key": key, "when": when, "texts": clean_texts})
    return cleaned


# --- evaluation ----------------------------------------------------------------------------------

def _rule_holds(rule: dict, answers: dict) -> bool:
    value = answers.get(rule["question"])
    answered = value not in (None, "", [])
    op = rule["op"]
    if op == "answered":
        return answered
    if op == "not_answered":
        return not answered
    if not answered:
        return False
    if op == "between":
        return isinstance(value, int) and not isinstance(value, bool) and rule["min"] <= value <= rule["max"]
    chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)}
    hit = bool(chosen & set(rule["values"]))
    return hit if op == "any_of" else not hit


def condition_holds(condition: dict | None, answers: dict) -> bool:
    """Does the rule hold on `answers` ({question key: cleaned value} of the questions shown)? {} always holds."""
    rules = (condition or {}).get("rules") or []
    if not rules:
        return True
    results = (_rule_holds(rule, answers) for rule in rules)
    return any(results) if condition.get("match") == "any" else all(results)


def page_numbers(questions: list[Question]) -> dict[str, int]:
    """{question key: its page, from 1}, the questions in their order."""
    pages, page = {}, 0
    for index, question in enumerate(questions):
        if index == 0 or question.new_page:
            page += 1
        pages[question.key] = page
    return pages


@dataclasses.dataclass(frozen=True)
class Flow:
    """A version's questions in pages, and what a respondent sees given their answers so far."""

    questions: list[Question]

    @functools.cached_property
    def pages(self) -> dict[str, int]:
        return page_numbers(self.questions)

    @property
    def page_count(self) -> int:
        return max(self.pages.values(), default=0)

    def shown(self, answers: dict) -> list[Question]:
        """The questions shown for these answers, in order: each rule reads only the answers of questions shown
        before it (an answer to a hidden question never counts)."""
        seen: dict = {}
        result = []
        for question in self.questions:
            if condition_holds(question.show_if, seen):
                result.append(question)
                if question.key in answers:
                    seen[question.key] = answers[question.key]
        return result

    def shown_answers(self, answers: dict) -> dict:
        """`answers` without those to questions not shown."""
        keys = {q.key for q in self.shown(answers)}
        return {key: value for key, value in answers.items() if key in keys}

    def page_questions(self, page: int, answers: dict) -> list[Question]:
        pages = self.pages
        return [q for q in self.shown(answers) if pages[q.key] == page]

    def next_page(self, page: int, answers: dict) -> int | None:
        """The first page after `page` with a question to show, or None (then the form is submitted)."""
        pages = self.pages
        later = sorted({pages[q.key] for q in self.shown(answers) if pages[q.key] > page})
        return later[0] if later else None

    def previous_page(self, page: int, answers: dict) -> int | None:
        pages = self.pages
        earlier = sorted({pages[q.key] for q in self.shown(answers) if pages[q.key] < page})
        return earlier[-1] if earlier else None

    def first_page(self) -> int:
        return 1 if self.questions else 0


def ending_for(endings: list[dict] | None, answers: dict) -> dict | None:
    """The first ending whose rule holds on the submitted answers, or None (the version's own thanks)."""
    return next((ending for ending in endings or [] if condition_holds(ending.get("when"), answers)), None)


# --- publishing: what is wrong with a version's logic ---------------------------------------------

def _name(question: Question) -> str:
    return f"Question {question.order} (“{question.key}”)"


def _rule_problems(owner: str, rule: dict, by_key: dict[str, Question], readable: set[str] | None) -> list[str]:
    key = rule.get("question")
    target = by_key.get(key)
    if target is None:
        return [f"{owner} has a rule on “{key}”, which is not a question of this version (deleted, or its key changed): "
                "change or remove the rule."]
    problems = []
    if readable is not None and key not in readable:
        problems.append(f"{owner} has a rule on “{key}”, which is on the same page or after it: a rule may only read "
                        "earlier pages (start a new page before the question, or move it).")
    if rule["op"] not in ops_for(target.type):
        problems.append(f"{owner}: “{rule['op'].replace('_', ' ')}” does not apply to “{key}” ({target.get_type_display()}).")
        return problems
    if rule["op"] == "between":
        low, high = question_scale(target)
        if rule["max"] < low or rule["min"] > high:
            problems.append(f"{owner}: the band {rule['min']}–{rule['max']} is outside “{key}”'s scale {low}–{high}, "
                            "so it can never hold.")
    if rule["op"] in ("any_of", "none_of"):
        offered = set(question_choice_values(target))
        missing = [v for v in rule["values"] if v not in offered]
        if missing:
            problems.append(f"{owner}: “{key}” no longer offers {', '.join(f'“{v}”' for v in missing)}.")
    return problems


def _never_holds(condition: dict) -> bool:
    """An "all" rule whose parts contradict on one question: answered and not answered, or disjoint bands."""
    if condition.get("match") == "any":
        return False
    per_question: dict[str, list[dict]] = {}
    for rule in condition.get("rules") or []:
        per_question.setdefault(rule["question"], []).append(rule)
    for rules in per_question.values():
        ops = {r["op"] for r in rules}
        if "not_answered" in ops and ops - {"not_answered"}:
            return True
        bands = [(r["min"], r["max"]) for r in rules if r["op"] == "between"]
        if bands and max(b[0] for b in bands) > min(b[1] for b in bands):
            return True
    return False


def logic_problems(questions: list[Question], endings: list[dict] | None) -> list[str]:
    """What stops this flow being published (messages for the lead), in question order, then the endings."""
    problems: list[str] = []
    by_key = {q.key: q for q in questions}
    pages = page_numbers(questions)
    for question in questions:
        condition = question.show_if or {}
        if not condition.get("rules"):
            continue
        readable = {key for key, page in pages.items() if page < pages[question.key]}
        found = []
        for rule in condition["rules"]:
            found += _rule_problems(_name(question), rule, by_key, readable)
        if not found and _never_holds(condition):
            found.append(f"{_name(question)} can never be shown: its rules contradict each other.")
        problems += found
    unconditional = None
    for ending in endings or []:
        owner = f"The ending “{ending['key']}”"
        if unconditional is not None:
            problems.append(f"{owner} is never reached: the ending “{unconditional}” before it has no rule and always applies.")
        condition = ending.get("when") or {}
        found = []
        for rule in condition.get("rules") or []:
            found += _rule_problems(owner, rule, by_key, None)
        if not found and condition.get("rules") and _never_holds(condition):
            found.append(f"{owner} is never reached: its rules contradict each other.")
        problems += found
        if not condition.get("rules") and unconditional is None:
            unconditional = ending["key"]
    return problems


# --- words for the builder -----------------------------------------------------------------------

def rule_words(rule: dict, by_key: dict[str, Question], language: str) -> str:
    """"nps is 0–6", "reason is Price or Quality", "comment is answered"."""
    from apps.surveys.i18n import localized

    key = rule["question"]
    target = by_key.get(key)
    op = rule["op"]
    if op == "between":
        return f"{key} is {rule['min']}–{rule['max']}" if rule["min"] != rule["max"] else f"{key} is {rule['min']}"
    if op in ("any_of", "none_of"):
        labels = {}
        if target is not None:
            options = target.options if isinstance(target.options, list) else []
            labels = {str(c.get("value")): localized(c.get("label") or {}, language) for c in options if isinstance(c, dict)}
        names = " or ".join(f"“{labels.get(v) or v}”" for v in rule["values"])
        return f"{key} is {names}" if op == "any_of" else f"{key} is answered, not {names}"
    return f"{key} is {'answered' if op == 'answered' else 'not answered'}"


def condition_words(condition: dict | None, by_key: dict[str, Question], language: str) -> str:
    rules = (condition or {}).get("rules") or []
    if not rules:
        return ""
    joiner = " or " if condition.get("match") == "any" else " and "
    return joiner.join(rule_words(rule, by_key, language) for rule in rules)
