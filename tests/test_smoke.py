import pytest
from django.db import connection


@pytest.mark.postgres
def test_it_runs_as_the_app_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "cxm_app"


def test_it_builds_the_world(world, client):
    client.force_login(world.alice)
    response = client.get("/t/acme/", follow=True)  # the home opens the role's dashboard
    assert response.status_code == 200
    assert b"Acme Advisory" in response.content
