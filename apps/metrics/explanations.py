"""The rule behind each number, in a sentence or two (METRICS.md; "a tooltip on each tile says which rule
it shows"). Dashboards show these next to every tile and chart; keep them in step with METRICS.md."""

COUNTING = ("Counts submitted responses (bot-flagged ones excluded) by their submission day in this workspace's time zone; "
            "a skipped question is not in that metric's n.")

EXPLANATIONS = {
    "nps": "NPS = % promoters (9–10) − % detractors (0–6) of the answers to “How likely are you to recommend …?”, −100 to 100. "
           "95% interval: adjusted Wald. A change is marked only when |z| ≥ 1.96 against the previous period of equal length.",
    "csat": "CSAT = % of answers 4 or 5 on the 1–5 satisfaction scale (top-2-box). 95% interval: Wilson. "
            "Change marked when a two-proportion z-test gives |z| ≥ 1.96.",
    "ces": "CES 2.0 = mean agreement, 1–7, with “… made it easy for me”; higher is easier. 95% t-interval. "
           "Change marked when |z| ≥ 1.96 (Welch).",
    "smiley": "% happy = share of happy faces among kiosk answers (sad, neutral, happy). 95% interval: Wilson.",
    "enps": "eNPS = the NPS rule applied to employee-pulse surveys; kept apart from customer NPS.",
    "perception_gap": "Perception gap = mean of (score the staff member predicted − the client's actual NPS answer), in points, "
                      "over the interactions whose survey was answered. Positive: staff over-estimate. Perceived NPS is the NPS "
                      "of the predictions, actual NPS that of the answers of the same pairs.",
    "volatility": "Volatility = mean jump |Δ| between a client's consecutive scores within a journey, each score rescaled to "
                  "0–100 (NPS × 10, CSAT (x−1) × 25, CES (x−1) × 100/6, smiley (x−1) × 50). Per stage transition: the "
                  "transitions from one stage to the next, dated by the later answer.",
    "funnel": "Funnel of the invitations created in the period: delivered = invited − bounced − failed − still queued; "
              "response rate = responded / delivered (95% Wilson interval). Skipped invitations (opted out, fatigue rule, "
              "no address) were never sent and are not in “invited”.",
    "churn": "Per period [start, end): churn rate = clients lost in the period / clients active at its start; retention = "
             "(clients active at the end − new clients) / clients active at the start. 95% Wilson intervals.",
    "revenue_churn": "Revenue churn = annual value of the clients lost / annual value of the clients active at the start "
                     "(clients without a known value are left out).",
    "tenure": "Tenure curve: the share of clients still active after a given number of days since they became active "
              "(Kaplan–Meier, clients still active are censored today; 95% Greenwood band).",
    "churn_risk": "Churn risk 0–100 per active client, from its latest NPS category, score trend, silence (days since the "
                  "last interaction and answer, unanswered invitations), open follow-ups, recent negative interactions and "
                  "tenure: a logistic regression fitted on this workspace's churned and retained clients when there are at "
                  "least 30 of each (its held-out AUC is shown), otherwise documented rules. Each score names its top reasons.",
    "breakdown": "The same metric per value of one attribution recorded on the response at submission (touchpoint, stage, "
                 "segment, staff member, channel); responses without it form “Not attributed”. Sorted by number of responses.",
    "trend": "The metric per day, week (Monday–Sunday) or calendar month, with its 95% interval as a band; the first and last "
             "periods may be cut by the range. Periods with fewer answers than the minimum sample are drawn hollow.",
    "comments": "The latest written answers, newest first, with the scores given in the same response.",
    "themes": "What the comments of the period talk about. Share: comments with the theme ÷ all comments (95% Wilson interval). "
              "Sentiment: the mean of each comment's sentiment (−1…1), scored in the comment's own language. NPS impact: NPS of the "
              "commented NPS answers with the theme minus NPS of those without it, with its 95% interval; significant when the "
              "interval leaves out 0 (|z| ≥ 1.96). Detractor driver: share among detractors' comments minus share among "
              "promoters' comments (two-proportion z-test). A theme is put on a comment by its keywords, by the classifier "
              "trained on people's corrections, or by a person.",
    "recovery": "Recovery counts the follow-up cases opened from a negative answer (NPS 0–6, CSAT 1–2, CES 1–3) whose recovery "
                "survey, sent when the case was resolved, was answered with the same question; dated by that answer's day. "
                "Recovered = the new answer is out of the negative band (NPS ≥ 7, CSAT ≥ 3, CES ≥ 4). Recovery rate = recovered / "
                "counted cases, 95% Wilson interval. Score change = mean of (recovery answer − the answer that opened the case) "
                "in the question's own points, 95% t-interval. Per root cause and per staff member the case was assigned to; "
                "the other filters apply to the answer that opened the case.",
    "low_sample": "Greyed out: n is below this workspace's minimum sample size, so the value is unreliable.",
}


def explain(name: str) -> str:
    return EXPLANATIONS[name]
