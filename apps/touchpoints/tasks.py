from apps.tenancy.tasks import tenant_task
from apps.touchpoints.interactions.services import interaction_score_sentiment


@tenant_task()
def score_interaction_sentiment(tenant, interaction_id: int):
    return interaction_score_sentiment(interaction_id=interaction_id)
